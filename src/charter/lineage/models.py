"""Tables of lineage: shared entities, the edges from versions to them and to parent
versions, and per-version key/values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base

# Entity kinds.
DATASET = "dataset"
FEATURE = "feature"
CODE = "code"
RUN = "run"
LOGGED_MODEL = "logged_model"
EXTERNAL_MODEL = "external_model"

# Edge roles.
TRAINING = "training"
EVALUATION = "evaluation"
FINE_TUNED_FROM = "fine_tuned_from"
DISTILLED_FROM = "distilled_from"
DATASET_ROLES = (TRAINING, EVALUATION)
PARENT_RELATIONS = (FINE_TUNED_FROM, DISTILLED_FROM)

# Key/value sections.
HYPERPARAMETER = "hyperparameter"
ENVIRONMENT = "environment"
RUN_PARAM = "run_param"
RUN_METRIC = "run_metric"


class LineageEntity(Base):
    """Something versions are built from, identified by kind, name, revision and namespace:
    a dataset (URI at a snapshot), a commit (repository at a SHA), a feature view (store,
    view, version), a run, a logged model, an external model (hub, repo id, revision).

    ``revision`` and ``namespace`` are '' rather than NULL when absent, so that the unique
    constraint holds (NULLs are distinct in a unique index on both backends).
    """

    __tablename__ = "lineage_entities"
    __table_args__ = (
        # Serves lookups by (kind, name) for "any snapshot" and (kind, name, revision).
        UniqueConstraint("kind", "name", "revision", "namespace"),
        # A commit SHA alone, whatever the repository.
        Index("ix_lineage_entities_revision", "kind", "revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(1024))
    revision: Mapped[str] = mapped_column(String(256))
    namespace: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = mapped_column(BigInteger)


class LineageEdge(Base):
    """One thing a version was built from: an entity, or a parent version (never both)."""

    __tablename__ = "lineage_edges"
    __table_args__ = (
        UniqueConstraint("version_id", "role", "entity_id"),
        UniqueConstraint(
            "version_id", "role", "parent_version_id", name="uq_lineage_edges_version_parent"
        ),
        CheckConstraint("(entity_id IS NULL) <> (parent_version_id IS NULL)", name="one_target"),
        # Impact queries: entity -> versions, parent -> children (both covering).
        Index("ix_lineage_edges_entity", "entity_id", "version_id"),
        Index("ix_lineage_edges_parent", "parent_version_id", "version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("lineage_entities.id", ondelete="RESTRICT")
    )
    parent_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE")
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256))


class LineageValue(Base):
    """A key/value of a version's lineage: a hyperparameter, an environment fact, or a
    parameter or metric of its run. ``value`` is JSON, so numbers stay numbers."""

    __tablename__ = "lineage_values"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    section: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256))
