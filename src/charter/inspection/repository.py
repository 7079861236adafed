"""Every query of the inspection area: the scan queue and the stored results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from charter.artifacts.models import VersionFile
from charter.inspection.models import (
    ACTIVE,
    QUEUED,
    RUNNING,
    BlobScan,
    ScanJob,
    VersionFileScan,
    VersionScan,
)
from charter.registry.models import READY, ModelVersion, RegisteredModel


@dataclass(frozen=True)
class ScanSubject:
    """A version as a scan sees it: its reference and the files of its manifest."""

    version_id: int
    model: str
    version: int
    files: list[tuple[str, int, str]]  # path, size, sha256


class ScanRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the queue -----------------------------------------------------------------------------

    def add_job(self, job: ScanJob) -> ScanJob:
        self.session.add(job)
        self.session.flush()
        return job

    def job(self, job_id: int, *, lock: bool = False) -> ScanJob | None:
        query = select(ScanJob).where(ScanJob.id == job_id)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def active_job(self, version_id: int) -> ScanJob | None:
        return self.session.scalars(
            select(ScanJob)
            .where(ScanJob.version_id == version_id, ScanJob.status.in_(ACTIVE))
            .order_by(ScanJob.id.desc())
            .limit(1)
        ).first()

    def latest_job(self, version_id: int) -> ScanJob | None:
        return self.session.scalars(
            select(ScanJob)
            .where(ScanJob.version_id == version_id)
            .order_by(ScanJob.id.desc())
            .limit(1)
        ).first()

    def has_claimable(self, now: int) -> bool:
        """A cheap read, so that idle workers poll without taking the write lock."""
        return self.session.scalar(self._claimable(now).with_only_columns(ScanJob.id)) is not None

    def next_claimable(self, now: int) -> ScanJob | None:
        """The oldest job a worker may take, locked; other replicas skip it (SKIP LOCKED).

        On SQLite the writing transaction already holds the database's write lock.
        """
        return self.session.scalars(self._claimable(now).with_for_update(skip_locked=True)).first()

    def _claimable(self, now: int) -> Select[ScanJob]:
        return (
            select(ScanJob)
            .where(
                or_(
                    ScanJob.status == QUEUED,
                    (ScanJob.status == RUNNING) & (ScanJob.lease_expires_at < now),
                )
            )
            .order_by(ScanJob.id)
            .limit(1)
        )

    def unscanned_versions(self, limit: int) -> list[int]:
        """READY versions with files that were never scanned nor queued (older than scanning)."""
        scanned = select(VersionScan.version_id).where(VersionScan.version_id == ModelVersion.id)
        queued = select(ScanJob.id).where(ScanJob.version_id == ModelVersion.id)
        return list(
            self.session.scalars(
                select(ModelVersion.id)
                .where(
                    ModelVersion.status == READY,
                    ModelVersion.deleted_at.is_(None),
                    ModelVersion.file_count > 0,
                    ~scanned.exists(),
                    ~queued.exists(),
                )
                .order_by(ModelVersion.id)
                .limit(limit)
            )
        )

    # --- what a scan reads ---------------------------------------------------------------------

    def subject(self, version_id: int) -> ScanSubject | None:
        row = self.session.execute(
            select(ModelVersion.id, RegisteredModel.name, ModelVersion.version)
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(ModelVersion.id == version_id)
        ).first()
        if row is None:
            return None
        files = self.session.execute(
            select(VersionFile.path, VersionFile.size, VersionFile.sha256)
            .where(VersionFile.version_id == version_id)
            .order_by(VersionFile.path)
        ).all()
        return ScanSubject(row[0], row[1], row[2], [(p, s, h) for p, s, h in files])

    def cached(self, sha256: str, kind: str, engine: str) -> BlobScan | None:
        row = self.session.get(BlobScan, (sha256, kind))
        return row if row is not None and row.engine == engine else None

    def put_cached(self, row: BlobScan) -> None:
        self.session.merge(row)
        self.session.flush()

    # --- results -------------------------------------------------------------------------------

    def replace_files(self, version_id: int, rows: Sequence[VersionFileScan]) -> None:
        self.session.execute(
            delete(VersionFileScan).where(VersionFileScan.version_id == version_id)
        )
        self.session.add_all(rows)
        self.session.flush()

    def put_summary(self, row: VersionScan) -> None:
        self.session.merge(row)
        self.session.flush()

    def summary(self, version_id: int) -> VersionScan | None:
        return self.session.get(VersionScan, version_id)

    def files(self, version_id: int) -> list[VersionFileScan]:
        return list(
            self.session.scalars(
                select(VersionFileScan)
                .where(VersionFileScan.version_id == version_id)
                .order_by(VersionFileScan.path)
            )
        )
