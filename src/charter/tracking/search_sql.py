"""Compiles tracking search conditions and orderings to SQL, for every searchable entity.

Each entity (experiments, runs, logged models) says which attributes it has and where its
tags, params and metrics live; conditions become WHERE clauses (EXISTS for key/value tables)
and orderings become keyset-paginated ORDER BY columns. Orderings on a value a row may lack
(a metric, a param) sort those rows last in either direction, as MLflow does, by ordering on
``value IS NULL`` first and on the value with a stand-in second, so every key is non-null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, not_, select
from sqlalchemy.orm import Session

from charter.errors import InvalidArgument
from charter.pagination import KeyValue
from charter.querying import SortColumn, after_key, like, order_clauses
from charter.tracking.filters import Condition, Order

Column = Any  # a mapped attribute or SQL expression
NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})


@dataclass(frozen=True)
class KeyValueTable:
    """A table of (owner, key, value) rows: tags, params or metrics."""

    owner: Column  # the key/value table's column naming its owner
    key: Column
    value: Column
    numeric: bool = False
    # When an owner may have several rows per key (metric points), the one an ordering uses.
    newest_first: tuple[Column, ...] = ()


@dataclass(frozen=True)
class Searchable:
    """What one kind of entity offers to filters and orderings."""

    name: str
    owner_id: Column  # the entity's primary key column
    attributes: Mapping[str, Column]
    numeric: frozenset[str]
    key_values: Mapping[str, KeyValueTable]  # "tag" / "param" / "metric"
    extra: Mapping[str, Callable[[Condition], ColumnElement[bool]]] = field(default_factory=dict)

    def condition(self, condition: Condition) -> ColumnElement[bool]:
        if condition.entity == "attribute":
            column = self._attribute(condition.key)
            return compare(column, condition, numeric=condition.key in self.numeric)
        if condition.entity in self.key_values:
            return self._key_value(self.key_values[condition.entity], condition)
        handler = self.extra.get(condition.entity)
        if handler is not None:
            return handler(condition)
        raise InvalidArgument(
            f"cannot filter {self.name} by {condition.entity} {condition.key!r}", field="filter"
        )

    def sort(self, order: Order) -> list[SortColumn]:
        if order.entity == "attribute":
            column = self._attribute(order.key, field_name="order_by")
            return nulls_last(column, order.descending, order.key in self.numeric)
        if order.entity in self.key_values:
            table = self.key_values[order.entity]
            value = (
                select(table.value)
                .where(table.owner == self.owner_id, table.key == order.key)
                .order_by(*(c.desc() for c in table.newest_first))
                .limit(1)
                .scalar_subquery()
            )
            return nulls_last(value, order.descending, numeric=table.numeric)
        raise InvalidArgument(
            f"cannot order {self.name} by {order.entity} {order.key!r}", field="order_by"
        )

    def _attribute(self, key: str, field_name: str = "filter") -> Column:
        column = self.attributes.get(key)
        if column is None:
            raise InvalidArgument(
                f"{self.name} have no attribute {key!r}; expected one of "
                f"{', '.join(sorted(self.attributes))}",
                field=field_name,
            )
        return column

    def _key_value(self, table: KeyValueTable, condition: Condition) -> ColumnElement[bool]:
        owned = and_(table.owner == self.owner_id, table.key == condition.key)
        if condition.op == "IS NULL":
            return not_(exists().where(owned))
        if condition.op == "IS NOT NULL":
            return exists().where(owned)
        return exists().where(owned, compare(table.value, condition, numeric=table.numeric))


def compare(column: Column, condition: Condition, *, numeric: bool) -> ColumnElement[bool]:
    """``column <op> value`` for one condition, checking the operator suits the value's type."""
    op, value = condition.op, condition.value
    if op == "IS NULL":
        return column.is_(None)  # type: ignore[no-any-return]
    if op == "IS NOT NULL":
        return column.is_not(None)  # type: ignore[no-any-return]
    allowed = NUMERIC_OPS if numeric else STRING_OPS
    if op not in allowed:
        raise InvalidArgument(
            f"operator {op!r} cannot compare {condition.key!r}; expected one of "
            f"{', '.join(sorted(allowed))}",
            field="filter",
        )
    if numeric:
        return _numeric(column, op, _number(condition))
    if op in ("IN", "NOT IN"):
        values = list(value) if isinstance(value, tuple) else [str(value)]
        return column.in_(values) if op == "IN" else not_(column.in_(values))  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise InvalidArgument(
            f"{condition.key!r} is compared with a string: quote the value", field="filter"
        )
    if op in ("LIKE", "ILIKE"):
        return like(column, value, case_sensitive=op == "LIKE")
    return (column == value) if op == "=" else (column != value)  # type: ignore[no-any-return]


def _number(condition: Condition) -> float | int:
    value = condition.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(
            f"{condition.key!r} is numeric: compare it with a number, got {value!r}",
            field="filter",
        )
    return value


def _numeric(column: Column, op: str, value: float | int) -> ColumnElement[bool]:
    comparisons: dict[str, Callable[[], ColumnElement[bool]]] = {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
    }
    return comparisons[op]()


def nulls_last(column: Column, descending: bool, numeric: bool) -> list[SortColumn]:
    missing = case((column.is_(None), 1), else_=0)
    stand_in = literal(0.0) if numeric else literal("")
    return [
        SortColumn(missing, descending=False),
        SortColumn(func.coalesce(column, stand_in), descending),
    ]


def keyset_page(
    session: Session,
    query: Select[Any],
    sorts: Sequence[SortColumn],
    limit: int,
    after: Sequence[KeyValue] | None,
) -> list[tuple[Any, list[KeyValue]]]:
    """Rows of ``query`` (one entity per row) in the order of ``sorts``, after ``after``,
    each with its sort key, so that the caller can make the next page's token from the last."""
    keyed = query.add_columns(*(s.column.label(f"sort_{i}") for i, s in enumerate(sorts)))
    if after is not None:
        keyed = keyed.where(after_key(sorts, after))
    rows = session.execute(keyed.order_by(*order_clauses(sorts)).limit(limit))
    return [(row[0], list(row[1:])) for row in rows]
