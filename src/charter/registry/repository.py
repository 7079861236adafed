"""Every query of the registry area."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, select, update
from sqlalchemy.orm import QueryableAttribute, Session

from charter.errors import InvalidArgument
from charter.pagination import KeyValue
from charter.querying import TAG_PREFIX_LENGTH, SortColumn, after_key, like, order_clauses
from charter.registry.filters import Condition, Order
from charter.registry.models import (
    LifecycleHolding,
    ModelAlias,
    ModelVersion,
    ModelVersionMetric,
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


class ModelRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, model: RegisteredModel) -> RegisteredModel:
        self.session.add(model)
        self.session.flush()
        return model

    def get_live(self, name: str, *, lock: bool = False) -> RegisteredModel | None:
        query = select(RegisteredModel).where(
            RegisteredModel.name == name, RegisteredModel.deleted_at.is_(None)
        )
        if lock:
            # Serialises version numbering and alias/stage moves per model on PostgreSQL;
            # SQLite writers are already serialised by BEGIN IMMEDIATE.
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def get_many(self, ids: Sequence[int]) -> dict[int, RegisteredModel]:
        if not ids:
            return {}
        rows = self.session.scalars(select(RegisteredModel).where(RegisteredModel.id.in_(ids)))
        return {m.id: m for m in rows}

    def tags(self, model_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = defaultdict(dict)
        if model_ids:
            rows = self.session.execute(
                select(
                    RegisteredModelTag.model_id, RegisteredModelTag.key, RegisteredModelTag.value
                )
                .where(RegisteredModelTag.model_id.in_(model_ids))
                .order_by(RegisteredModelTag.key)
            )
            for model_id, key, value in rows:
                result[model_id][key] = value
        return result

    def set_tag(self, model_id: int, key: str, value: str) -> None:
        tag = self.session.get(RegisteredModelTag, (model_id, key))
        if tag is None:
            self.session.add(RegisteredModelTag(model_id=model_id, key=key, value=value))
        else:
            tag.value = value
        self.session.flush()

    def delete_tag(self, model_id: int, key: str) -> bool:
        result = self.session.execute(
            delete(RegisteredModelTag).where(
                RegisteredModelTag.model_id == model_id, RegisteredModelTag.key == key
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def aliases(self, model_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        result: dict[int, dict[str, int]] = defaultdict(dict)
        if model_ids:
            rows = self.session.execute(
                select(ModelAlias.model_id, ModelAlias.alias, ModelVersion.version)
                .join(ModelVersion, ModelVersion.id == ModelAlias.version_id)
                .where(ModelAlias.model_id.in_(model_ids))
                .order_by(ModelAlias.alias)
            )
            for model_id, alias, version in rows:
                result[model_id][alias] = version
        return result

    def latest_versions(self, model_ids: Sequence[int]) -> dict[int, int]:
        if not model_ids:
            return {}
        rows = self.session.execute(
            select(ModelVersion.model_id, func.max(ModelVersion.version))
            .where(ModelVersion.model_id.in_(model_ids), ModelVersion.deleted_at.is_(None))
            .group_by(ModelVersion.model_id)
        )
        return {row[0]: row[1] for row in rows}

    def search(
        self,
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[RegisteredModel]:
        sorts = _sort_columns(orders, MODEL_SORTS, RegisteredModel.id)
        query = select(RegisteredModel).where(RegisteredModel.deleted_at.is_(None))
        for condition in conditions:
            query = query.where(_model_condition(condition))
        if after is not None:
            query = query.where(after_key(sorts, after))
        return list(self.session.scalars(query.order_by(*order_clauses(sorts)).limit(limit)))


class VersionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, version: ModelVersion) -> ModelVersion:
        self.session.add(version)
        self.session.flush()
        return version

    def get_live(self, model_id: int, number: int) -> ModelVersion | None:
        return self.session.scalars(
            select(ModelVersion).where(
                ModelVersion.model_id == model_id,
                ModelVersion.version == number,
                ModelVersion.deleted_at.is_(None),
            )
        ).one_or_none()

    def get_by_id(self, version_id: int) -> ModelVersion | None:
        return self.session.get(ModelVersion, version_id)

    def latest_in_stage(self, model_id: int, stage: str) -> ModelVersion | None:
        return self.session.scalars(
            select(ModelVersion)
            .where(
                ModelVersion.model_id == model_id,
                ModelVersion.stage == stage,
                ModelVersion.deleted_at.is_(None),
            )
            .order_by(ModelVersion.version.desc())
            .limit(1)
        ).one_or_none()

    def in_stage(self, model_id: int, stage: str) -> list[ModelVersion]:
        return list(
            self.session.scalars(
                select(ModelVersion).where(
                    ModelVersion.model_id == model_id,
                    ModelVersion.stage == stage,
                    ModelVersion.deleted_at.is_(None),
                )
            )
        )

    def holding_anything(self, model_id: int) -> list[ModelVersion]:
        """Live versions of a model that hold a stage other than None or an alias."""
        has_alias = exists().where(ModelAlias.version_id == ModelVersion.id)
        return list(
            self.session.scalars(
                select(ModelVersion).where(
                    ModelVersion.model_id == model_id,
                    ModelVersion.deleted_at.is_(None),
                    (ModelVersion.stage != "None") | has_alias,
                )
            )
        )

    def latest_per_stage(
        self, model_ids: Sequence[int], stages: Sequence[str] | None = None
    ) -> list[tuple[ModelVersion, str]]:
        """The newest live version in each stage of each model, with its model's name."""
        if not model_ids:
            return []
        newest = (
            select(ModelVersion.model_id, func.max(ModelVersion.version).label("version"))
            .where(ModelVersion.model_id.in_(model_ids), ModelVersion.deleted_at.is_(None))
            .group_by(ModelVersion.model_id, ModelVersion.stage)
        )
        if stages is not None:
            newest = newest.where(ModelVersion.stage.in_(stages))
        picked = newest.subquery()
        rows = self.session.execute(
            select(ModelVersion, RegisteredModel.name)
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .join(
                picked,
                and_(
                    ModelVersion.model_id == picked.c.model_id,
                    ModelVersion.version == picked.c.version,
                ),
            )
            .order_by(ModelVersion.model_id, ModelVersion.version)
        )
        return [(row[0], row[1]) for row in rows]

    def by_alias(self, model_id: int, alias: str) -> ModelVersion | None:
        return self.session.scalars(
            select(ModelVersion)
            .join(ModelAlias, ModelAlias.version_id == ModelVersion.id)
            .where(ModelAlias.model_id == model_id, ModelAlias.alias == alias)
        ).one_or_none()

    def tags(self, version_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = defaultdict(dict)
        if version_ids:
            rows = self.session.execute(
                select(ModelVersionTag.version_id, ModelVersionTag.key, ModelVersionTag.value)
                .where(ModelVersionTag.version_id.in_(version_ids))
                .order_by(ModelVersionTag.key)
            )
            for version_id, key, value in rows:
                result[version_id][key] = value
        return result

    def metrics(self, version_ids: Sequence[int]) -> dict[int, dict[str, float]]:
        result: dict[int, dict[str, float]] = defaultdict(dict)
        if version_ids:
            rows = self.session.execute(
                select(
                    ModelVersionMetric.version_id, ModelVersionMetric.key, ModelVersionMetric.value
                )
                .where(ModelVersionMetric.version_id.in_(version_ids))
                .order_by(ModelVersionMetric.key)
            )
            for version_id, key, value in rows:
                result[version_id][key] = value
        return result

    def aliases(self, version_ids: Sequence[int]) -> dict[int, list[str]]:
        result: dict[int, list[str]] = defaultdict(list)
        if version_ids:
            rows = self.session.execute(
                select(ModelAlias.version_id, ModelAlias.alias)
                .where(ModelAlias.version_id.in_(version_ids))
                .order_by(ModelAlias.alias)
            )
            for version_id, alias in rows:
                result[version_id].append(alias)
        return result

    def set_tag(self, version_id: int, key: str, value: str) -> None:
        tag = self.session.get(ModelVersionTag, (version_id, key))
        if tag is None:
            self.session.add(ModelVersionTag(version_id=version_id, key=key, value=value))
        else:
            tag.value = value
        self.session.flush()

    def delete_tag(self, version_id: int, key: str) -> bool:
        result = self.session.execute(
            delete(ModelVersionTag).where(
                ModelVersionTag.version_id == version_id, ModelVersionTag.key == key
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_metrics(self, version_id: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.session.add(ModelVersionMetric(version_id=version_id, key=key, value=value))
        self.session.flush()

    def search(
        self,
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[tuple[ModelVersion, str]]:
        sorts = _sort_columns(orders, VERSION_SORTS, ModelVersion.id)
        query = (
            select(ModelVersion, RegisteredModel.name)
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(ModelVersion.deleted_at.is_(None), RegisteredModel.deleted_at.is_(None))
        )
        for condition in conditions:
            query = query.where(_version_condition(condition))
        if after is not None:
            query = query.where(after_key(sorts, after))
        rows = self.session.execute(query.order_by(*order_clauses(sorts)).limit(limit))
        return [(row[0], row[1]) for row in rows]


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
        self.session.flush()

    def remove(self, row: ModelAlias) -> None:
        self.session.delete(row)
        self.session.flush()


class HoldingRepository:
    """The alias and stage history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, holding: LifecycleHolding) -> None:
        self.session.add(holding)
        self.session.flush()

    def close_current(
        self, model_id: int, kind: str, label: str, version_id: int, at: int, by: str, reason: str
    ) -> None:
        self.session.execute(
            update(LifecycleHolding)
            .where(
                LifecycleHolding.model_id == model_id,
                LifecycleHolding.kind == kind,
                LifecycleHolding.label == label,
                LifecycleHolding.version_id == version_id,
                LifecycleHolding.ended_at.is_(None),
            )
            .values(ended_at=at, ended_by=by, end_reason=reason)
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


def _sort_columns(
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
) -> ColumnElement[bool]:
    value_match = _compare(tag_table.value, condition)
    if condition.op == "=":
        # Lets the planner use the (key, prefix of value) index.
        value_match = and_(
            func.substr(tag_table.value, 1, TAG_PREFIX_LENGTH)
            == str(condition.value)[:TAG_PREFIX_LENGTH],
            value_match,
        )
    return exists().where(owner_column == owner_id, tag_table.key == condition.key, value_match)


def _negated(condition: Condition, clause: ColumnElement[bool]) -> ColumnElement[bool]:
    return not_(clause) if condition.negate else clause


def _model_condition(condition: Condition) -> ColumnElement[bool]:
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


def _version_condition(condition: Condition) -> ColumnElement[bool]:
    return _negated(condition, _version_match(condition))


def _version_match(condition: Condition) -> ColumnElement[bool]:
    if condition.field == "tag":
        return _tag_condition(
            ModelVersionTag,
            ModelVersionTag.version_id,
            ModelVersion.id,
            condition,
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
