"""The registry's hottest statements, built once with bind parameters: constructing a
statement costs more than running it (a set alias went from 3.1-4.0 to 2.0-2.1 ms of CPU when
its statements moved here). ``repository`` runs them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Float,
    Row,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)

from charter.db import Prepared, PreparedInsert
from charter.registry.models import (
    ModelAlias,
    ModelVersion,
    ModelVersionMetric,
    ModelVersionTag,
    RegisteredModel,
)

# Statements that every write runs, built once (building one costs more than running it).
LIVE_MODEL = select(RegisteredModel).where(
    RegisteredModel.name == bindparam("name"), RegisteredModel.deleted_at.is_(None)
)
LIVE_MODEL_LOCKED = LIVE_MODEL.with_for_update()
LIVE_MODEL_KEY = select(RegisteredModel.id, RegisteredModel.name).where(
    RegisteredModel.name == bindparam("name"), RegisteredModel.deleted_at.is_(None)
)
LIVE_VERSION_ROW = select(ModelVersion).where(
    ModelVersion.model_id == bindparam("model_id"),
    ModelVersion.version == bindparam("number"),
    ModelVersion.deleted_at.is_(None),
)

# Moves of aliases and stages write these directly instead of through the ORM's flush, which
# cost more than the statements (``repository`` keeps the loaded objects in step).
TOUCH_MODEL = Prepared(
    update(RegisteredModel)
    .where(RegisteredModel.id == bindparam("m_id"))
    .values(updated_at=bindparam("m_at"))
)
SET_STAGE = Prepared(
    update(ModelVersion)
    .where(ModelVersion.id == bindparam("v_id"))
    .values(stage=bindparam("v_stage"), updated_at=bindparam("v_at"))
)

# Creating a model or a version: its row (the id comes back), and the model's counter and time.
INSERT_MODEL = PreparedInsert(RegisteredModel)
INSERT_VERSION = PreparedInsert(ModelVersion)
ADVANCE_MODEL = Prepared(
    update(RegisteredModel)
    .where(RegisteredModel.id == bindparam("m_id"))
    .values(next_version=bindparam("m_next"), updated_at=bindparam("m_at"))
)

# A version as its view reads it, as plain columns in VersionView's field order: reads that
# only answer (gets, searches) build views from these rows positionally, without ORM objects,
# which cost more than the query itself for a page of 100.
VIEW_COLUMNS = (
    ModelVersion.id,
    ModelVersion.model_id,
    RegisteredModel.name.label("model"),
    ModelVersion.version,
    ModelVersion.status,
    ModelVersion.status_message,
    ModelVersion.stage,
    ModelVersion.source,
    ModelVersion.run_id,
    ModelVersion.run_link,
    ModelVersion.description,
    ModelVersion.created_by,
    ModelVersion.manifest_digest,
    ModelVersion.file_count,
    ModelVersion.total_size,
    ModelVersion.created_at,
    ModelVersion.updated_at,
)


class VersionRecord(NamedTuple):
    """A row of VIEW_COLUMNS as the driver gave it (prepared reads), by the same names."""

    id: int
    model_id: int
    model: str
    version: int
    status: str
    status_message: str | None
    stage: str
    source: str | None
    run_id: str | None
    run_link: str | None
    description: str | None
    created_by: str
    manifest_digest: str | None
    file_count: int
    total_size: int
    created_at: int
    updated_at: int


VersionRow = Row[*tuple[Any, ...]] | VersionRecord  # a row of VIEW_COLUMNS

# The hottest reads are built once: constructing a statement costs more than running it.
LIVE_VERSIONS = (
    select(*VIEW_COLUMNS)
    .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
    .where(ModelVersion.deleted_at.is_(None), RegisteredModel.deleted_at.is_(None))
)
LIVE_VERSION = LIVE_VERSIONS.where(RegisteredModel.name == bindparam("name"))
BY_NUMBER = LIVE_VERSION.where(ModelVersion.version == bindparam("value"))
BY_ALIAS = LIVE_VERSION.join(ModelAlias, ModelAlias.version_id == ModelVersion.id).where(
    ModelAlias.alias == bindparam("value")
)
BY_STAGE = (
    LIVE_VERSION.where(ModelVersion.stage == bindparam("value"))
    .order_by(ModelVersion.version.desc())
    .limit(1)
)
IDS: BindParameter[int] = bindparam("ids", expanding=True)
# Reads of one version run these on SQLite's cursor (db.Prepared: SQLAlchemy's execution cost a
# quarter of a get by alias).
PREPARED_BY = {
    "number": Prepared(BY_NUMBER),
    "alias": Prepared(BY_ALIAS),
    "stage": Prepared(BY_STAGE),
}
PREPARED_MODEL_KEY = Prepared(LIVE_MODEL_KEY)


def latest_per_stage(stages: bool, one_model: bool = False) -> Select[*tuple[Any, ...]]:
    """The newest live version in each stage of each of ``:model_ids`` (of ``:stages`` only
    when ``stages``), as VIEW_COLUMNS rows; get-latest-versions and model answers read it.
    ``one_model``: of ``:model_id`` only (no expanding list, so it can be prepared)."""
    of_models = (
        ModelVersion.model_id == bindparam("model_id")
        if one_model
        else ModelVersion.model_id.in_(bindparam("model_ids", expanding=True))
    )
    newest = (
        select(ModelVersion.model_id, func.max(ModelVersion.version).label("version"))
        .where(of_models, ModelVersion.deleted_at.is_(None))
        .group_by(ModelVersion.model_id, ModelVersion.stage)
    )
    if stages:
        newest = newest.where(ModelVersion.stage.in_(bindparam("stages", expanding=True)))
    picked = newest.subquery()
    return (
        select(*VIEW_COLUMNS)
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


LATEST_PER_STAGE = latest_per_stage(stages=False)
LATEST_IN_STAGES = latest_per_stage(stages=True)
PREPARED_LATEST_OF_MODEL = Prepared(latest_per_stage(stages=False, one_model=True))


def details(ids: BindParameter[int] | None = None) -> Any:
    """Tags, metrics and aliases of the versions ``:ids`` (expanding), or of ``:id``."""
    single: BindParameter[int] = bindparam("id")

    def of(column: Any) -> Any:
        return column.in_(ids) if ids is not None else column == single

    return union_all(
        select(
            ModelVersionTag.version_id.label("owner"),
            literal_column("'t'", String).label("kind"),
            ModelVersionTag.key.label("key"),
            ModelVersionTag.value.label("text"),
            cast(null(), Float).label("number"),
        ).where(of(ModelVersionTag.version_id)),
        select(
            ModelVersionMetric.version_id,
            literal_column("'m'", String),
            ModelVersionMetric.key,
            cast(null(), String),
            ModelVersionMetric.value,
        ).where(of(ModelVersionMetric.version_id)),
        select(
            ModelAlias.version_id,
            literal_column("'a'", String),
            ModelAlias.alias,
            cast(null(), String),
            cast(null(), Float),
        ).where(of(ModelAlias.version_id)),
    ).order_by("key")


DETAILS = details(IDS)
PREPARED_DETAILS_OF_ONE = Prepared(details())
