"""The queries of aliases and of the lifecycle history (who held which alias or stage, when)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from charter.db import Prepared
from charter.pagination import KeyValue
from charter.querying import SortColumn, after_key, order_clauses
from charter.registry.models import LifecycleHolding, ModelAlias, ModelVersion

# Every alias or stage move runs these: built once, and on SQLite sent to the driver directly
# (the ORM's unit of work took longer than the statements; see ``db.Prepared``).
_HOLDER = Prepared(
    select(ModelAlias.version_id, ModelVersion.version)
    .join(ModelVersion, ModelVersion.id == ModelAlias.version_id)
    .where(ModelAlias.model_id == bindparam("a_model"), ModelAlias.alias == bindparam("a_alias"))
)
_POINT = Prepared(
    update(ModelAlias)
    .where(ModelAlias.model_id == bindparam("a_model"), ModelAlias.alias == bindparam("a_alias"))
    .values(version_id=bindparam("a_version"), updated_at=bindparam("a_at"))
)
_ADD = Prepared(
    insert(ModelAlias).values(
        model_id=bindparam("a_model"),
        alias=bindparam("a_alias"),
        version_id=bindparam("a_version"),
        updated_at=bindparam("a_at"),
    )
)
_OPEN = Prepared(
    insert(LifecycleHolding).values(
        model_id=bindparam("h_model"),
        version_id=bindparam("h_version"),
        kind=bindparam("h_kind"),
        label=bindparam("h_label"),
        started_at=bindparam("h_at"),
        started_by=bindparam("h_by"),
    )
)
_CLOSE_CURRENT = Prepared(
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

    def holder(self, model_id: int, alias: str) -> tuple[int, int] | None:
        """The id and number of the version that holds the alias, if any."""
        rows = _HOLDER.rows(self.session, {"a_model": model_id, "a_alias": alias})
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def point(self, model_id: int, alias: str, version_id: int, at: int, *, new: bool) -> None:
        """Point the alias at a version: ``new`` when no version holds it yet."""
        params = {"a_model": model_id, "a_alias": alias, "a_version": version_id, "a_at": at}
        (_ADD if new else _POINT).run(self.session, params)

    def remove(self, row: ModelAlias) -> None:
        self.session.delete(row)
        self.session.flush()


class HoldingRepository:
    """The alias and stage history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, model_id: int, kind: str, label: str, version_id: int, at: int, by: str) -> None:
        params = {
            "h_model": model_id,
            "h_version": version_id,
            "h_kind": kind,
            "h_label": label,
            "h_at": at,
            "h_by": by,
        }
        _OPEN.run(self.session, params)

    def close_current(
        self, model_id: int, kind: str, label: str, version_id: int, at: int, by: str, reason: str
    ) -> None:
        _CLOSE_CURRENT.run(
            self.session,
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
