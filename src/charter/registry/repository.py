"""Every query of the registry area."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    delete,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from charter.pagination import KeyValue
from charter.querying import after_key, order_clauses
from charter.registry.conditions import (
    MODEL_SORTS,
    VERSION_SORTS,
    model_condition,
    sort_columns,
    tag_matches,
    version_condition,
)
from charter.registry.filters import Condition, Order
from charter.registry.models import (
    ModelAlias,
    ModelVersion,
    ModelVersionMetric,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from charter.registry.references import VersionSelector
from charter.registry.statements import (
    ADVANCE_MODEL,
    DETAILS,
    INSERT_MODEL,
    INSERT_VERSION,
    LATEST_IN_STAGES,
    LATEST_PER_STAGE,
    LIVE_MODEL,
    LIVE_MODEL_LOCKED,
    LIVE_VERSION_ROW,
    LIVE_VERSIONS,
    PREPARED_BY,
    PREPARED_DETAILS_OF_ONE,
    PREPARED_LATEST_OF_MODEL,
    PREPARED_MODEL_KEY,
    SET_STAGE,
    TOUCH_MODEL,
    VersionRecord,
    VersionRow,
)


class ModelRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, model: RegisteredModel) -> RegisteredModel:
        """Insert a new model (every column but the id set) without the ORM's flush."""
        INSERT_MODEL.add(self.session, model)
        return model

    def advance(self, model: RegisteredModel, at: int) -> int:
        """Take the model's next version number and write its counter and time now; the
        loaded object takes them as already saved."""
        number = model.next_version
        ADVANCE_MODEL.run(self.session, {"m_id": model.id, "m_next": number + 1, "m_at": at})
        set_committed_value(model, "next_version", number + 1)
        set_committed_value(model, "updated_at", at)
        return number

    def touch(self, model: RegisteredModel, at: int) -> None:
        """Write the model's ``updated_at`` now; the loaded object takes it as already saved."""
        TOUCH_MODEL.run(self.session, {"m_id": model.id, "m_at": at})
        set_committed_value(model, "updated_at", at)

    def get_live(self, name: str, *, lock: bool = False) -> RegisteredModel | None:
        # ``lock`` serialises version numbering and alias/stage moves per model on PostgreSQL;
        # SQLite writers are already serialised by BEGIN IMMEDIATE.
        query = LIVE_MODEL_LOCKED if lock else LIVE_MODEL
        return self.session.scalars(query, {"name": name}).one_or_none()

    def live_key(self, name: str) -> tuple[int, str] | None:
        """The live model's id and name, without loading the model: for reads of its versions."""
        rows = PREPARED_MODEL_KEY.rows(self.session, {"name": name})
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

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

    def add_tags(self, model_id: int, tags: dict[str, str]) -> None:
        """Tags of a model that has none yet (just created)."""
        self.session.add_all(
            RegisteredModelTag(model_id=model_id, key=k, value=v) for k, v in tags.items()
        )

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
        sorts = sort_columns(orders, MODEL_SORTS, RegisteredModel.id)
        query = select(RegisteredModel).where(RegisteredModel.deleted_at.is_(None))
        for condition in conditions:
            query = query.where(model_condition(condition))
        if after is not None:
            query = query.where(after_key(sorts, after))
        return list(self.session.scalars(query.order_by(*order_clauses(sorts)).limit(limit)))


