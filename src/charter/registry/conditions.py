"""Filters and orderings compiled to SQL: the one place a Condition becomes a WHERE clause.

Both the native API's filters and MLflow's search grammar arrive here as ``Condition`` and
``Order`` values, so both get the same indexes and the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, not_, select
from sqlalchemy.orm import QueryableAttribute

from charter.errors import InvalidArgument
from charter.querying import TAG_PREFIX_LENGTH, SortColumn, like
from charter.registry.filters import Condition, Order
from charter.registry.models import (
    ModelAlias,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)

MODEL_SORTS: dict[str, QueryableAttribute[Any]] = {
    "name": RegisteredModel.name,
    "created_at": RegisteredModel.created_at,
    "updated_at": RegisteredModel.updated_at,
}
VERSION_SORTS: dict[str, QueryableAttribute[Any]] = {
    "name": RegisteredModel.name,
    "version": ModelVersion.version,
    "created_at": ModelVersion.created_at,
    "updated_at": ModelVersion.updated_at,
}


def sort_columns(
    orders: Sequence[Order], allowed: Mapping[str, QueryableAttribute[Any]], tiebreak: Any
) -> list[SortColumn]:
    sorts = []
    for order in orders:
        column = allowed.get(order.field)
        if column is None:
            raise InvalidArgument(
                f"cannot order by {order.field!r}; expected one of {', '.join(allowed)}",
                field="order_by",
            )
        sorts.append(SortColumn(column, order.descending))
    sorts.append(SortColumn(tiebreak, descending=bool(sorts) and sorts[-1].descending))
    return sorts


def _compare(
    column: ColumnElement[Any] | QueryableAttribute[Any], condition: Condition
) -> ColumnElement[bool]:
    value = condition.value
    match condition.op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "LIKE":
            return like(column, str(value), case_sensitive=True)
        case "ILIKE":
            return like(column, str(value), case_sensitive=False)
        case "IN":
            return column.in_(list(value) if isinstance(value, tuple) else [value])
        case "NOT IN":
            return not_(column.in_(list(value) if isinstance(value, tuple) else [value]))
    raise InvalidArgument(f"unsupported comparator {condition.op!r}", field="filter")


def _tag_condition(
    tag_table: type[RegisteredModelTag] | type[ModelVersionTag],
    owner_column: QueryableAttribute[int],
    owner_id: QueryableAttribute[int],
    condition: Condition,
    *,
    common: bool = False,
) -> ColumnElement[bool]:
    value_match = _compare(tag_table.value, condition)
    if condition.op != "=" or common:
        # A probe per owner, in the order of the results: cheap when matches are common, as
        # the first page is found after a few hundred owners.
        prefixed = value_match
        if condition.op == "=":
            prefixed = and_(_prefix(tag_table) == _prefix_of(condition), value_match)
        return exists().where(owner_column == owner_id, tag_table.key == condition.key, prefixed)
    # A rare equality drives the query from the (key, substr(value, 1, 200)) index: the
    # owners whose tag matches, as an IN list, rather than a probe over every owner (at
    # 100,000 versions, 1 ms instead of 100+ ms for a tag that matches 0.1%). A value shorter
    # than the prefix is matched by the prefix alone; adding ``value = ?`` there makes SQLite
    # use only the key column of the index.
    matching = select(owner_column).where(
        tag_table.key == condition.key, _prefix(tag_table) == _prefix_of(condition)
    )
    if len(str(condition.value)) >= TAG_PREFIX_LENGTH:
        matching = matching.where(value_match)
    return owner_id.in_(matching)


def tag_matches(
    tag_table: type[RegisteredModelTag] | type[ModelVersionTag], condition: Condition, limit: int
) -> Select[int]:
    """How many owners (up to ``limit``) an equality on a tag matches, from the index alone."""
    found = (
        select(_ONE)
        .select_from(tag_table)
        .where(tag_table.key == condition.key, _prefix(tag_table) == _prefix_of(condition))
        .limit(limit)
        .subquery()
    )
    return select(func.count()).select_from(found)


def _prefix(tag_table: type[RegisteredModelTag] | type[ModelVersionTag]) -> ColumnElement[str]:
    # SQLite matches an expression index only when the expression is the same text, so the
    # substr bounds are literals, not bound parameters.
    return func.substr(tag_table.value, _ONE, _PREFIX)


def _prefix_of(condition: Condition) -> str:
    return str(condition.value)[:TAG_PREFIX_LENGTH]


_ONE: ColumnElement[int] = literal_column("1")
_PREFIX: ColumnElement[int] = literal_column(str(TAG_PREFIX_LENGTH))


def _negated(condition: Condition, clause: ColumnElement[bool]) -> ColumnElement[bool]:
    return not_(clause) if condition.negate else clause


def model_condition(condition: Condition) -> ColumnElement[bool]:
    return _negated(condition, _model_match(condition))


def _model_match(condition: Condition) -> ColumnElement[bool]:
    if condition.field == "name":
        return _compare(RegisteredModel.name, condition)
    if condition.field == "tag":
        return _tag_condition(
            RegisteredModelTag,
            RegisteredModelTag.model_id,
            RegisteredModel.id,
            condition,
        )
    raise InvalidArgument(f"cannot filter models by {condition.field!r}", field="filter")


_VERSION_COLUMNS: dict[str, QueryableAttribute[Any]] = {
    "name": RegisteredModel.name,
    "version": ModelVersion.version,
    "run_id": ModelVersion.run_id,
    "source": ModelVersion.source,
    "status": ModelVersion.status,
    "stage": ModelVersion.stage,
    "model_id": ModelVersion.model_id,
}


def version_condition(condition: Condition, *, common: bool = False) -> ColumnElement[bool]:
    """``common``: an equality on a tag known to match many versions (see tag_matches)."""
    return _negated(condition, _version_match(condition, common))


def _version_match(condition: Condition, common: bool) -> ColumnElement[bool]:
    if condition.field == "tag":
        return _tag_condition(
            ModelVersionTag, ModelVersionTag.version_id, ModelVersion.id, condition, common=common
        )
    if condition.field == "alias":
        return exists().where(
            ModelAlias.version_id == ModelVersion.id,
            _compare(ModelAlias.alias, condition),
        )
    column = _VERSION_COLUMNS.get(condition.field)
    if column is None:
        raise InvalidArgument(f"cannot filter versions by {condition.field!r}", field="filter")
    return _compare(column, condition)
