"""SQL building blocks shared by repositories: keyset predicates and pattern matching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import QueryableAttribute

from charter.pagination import KeyValue

TAG_PREFIX_LENGTH = 200  # length of the indexed prefix of tag values (PostgreSQL btree limits)


@dataclass(frozen=True)
class SortColumn:
    column: ColumnElement[Any] | QueryableAttribute[Any]
    descending: bool


def order_clauses(columns: Sequence[SortColumn]) -> list[ColumnElement[Any]]:
    return [c.column.desc() if c.descending else c.column.asc() for c in columns]


def after_key(columns: Sequence[SortColumn], key: Sequence[KeyValue]) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the ordering of ``columns`` (a keyset predicate).

    Expanded as (a > x) OR (a = x AND b > y) OR ... so that mixed directions work on every
    database; the leading column still lets the planner use its index.
    """
    if len(key) != len(columns):
        return false()
    clauses: list[ColumnElement[bool]] = []
    for i, sort in enumerate(columns):
        equal_prefix = [columns[j].column == key[j] for j in range(i)]
        step = sort.column < key[i] if sort.descending else sort.column > key[i]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def like(
    column: ColumnElement[Any] | QueryableAttribute[Any], pattern: str, *, case_sensitive: bool
) -> ColumnElement[bool]:
    """LIKE is case-sensitive and ILIKE is not, on SQLite and PostgreSQL alike.

    SQLite connections run with ``case_sensitive_like`` on and a Unicode-aware ``lower``.
    """
    if case_sensitive:
        return column.like(pattern)
    return column.ilike(pattern)
