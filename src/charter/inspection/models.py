"""Tables of the inspection area: the scan queue, scan results per blob, per file, per version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
JOB_STATUSES = (QUEUED, RUNNING, DONE, FAILED)
ACTIVE = (QUEUED, RUNNING)


class ScanJob(Base):
    """One scan of one version, kept in the database so that no replica loses or repeats it.

    A worker claims a queued job (or a running one whose lease expired: its worker died) in
    one short transaction, and records the result only if it still holds the claim.
    """

    __tablename__ = "scan_jobs"
    __table_args__ = (
        Index("ix_scan_jobs_status", "status", "id"),
        Index("ix_scan_jobs_version", "version_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    force: Mapped[bool] = mapped_column(Boolean)  # ignore cached results (a re-run)
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)


class _Result:
    """What inspecting a file found (shared by the blob cache and the per-version rows)."""

    format: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    globals: Mapped[list[str]] = mapped_column(JSON)
    dangerous: Mapped[list[str]] = mapped_column(JSON)
    suspicious: Mapped[list[str]] = mapped_column(JSON)
    scanned_at: Mapped[int] = mapped_column(BigInteger)


class BlobScan(_Result, Base):
    """The cache: files are content-addressed, so identical bytes are inspected once per engine."""

    __tablename__ = "blob_scans"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # the format it was read as
    engine: Mapped[str] = mapped_column(String(128))


class VersionFileScan(_Result, Base):
    """The result for one file of a version, as of the version's latest finished scan."""

    __tablename__ = "version_file_scans"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


class VersionScan(Base):
    """A version's verdict (the worst of its files') and its signature, from its latest scan."""

    __tablename__ = "version_scans"
    __table_args__ = (Index("ix_version_scans_verdict", "verdict"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(Integer)
    scanned_at: Mapped[int] = mapped_column(BigInteger)
