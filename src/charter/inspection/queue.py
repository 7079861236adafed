"""The scan queue's rules: enqueue, claim with a lease, renew, complete or fail.

A claim is one short writing transaction: PostgreSQL's ``FOR UPDATE SKIP LOCKED`` hands each
queued job to one replica; SQLite's writers are serialised by ``BEGIN IMMEDIATE``. A result is
recorded only by the worker that still holds the claim, so a job whose lease expired (its worker
died or stalled) and was taken over is never recorded twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from charter.audit.service import AuditService
from charter.context import SYSTEM
from charter.db import now_ms
from charter.inspection.models import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    BlobScan,
    ScanJob,
    VersionFileScan,
    VersionScan,
)
from charter.inspection.repository import ScanRepository, ScanSubject
from charter.inspection.summary import signature_of, summarise
from charter.inspection.verdicts import FAILED as VERDICT_FAILED
from charter.inspection.verdicts import FileReport


@dataclass(frozen=True)
class Claim:
    job_id: int
    version_id: int
    force: bool
    attempt: int


@dataclass(frozen=True)
class FileResult:
    path: str
    size: int
    sha256: str
    report: FileReport


class ScanQueue:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.scans = ScanRepository(session)

    def enqueue(self, version_id: int, requested_by: str, *, force: bool = False) -> ScanJob:
        """A queued job for the version: the one already waiting, or a new one."""
        active = self.scans.active_job(version_id)
        if active is not None and active.status == QUEUED:
            active.force = active.force or force
            self.session.flush()
            return active
        if active is not None and not force:
            return active
        return self.scans.add_job(
            ScanJob(
                version_id=version_id,
                status=QUEUED,
                force=force,
                attempts=0,
                requested_by=requested_by,
                created_at=now_ms(),
            )
        )

    def enqueue_unscanned(self, limit: int = 10_000) -> int:
        """Queue a scan of every READY version that predates scanning; returns how many."""
        found = self.scans.unscanned_versions(limit)
        for version_id in found:
            self.enqueue(version_id, SYSTEM.actor.name)
        return len(found)

    def has_work(self) -> bool:
        return self.scans.has_claimable(now_ms())

    def claim(self, worker: str, lease_ms: int, max_attempts: int) -> Claim | None:
        """Take the oldest claimable job; give up on one that has already failed too often."""
        now = now_ms()
        while (job := self.scans.next_claimable(now)) is not None:
            if job.status == RUNNING and job.attempts >= max_attempts:
                reason = (
                    f"scan abandoned after {job.attempts} attempts: its worker stopped or hung "
                    f"(last: {job.claimed_by})"
                )
                self._finish(job, FAILED, reason)
                self._summary_failed(job, reason)
                continue
            job.status, job.claimed_by = RUNNING, worker
            job.attempts += 1
            job.lease_expires_at = now + lease_ms
            job.started_at = now
            self.session.flush()
            return Claim(job.id, job.version_id, job.force, job.attempts)
        return None

    def renew(self, claim: Claim, worker: str, lease_ms: int) -> bool:
        """Extend the lease; False when the job is no longer this worker's."""
        job = self._held(claim, worker)
        if job is None:
            return False
        job.lease_expires_at = now_ms() + lease_ms
        self.session.flush()
        return True

    def release(self, claim: Claim, worker: str) -> bool:
        """Put a claimed job back in the queue at once (its worker is stopping)."""
        job = self._held(claim, worker)
        if job is None:
            return False
        job.status, job.claimed_by, job.lease_expires_at = QUEUED, None, None
        job.attempts -= 1  # an orderly stop is not a failed attempt
        self.session.flush()
        return True

    def cached(self, sha256: str, kind: str, engine: str) -> FileReport | None:
        row = self.scans.cached(sha256, kind, engine)
        return None if row is None else _report(row)

    def remember(self, sha256: str, kind: str, engine: str, report: FileReport) -> None:
        self.scans.put_cached(BlobScan(sha256=sha256, kind=kind, engine=engine, **_columns(report)))

    def complete(
        self, claim: Claim, worker: str, subject: ScanSubject, results: list[FileResult]
    ) -> bool:
        """Record the results, if the claim is still this worker's; return whether it was."""
        job = self._held(claim, worker)
        if job is None:
            return False
        rows = [
            VersionFileScan(
                version_id=subject.version_id,
                path=r.path,
                sha256=r.sha256,
                size=r.size,
                **_columns(r.report),
            )
            for r in results
        ]
        self.scans.replace_files(subject.version_id, rows)
        verdict, reason = summarise([(r.path, r.report) for r in results])
        self.scans.put_summary(
            VersionScan(
                version_id=subject.version_id,
                verdict=verdict,
                reason=reason,
                signature=signature_of([(r.path, r.report) for r in results]),
                job_id=job.id,
                scanned_at=now_ms(),
            )
        )
        self._finish(job, DONE, None)
        AuditService(self.session, SYSTEM).record(
            "version.scan",
            "model_version",
            subject.version_id,
            f"{subject.model}/{subject.version}",
            after={"verdict": verdict, "job": job.id, "files": len(results)},
        )
        return True

    def fail(self, claim: Claim, worker: str, reason: str) -> bool:
        job = self._held(claim, worker)
        if job is None:
            return False
        self._finish(job, FAILED, reason)
        self._summary_failed(job, reason)
        return True

    def _held(self, claim: Claim, worker: str) -> ScanJob | None:
        job = self.scans.job(claim.job_id, lock=True)
        if job is None or job.status != RUNNING or job.claimed_by != worker:
            return None
        if job.attempts != claim.attempt:
            return None  # taken over after our lease expired, then by chance by us again
        return job

    def _finish(self, job: ScanJob, status: str, error: str | None) -> None:
        job.status, job.error = status, error
        job.finished_at = now_ms()
        job.lease_expires_at = None
        self.session.flush()

    def _summary_failed(self, job: ScanJob, reason: str) -> None:
        self.scans.put_summary(
            VersionScan(
                version_id=job.version_id,
                verdict=VERDICT_FAILED,
                reason=reason,
                signature=None,
                job_id=job.id,
                scanned_at=now_ms(),
            )
        )


def _columns(report: FileReport) -> dict[str, object]:
    return {
        "format": report.format[:32],
        "verdict": report.verdict,
        "reason": report.reason,
        "details": report.details,
        "globals": report.globals,
        "dangerous": report.dangerous,
        "suspicious": report.suspicious,
        "scanned_at": now_ms(),
    }


def _report(row: BlobScan) -> FileReport:
    return FileReport(
        format=row.format,
        verdict=row.verdict,
        reason=row.reason,
        details=dict(row.details),
        globals=list(row.globals),
        dangerous=list(row.dangerous),
        suspicious=list(row.suspicious),
    )
