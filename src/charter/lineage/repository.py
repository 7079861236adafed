"""Every query of the lineage area, including the graph walks (recursive CTEs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from charter.db import now_ms
from charter.lineage.models import LineageEdge, LineageEntity, LineageValue
from charter.registry.models import ModelAlias, ModelVersion, RegisteredModel

# Any constant: the key of the PostgreSQL advisory lock that serialises parent-edge writes.
PARENT_GRAPH_LOCK = 0x6C696E65


@dataclass(frozen=True)
class EntityKey:
    kind: str
    name: str
    revision: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class EntityMatch:
    """Which entities an impact query starts from; None matches any value of that part."""

    kind: str
    name: str | None = None
    revision: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class ImpactRow:
    id: int
    model_id: int
    model: str
    version: int
    status: str
    stage: str
    live: bool
    direct: bool


class LineageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- writes ---------------------------------------------------------------------------

    def entity_id(self, key: EntityKey) -> int:
        """The entity's id, inserting it if new; a concurrent insert of the same key wins
        quietly instead of failing the request."""
        values = {
            "kind": key.kind,
            "name": key.name,
            "revision": key.revision,
            "namespace": key.namespace,
            "created_at": now_ms(),
        }
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            self.session.execute(
                postgresql.insert(LineageEntity).values(values).on_conflict_do_nothing()
            )
        elif dialect == "sqlite":
            self.session.execute(
                sqlite.insert(LineageEntity).values(values).on_conflict_do_nothing()
            )
        found = self.find_entity(key)
        if found is None:  # another dialect: plain insert
            entity = LineageEntity(**values)
            self.session.add(entity)
            self.session.flush()
            return entity.id
        return found

    def find_entity(self, key: EntityKey) -> int | None:
        return self.session.scalar(
            select(LineageEntity.id).where(
                LineageEntity.kind == key.kind,
                LineageEntity.name == key.name,
                LineageEntity.revision == key.revision,
                LineageEntity.namespace == key.namespace,
            )
        )

    def add_edge(self, edge: LineageEdge) -> None:
        self.session.add(edge)
        self.session.flush()

    def delete_edge(self, edge: LineageEdge) -> None:
        self.session.delete(edge)
        self.session.flush()

    def put_value(self, row: LineageValue) -> None:
        self.session.add(row)
        self.session.flush()

    def delete_values(self, version_id: int, section: str) -> None:
        self.session.execute(
            delete(LineageValue).where(
                LineageValue.version_id == version_id, LineageValue.section == section
            )
        )

    def clear(self, version_id: int) -> None:
        self.session.execute(delete(LineageEdge).where(LineageEdge.version_id == version_id))
        self.session.execute(delete(LineageValue).where(LineageValue.version_id == version_id))

    def lock_parent_graph(self) -> None:
        """Serialise writers of parent edges, so that two requests cannot each add half of a
        cycle. SQLite writers are already serialised (BEGIN IMMEDIATE)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARENT_GRAPH_LOCK}
            )

    # -- reads ----------------------------------------------------------------------------

    def edges(self, version_ids: Sequence[int]) -> list[tuple[LineageEdge, LineageEntity | None]]:
        if not version_ids:
            return []
        rows = self.session.execute(
            select(LineageEdge, LineageEntity)
            .outerjoin(LineageEntity, LineageEntity.id == LineageEdge.entity_id)
            .where(LineageEdge.version_id.in_(version_ids))
            .order_by(LineageEdge.version_id, LineageEdge.id)
        )
        return [(row[0], row[1]) for row in rows]

    def values(self, version_ids: Sequence[int]) -> list[LineageValue]:
        if not version_ids:
            return []
        return list(
            self.session.scalars(
                select(LineageValue)
                .where(LineageValue.version_id.in_(version_ids))
                .order_by(LineageValue.version_id, LineageValue.section, LineageValue.key)
            )
        )

    def version_keys(self, version_ids: Sequence[int]) -> dict[int, tuple[str, int, str]]:
        """(model name, number, status) of each version id."""
        if not version_ids:
            return {}
        rows = self.session.execute(
            select(ModelVersion.id, RegisteredModel.name, ModelVersion.version, ModelVersion.status)
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(ModelVersion.id.in_(version_ids))
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def owners(self, version_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
        """(model id, model name) of each version id: what access checks read."""
        if not version_ids:
            return {}
        rows = self.session.execute(
            select(ModelVersion.id, RegisteredModel.id, RegisteredModel.name)
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(ModelVersion.id.in_(version_ids))
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def ancestor_edges(self, start_ids: Sequence[int]) -> list[tuple[int, int, str]]:
        """Every parent edge (child, parent, relation) upstream of the given versions."""
        if not start_ids:
            return []
        up = (
            select(ModelVersion.id.label("version_id"))
            .where(ModelVersion.id.in_(start_ids))
            .cte("up", recursive=True)
        )
        up = up.union(
            select(LineageEdge.parent_version_id).join(
                up,
                and_(
                    LineageEdge.version_id == up.c.version_id,
                    LineageEdge.parent_version_id.is_not(None),
                ),
            )
        )
        rows = self.session.execute(
            select(LineageEdge.version_id, LineageEdge.parent_version_id, LineageEdge.role)
            .where(
                LineageEdge.version_id.in_(select(up.c.version_id)),
                LineageEdge.parent_version_id.is_not(None),
            )
            .order_by(LineageEdge.version_id, LineageEdge.parent_version_id)
        )
        return [(row[0], row[1], row[2]) for row in rows if row[1] is not None]

    # -- impact ---------------------------------------------------------------------------

    def entity_seeds(self, match: EntityMatch) -> Select[Any]:
        """The versions that recorded a matching entity themselves."""
        entities = select(LineageEntity.id).where(LineageEntity.kind == match.kind)
        for column, value in (
            (LineageEntity.name, match.name),
            (LineageEntity.revision, match.revision),
            (LineageEntity.namespace, match.namespace),
        ):
            if value is not None:
                entities = entities.where(column == value)
        return select(LineageEdge.version_id).where(LineageEdge.entity_id.in_(entities))

    def child_seeds(self, parent_version_id: int) -> Select[Any]:
        """The versions made directly from a parent version."""
        return select(LineageEdge.version_id).where(
            LineageEdge.parent_version_id == parent_version_id
        )

    def impact(
        self,
        seeds: Select[Any],
        *,
        transitive: bool,
        live_only: bool,
        after_id: int | None,
        limit: int,
    ) -> list[ImpactRow]:
        """Live (not deleted) versions built from the seeds, and with ``transitive`` every
        version built from those through parent edges, in version id order."""
        found = (seeds if transitive else seeds.distinct()).cte("impacted", recursive=transitive)
        if transitive:
            found = found.union(
                select(LineageEdge.version_id).join(
                    found, LineageEdge.parent_version_id == found.c.version_id
                )
            )
        has_alias = exists().where(ModelAlias.version_id == ModelVersion.id)
        live = or_(has_alias, ModelVersion.stage.not_in(("None", "Archived")))
        page = (
            select(found.c.version_id)
            .join(ModelVersion, ModelVersion.id == found.c.version_id)
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(ModelVersion.deleted_at.is_(None), RegisteredModel.deleted_at.is_(None))
        )
        if live_only:
            page = page.where(live)
        if after_id is not None:
            page = page.where(found.c.version_id > after_id)
        ids = list(self.session.scalars(page.order_by(found.c.version_id).limit(limit)))
        if not ids:
            return []
        # Whether each is live and direct is worked out for the page only, not the whole
        # closure (thousands of versions when a popular dataset is asked about).
        direct: ColumnElement[bool] = ModelVersion.id.in_(seeds) if transitive else literal(True)
        rows = self.session.execute(
            select(
                ModelVersion.id,
                RegisteredModel.name,
                ModelVersion.version,
                ModelVersion.status,
                ModelVersion.stage,
                live.label("live"),
                direct.label("direct"),
                ModelVersion.model_id,
            )
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(ModelVersion.id.in_(ids))
            .order_by(ModelVersion.id)
        )
        return [
            ImpactRow(
                id=row[0],
                model_id=row[7],
                model=row[1],
                version=row[2],
                status=row[3],
                stage=row[4],
                live=bool(row[5]),
                direct=bool(row[6]),
            )
            for row in rows
        ]

    def aliases(self, version_ids: Sequence[int]) -> dict[int, list[str]]:
        result: dict[int, list[str]] = {}
        if version_ids:
            rows = self.session.execute(
                select(ModelAlias.version_id, ModelAlias.alias)
                .where(ModelAlias.version_id.in_(version_ids))
                .order_by(ModelAlias.alias)
            )
            for version_id, alias in rows:
                result.setdefault(version_id, []).append(alias)
        return result


def attributes_equal(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """JSON equality that ignores absent versus null members."""
    return {k: v for k, v in left.items() if v is not None} == {
        k: v for k, v in right.items() if v is not None
    }
