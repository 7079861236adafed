"""The queries of aliases and of the lifecycle history (who held which alias or stage, when)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from charter.pagination import KeyValue
from charter.querying import SortColumn, after_key, order_clauses
from charter.registry.models import LifecycleHolding, ModelAlias, ModelVersion

# Every alias or stage move closes the period of the version that held it (built once).
_CLOSE_CURRENT = (
    update(LifecycleHolding)
    .where(
        LifecycleHolding.model_id == bindparam("h_model"),
        LifecycleHolding.kind == bindparam("h_kind"),
        LifecycleHolding.label == bindparam("h_label"),
        LifecycleHolding.version_id == bindparam("h_version"),
        LifecycleHolding.ended_at.is_(None),
    )
    .values(
        ended_at=bindparam("h_at"), ended_by=bindparam("h_by"), end_reason=bindparam("h_reason")
    )
)


class AliasRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, model_id: int, alias: str) -> ModelAlias | None:
        return self.session.get(ModelAlias, (model_id, alias))

    def for_version(self, version_id: int) -> list[ModelAlias]:
        return list(
            self.session.scalars(select(ModelAlias).where(ModelAlias.version_id == version_id))
        )

    def put(self, model_id: int, alias: str, version_id: int, at: int) -> None:
        row = self.get(model_id, alias)
        if row is None:
            self.session.add(
                ModelAlias(model_id=model_id, alias=alias, version_id=version_id, updated_at=at)
            )
        else:
            row.version_id = version_id
            row.updated_at = at

    def remove(self, row: ModelAlias) -> None:
        self.session.delete(row)
        self.session.flush()


class HoldingRepository:
    """The alias and stage history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, holding: LifecycleHolding) -> None:
        self.session.add(holding)

    def close_current(
        self, model_id: int, kind: str, label: str, version_id: int, at: int, by: str, reason: str
    ) -> None:
        self.session.connection().execute(
            _CLOSE_CURRENT,
            {
                "h_model": model_id,
                "h_kind": kind,
                "h_label": label,
                "h_version": version_id,
                "h_at": at,
                "h_by": by,
                "h_reason": reason,
            },
        )

    def list(
        self,
        model_id: int,
        kind: str | None,
        label: str | None,
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[tuple[LifecycleHolding, int]]:
        sorts = [
            SortColumn(LifecycleHolding.started_at, descending=True),
            SortColumn(LifecycleHolding.id, descending=True),
        ]
        query = (
            select(LifecycleHolding, ModelVersion.version)
            .join(ModelVersion, ModelVersion.id == LifecycleHolding.version_id)
            .where(LifecycleHolding.model_id == model_id)
        )
        if kind:
            query = query.where(LifecycleHolding.kind == kind)
        if label:
            query = query.where(LifecycleHolding.label == label)
        if after is not None:
            query = query.where(after_key(sorts, after))
        rows = self.session.execute(query.order_by(*order_clauses(sorts)).limit(limit))
        return [(row[0], row[1]) for row in rows]
