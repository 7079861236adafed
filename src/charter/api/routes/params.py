"""Query parameters shared by list routes: ordering and tag filters."""

from __future__ import annotations

from charter import naming
from charter.errors import InvalidArgument
from charter.registry.filters import Condition, Order


def parse_order_by(values: list[str] | None) -> list[Order] | None:
    """``field`` or ``field:asc`` / ``field:desc``, repeatable."""
    if not values:
        return None
    orders = []
    for value in values:
        field, _, direction = value.partition(":")
        direction = direction.lower() or "asc"
        if direction not in ("asc", "desc"):
            raise InvalidArgument(
                f"order_by {value!r} is invalid: the direction must be asc or desc",
                field="order_by",
            )
        orders.append(Order(field.strip(), descending=direction == "desc"))
    return orders


def parse_tags(values: list[str] | None) -> list[Condition]:
    """``key=value`` (the tag equals value) or ``key`` alone (the tag is set), repeatable."""
    conditions = []
    for value in values or []:
        key, sep, tag_value = value.partition("=")
        key = naming.tag_key(key, "tag")
        if sep:
            conditions.append(Condition("tag", "=", naming.tag_value(tag_value, key), key=key))
        else:
            conditions.append(Condition("tag", "LIKE", "%", key=key))
    return conditions
