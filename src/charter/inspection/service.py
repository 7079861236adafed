"""The rules of scans as users see them: a version's verdict, its formats, re-running a scan,
and the ``security_scan`` check that promotion policies require.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from charter import access
from charter.access import Role
from charter.audit.service import AuditService
from charter.context import RequestContext
from charter.errors import Conflict
from charter.inspection.models import ACTIVE, ScanJob
from charter.inspection.queue import ScanQueue
from charter.inspection.repository import ScanRepository
from charter.inspection.schemas import (
    FileFormatRead,
    FileScanRead,
    FormatRead,
    ScanJobRead,
    ScanRead,
)
from charter.inspection.summary import NO_FILES
from charter.inspection.verdicts import (
    DANGEROUS,
    FAILED,
    NOT_SCANNED,
    PENDING,
    SUSPICIOUS,
)
from charter.registry.models import READY, ModelVersion, RegisteredModel
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService

SECURITY_SCAN = "security_scan"  # scanned, nothing dangerous, nothing that failed to scan
SECURITY_SCAN_STRICT = "security_scan_strict"  # ... and nothing suspicious either
NEVER_SCANNED = "never scanned: request a scan (charter versions scan REF --rerun)"


@dataclass(frozen=True)
class SecurityOutcome:
    passed: bool
    detail: str
    seen: dict[str, Any]


def enqueue_ready(session: Session, ctx: RequestContext, version: ModelVersion) -> None:
    """Queue the scan of a version that just became READY with files (the upload path's hook)."""
    if version.status == READY and version.file_count > 0:
        ScanQueue(session).enqueue(version.id, ctx.actor.name)


class InspectionService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.versions = VersionService(session, ctx)
        self.scans = ScanRepository(session)

    def _row(self, name: str, selector: VersionSelector) -> tuple[RegisteredModel, ModelVersion]:
        return self.versions.get_row(name, selector)

    def scan(self, name: str, selector: VersionSelector) -> ScanRead:
        model, version = self._row(name, selector)
        summary = self.scans.summary(version.id)
        job = self.scans.latest_job(version.id)
        files = [FileScanRead.model_validate(f) for f in self.scans.files(version.id)]
        verdict, reason = self._verdict(version, job)
        return ScanRead(
            model=model.name,
            version=version.version,
            verdict=verdict,
            reason=reason,
            scanned_at=summary.scanned_at if summary is not None else None,
            job=ScanJobRead.model_validate(job) if job is not None else None,
            files=files,
        )

    def _verdict(self, version: ModelVersion, job: ScanJob | None) -> tuple[str, str | None]:
        if job is not None and job.status in ACTIVE:
            return PENDING, f"scan {job.id} is {job.status}"
        summary = self.scans.summary(version.id)
        if summary is not None:
            return summary.verdict, summary.reason
        if version.file_count == 0:
            return NOT_SCANNED, NO_FILES
        return PENDING, NEVER_SCANNED

    def request_scan(self, name: str, selector: VersionSelector) -> ScanJobRead:
        """Scan again, ignoring cached results; returns the queued (or already queued) job."""
        model, version = self._row(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)  # a scan costs the server CPU
        if version.status != READY:
            raise Conflict(
                f"version {model.name}/{version.version} is {version.status}: only READY "
                "versions are scanned",
                status=version.status,
            )
        job = ScanQueue(self.session).enqueue(version.id, self.ctx.actor.name, force=True)
        AuditService(self.session, self.ctx).record(
            "version.scan.request",
            "model_version",
            version.id,
            f"{model.name}/{version.version}",
            after={"job": job.id},
        )
        return ScanJobRead.model_validate(job)

    def format(self, name: str, selector: VersionSelector) -> FormatRead:
        model, version = self._row(name, selector)
        summary = self.scans.summary(version.id)
        verdict, _ = self._verdict(version, self.scans.latest_job(version.id))
        state = "pending" if verdict == PENDING else ("done" if summary else "not_scanned")
        return FormatRead(
            model=model.name,
            version=version.version,
            state=state,
            signature=summary.signature if summary is not None else None,
            files=[FileFormatRead.model_validate(f) for f in self.scans.files(version.id)],
        )

    def signature(self, version_id: int) -> dict[str, Any] | None:
        summary = self.scans.summary(version_id)
        return summary.signature if summary is not None else None

    def verdict_of(self, version_id: int) -> str | None:
        summary = self.scans.summary(version_id)
        return summary.verdict if summary is not None else None

    def security_outcome(self, name: str, number: int, *, strict: bool) -> SecurityOutcome:
        """The ``security_scan`` check: the version was scanned and nothing dangerous (or, with
        ``strict``, suspicious) was found, and no file failed to scan."""
        view = self.scan(name, VersionSelector(number=number))
        blocking = {DANGEROUS, FAILED, PENDING} | ({SUSPICIOUS} if strict else set())
        seen: dict[str, Any] = {
            "verdict": view.verdict,
            "flagged": {f.path: f.verdict for f in view.files if f.verdict in blocking},
            "dangerous_globals": sorted({g for f in view.files for g in f.dangerous}),
        }
        if view.verdict in blocking:
            return SecurityOutcome(False, f"{view.verdict}: {view.reason}", seen)
        return SecurityOutcome(True, f"{view.verdict}: {view.reason}", seen)
