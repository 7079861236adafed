"""Tables of the tracking area: experiments, runs and what they log, logged models, and the
artifact namespace that maps MLflow artifact paths to content-addressed blobs.

Runs, their params, metrics and dataset inputs are a model version's lineage source, so each
lives in its own table rather than in a serialised blob.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base, Timestamps, now_ms

ACTIVE = "active"
DELETED = "deleted"

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MODEL_PENDING = "PENDING"
MODEL_READY = "READY"
MODEL_FAILED = "FAILED"

INPUT = "input"
OUTPUT = "output"

ARTIFACT_PATH_MAX = 1024

# Artifact paths are compared by byte order (directory listings are key ranges), which is
# SQLite's default; PostgreSQL needs the "C" collation for the same order.
ArtifactPath = String(ARTIFACT_PATH_MAX).with_variant(
    String(ARTIFACT_PATH_MAX, collation="C"), "postgresql"
)


class Experiment(Timestamps, Base):
    __tablename__ = "experiments"
    __table_args__ = (
        # MLflow keeps a deleted experiment's name taken until it is restored or purged.
        UniqueConstraint("name"),
        Index("ix_experiments_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    artifact_location: Mapped[str] = mapped_column(String(4096))
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


class ExperimentTag(Base):
    __tablename__ = "experiment_tags"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_experiment_start", "experiment_id", "start_time", "id"),
        Index("ix_runs_name", "name"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(String(250))
    user_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    start_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    artifact_uri: Mapped[str] = mapped_column(String(4096))
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


class RunParam(Base):
    """A run's parameters: written once, never changed (MLflow refuses a new value)."""

    __tablename__ = "run_params"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RunTag(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RunMetric(Base):
    """One point of a metric's history. A point logged twice (a client retry) is kept once."""

    __tablename__ = "run_metrics"
    __table_args__ = (
        UniqueConstraint("run_id", "key", "step", "timestamp", "value", "is_nan"),
        Index("ix_run_metrics_model", "model_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    # NaN is stored as 0 with is_nan set: SQLite turns a NaN REAL into NULL.
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger, default=0)
    model_id: Mapped[str | None] = mapped_column(String(64))
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    dataset_digest: Mapped[str | None] = mapped_column(String(36))


class RunLatestMetric(Base):
    """Each metric's latest point (highest step, then timestamp, then value): what searches see."""

    __tablename__ = "run_latest_metrics"
    __table_args__ = (Index("ix_run_latest_metrics_key_value", "key", "value"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger, default=0)


class Dataset(Base):
    """A dataset as a run declared it: the same name and digest in one experiment is one row."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("experiment_id", "name", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(36))
    source_type: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(Text)
    schema: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class RunDatasetInput(Base):
    __tablename__ = "run_dataset_inputs"
    __table_args__ = (Index("ix_run_dataset_inputs_dataset", "dataset_id"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )


class RunDatasetInputTag(Base):
    """Tags of one dataset input of a run, e.g. ``mlflow.data.context = training``."""

    __tablename__ = "run_dataset_input_tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class RunModelLink(Base):
    """A logged model that a run used (input) or produced (output, at a step)."""

    __tablename__ = "run_model_links"
    __table_args__ = (Index("ix_run_model_links_model", "model_id"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)  # input | output
    step: Mapped[int] = mapped_column(BigInteger, default=0)


class LoggedModel(Timestamps, Base):
    """An MLflow 3 logged model: artifacts under its own location, optionally from a run."""

    __tablename__ = "logged_models"
    __table_args__ = (
        Index("ix_logged_models_experiment_created", "experiment_id", "created_at", "id"),
        Index("ix_logged_models_source_run", "source_run_id"),
        Index("ix_logged_models_name", "experiment_id", "name"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(String(500))
    model_type: Mapped[str | None] = mapped_column(String(500))
    source_run_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=MODEL_PENDING)
    status_message: Mapped[str | None] = mapped_column(Text)
    artifact_location: Mapped[str] = mapped_column(String(4096))
    creator: Mapped[str] = mapped_column(String(256))
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


class LoggedModelTag(Base):
    __tablename__ = "logged_model_tags"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LoggedModelParam(Base):
    __tablename__ = "logged_model_params"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TrackedArtifact(Base):
    """One file of the MLflow artifact namespace (``<experiment>/<run>/artifacts/...``).

    The bytes live once in the blob store under ``sha256``; ``parent`` (the directory) makes
    listing a directory an index lookup.
    """

    __tablename__ = "tracked_artifacts"
    __table_args__ = (
        Index("ix_tracked_artifacts_parent", "parent", "path"),
        Index("ix_tracked_artifacts_sha256", "sha256"),
    )

    path: Mapped[str] = mapped_column(ArtifactPath, primary_key=True)
    parent: Mapped[str] = mapped_column(ArtifactPath)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class MultipartUpload(Base):
    """A multipart upload in progress. Its id is the SHA-256 of the secret upload id the
    client holds: the secret authorises part uploads, as a presigned URL would."""

    __tablename__ = "multipart_uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(ArtifactPath)
    num_parts: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class MultipartPart(Base):
    __tablename__ = "multipart_parts"

    upload_id: Mapped[str] = mapped_column(
        ForeignKey("multipart_uploads.id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
