"""Search conditions and orderings over experiments, runs and logged models.

MLflow's filter language (``charter.api.mlflow.run_search``) produces these; the repository
compiles them to SQL in one place, so nothing is filtered in Python after loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Entity = Literal["attribute", "metric", "param", "tag", "dataset"]
Op = Literal[
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
]
Value = str | float | int | tuple[str, ...] | None


@dataclass(frozen=True)
class Condition:
    entity: Entity
    key: str
    op: Op
    value: Value = None


@dataclass(frozen=True)
class Order:
    entity: Entity
    key: str
    descending: bool = False

    def signature(self) -> str:
        return f"{self.entity}.{self.key}:{'d' if self.descending else 'a'}"


def ordering_signature(orders: list[Order]) -> str:
    return ",".join(o.signature() for o in orders)