@dataclass
class VersionDetails:
    """What a version view needs besides its row, keyed by version id."""

    tags: defaultdict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    metrics: defaultdict[int, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    aliases: defaultdict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


COMMON_TAG = 2_000  # matches above which a tag filter probes versions in result order


class VersionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, version: ModelVersion) -> ModelVersion:
        """Insert a new version (every column but the id set) without the ORM's flush."""
        INSERT_VERSION.add(self.session, version)
        return version

    def get_live(self, model_id: int, number: int) -> ModelVersion | None:
        found = self.session.scalars(LIVE_VERSION_ROW, {"model_id": model_id, "number": number})
        return found.one_or_none()

    def get_by_id(self, version_id: int) -> ModelVersion | None:
        return self.session.get(ModelVersion, version_id)

    def set_stage(self, version: ModelVersion, stage: str, at: int) -> None:
        """Write the version's stage now; the loaded object takes it as already saved."""
        SET_STAGE.run(self.session, {"v_id": version.id, "v_stage": stage, "v_at": at})
        set_committed_value(version, "stage", stage)
        set_committed_value(version, "updated_at", at)

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
    ) -> list[VersionRow]:
        """The newest live version in each stage of each model, with its model's name."""
        if not model_ids:
            return []
        if len(model_ids) == 1 and stages is None:
            rows = PREPARED_LATEST_OF_MODEL.rows(self.session, {"model_id": model_ids[0]})
            return [VersionRecord(*row) for row in rows]
        values: dict[str, list[int] | list[str]] = {"model_ids": list(model_ids)}
        query = LATEST_PER_STAGE
        if stages is not None:
            query, values["stages"] = LATEST_IN_STAGES, list(stages)
        found: list[VersionRow] = list(self.session.execute(query, values))
        return found

    def by_alias(self, model_id: int, alias: str) -> ModelVersion | None:
        return self.session.scalars(
            select(ModelVersion)
            .join(ModelAlias, ModelAlias.version_id == ModelVersion.id)
            .where(ModelAlias.model_id == model_id, ModelAlias.alias == alias)
        ).one_or_none()

    def find_by_name(self, name: str, selector: VersionSelector) -> VersionRow | None:
        """The live version a selector picks in a live model, and its name, in one query."""
        value: int | str
        if selector.number is not None:
            by, value = "number", selector.number
        elif selector.alias is not None:
            by, value = "alias", selector.alias
        else:
            by, value = "stage", selector.stage or "None"
        rows = PREPARED_BY[by].rows(self.session, {"name": name, "value": value})
        return VersionRecord(*rows[0]) if rows else None

    def details(self, version_ids: Sequence[int]) -> VersionDetails:
        """Tags, metrics and aliases of many versions in one round trip (UNION ALL)."""
        details = VersionDetails()
        if not version_ids:
            return details
        if len(version_ids) == 1:
            rows = PREPARED_DETAILS_OF_ONE.rows(self.session, {"id": version_ids[0]})
        else:
            rows = self.session.execute(DETAILS, {"ids": list(version_ids)}).all()
        for owner, kind, key, text, number in rows:
            if kind == "t":
                details.tags[owner][key] = text
            elif kind == "m":
                details.metrics[owner][key] = number
            else:
                details.aliases[owner].append(key)
        return details

    def _is_common_tag(self, condition: Condition) -> bool:
        """Whether a tag equality matches more versions than an IN list sorts cheaply.

        Sorting n matches costs about as much as probing 101·N/n versions in result order for
        the first page; the two meet near n = sqrt(101·N), about 3,000 at 100,000 versions.
        Counting up to the threshold reads the index only (well under a millisecond).
        """
        if condition.field != "tag" or condition.op != "=" or condition.negate:
            return False
        counted = self.session.scalar(tag_matches(ModelVersionTag, condition, COMMON_TAG + 1))
        return (counted or 0) > COMMON_TAG

    def add_tags(self, version_id: int, tags: dict[str, str]) -> None:
        """Tags of a version that has none yet (just created)."""
        self.session.add_all(
            ModelVersionTag(version_id=version_id, key=k, value=v) for k, v in tags.items()
        )

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
    ) -> list[VersionRow]:
        sorts = sort_columns(orders, VERSION_SORTS, ModelVersion.id)
        query = LIVE_VERSIONS
        for condition in conditions:
            common = self._is_common_tag(condition)
            query = query.where(version_condition(condition, common=common))
        if after is not None:
            query = query.where(after_key(sorts, after))
        rows: list[VersionRow] = list(
            self.session.execute(query.order_by(*order_clauses(sorts)).limit(limit))
        )
        return rows
