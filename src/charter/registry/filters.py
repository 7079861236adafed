"""Search conditions over models and versions, independent of any query language.

The native API's query parameters and the MLflow adapter's filter grammar both produce these;
the repository compiles them to SQL in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Op = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"]

# Fields a condition may name. "tag" conditions carry the tag key in ``key``.
ModelField = Literal["name", "tag"]
VersionField = Literal[
    "name", "tag", "version", "run_id", "source", "status", "stage", "alias", "model_id"
]


@dataclass(frozen=True)
class Condition:
    field: str
    op: Op
    value: str | int | tuple[str, ...]
    key: str | None = None  # the tag key, for field == "tag"
    negate: bool = False  # true: rows that do NOT match (for a tag: no such tag matches)


@dataclass(frozen=True)
class Order:
    field: str  # models: name | created_at | updated_at; versions: also version, name
    descending: bool = False

    def signature(self) -> str:
        return f"{self.field}:{'d' if self.descending else 'a'}"


def ordering_signature(orders: list[Order]) -> str:
    return ",".join(o.signature() for o in orders)
