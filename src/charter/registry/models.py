"""Tables of the registry: models, versions, their tags and metrics, aliases and history."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base, Timestamps

READY = "READY"
PENDING = "PENDING_REGISTRATION"
FAILED = "FAILED_REGISTRATION"
VERSION_STATUSES = (PENDING, READY, FAILED)

ALIAS = "alias"
STAGE = "stage"


class RegisteredModel(Timestamps, Base):
    __tablename__ = "registered_models"
    __table_args__ = (
        # A deleted model's name is free again; the new model is a new id.
        Index(
            "uq_registered_models_live_name",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_registered_models_updated", "updated_at", "id"),
        Index("ix_registered_models_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(256))
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)
    # Numbers are handed out from here and never reused, even after a version is deleted.
    next_version: Mapped[int] = mapped_column(Integer, default=1)


class RegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"
    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(5000))


class ModelVersion(Timestamps, Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        Index("ix_model_versions_stage", "model_id", "stage"),
        Index("ix_model_versions_run_id", "run_id"),
        Index("ix_model_versions_updated", "updated_at", "id"),
        Index("ix_model_versions_created", "created_at", "id"),
        Index("ix_model_versions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default=PENDING)
    status_message: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(4096))
    run_id: Mapped[str | None] = mapped_column(String(64))
    run_link: Mapped[str | None] = mapped_column(String(4096))
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256))
    stage: Mapped[str] = mapped_column(String(16), default="None")
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)
    manifest_digest: Mapped[str | None] = mapped_column(String(80))
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    total_size: Mapped[int] = mapped_column(BigInteger, default=0)


class ModelVersionTag(Base):
    __tablename__ = "model_version_tags"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(5000))


class ModelVersionMetric(Base):
    __tablename__ = "model_version_metrics"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class ModelAlias(Base):
    """The current holder of each alias; its past lives in ``LifecycleHolding``."""

    __tablename__ = "model_aliases"
    __table_args__ = (Index("ix_model_aliases_version", "version_id"),)

    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    updated_at: Mapped[int] = mapped_column(BigInteger)


class LifecycleHolding(Base):
    """A period during which a version held an alias or a stage: from when, until when, by whom."""

    __tablename__ = "lifecycle_holdings"
    __table_args__ = (
        Index("ix_lifecycle_holdings_label", "model_id", "kind", "label", "started_at"),
        Index("ix_lifecycle_holdings_version", "version_id"),
        # The current holder of each label: what a move closes.
        Index(
            "ix_lifecycle_holdings_open",
            "model_id",
            "kind",
            "label",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # alias | stage
    label: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[int] = mapped_column(BigInteger)
    started_by: Mapped[str] = mapped_column(String(256))
    ended_at: Mapped[int | None] = mapped_column(BigInteger)
    ended_by: Mapped[str | None] = mapped_column(String(256))
    end_reason: Mapped[str | None] = mapped_column(String(64))


# Tag searches by key and value use these; only a prefix of the value is indexed because a
# PostgreSQL btree entry cannot hold a 5,000-character value.
Index(
    "ix_registered_model_tags_key_value",
    RegisteredModelTag.key,
    func.substr(RegisteredModelTag.value, 1, 200),
)
Index(
    "ix_model_version_tags_key_value",
    ModelVersionTag.key,
    func.substr(ModelVersionTag.value, 1, 200),
)
