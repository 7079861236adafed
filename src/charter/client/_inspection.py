"""The scan half of the client: a version's security verdict, its formats and version diffs."""

from __future__ import annotations

import time
from typing import Any

from charter.client._http import HTTP
from charter.client._models import UtcDatetime, _Result
from charter.client._references import API, Ref, parse_ref

PENDING = "pending"
WAIT_SLICE_SECONDS = 20.0  # one long-poll request; well under the client's read timeout


class ScanJob(_Result):
    """One scan of a version: queued, running, done or failed (``error`` says why)."""

    id: int
    status: str
    attempts: int
    claimed_by: str | None
    error: str | None
    requested_by: str
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None


class FileScan(_Result):
    """A file's verdict, every global it imports (pickles), and the dangerous/suspicious ones."""

    path: str
    sha256: str
    size: int
    format: str
    verdict: str
    reason: str | None
    globals: list[str]
    dangerous: list[str]
    suspicious: list[str]
    scanned_at: UtcDatetime


class ScanReport(_Result):
    """A version's verdict: ``pending``, ``dangerous``, ``failed``, ``suspicious``,
    ``no_known_dangerous_pattern``, ``not_scanned`` or ``cannot_carry_code``."""

    model: str
    version: int
    verdict: str
    reason: str | None
    scanned_at: UtcDatetime | None
    job: ScanJob | None
    files: list[FileScan]

    @property
    def pending(self) -> bool:
        return self.verdict == PENDING


class FileFormat(_Result):
    path: str
    sha256: str
    size: int
    format: str
    verdict: str
    reason: str | None
    details: dict[str, Any]


class VersionFormat(_Result):
    """A version's signature (from MLmodel or ONNX) and each file's format metadata."""

    model: str
    version: int
    state: str
    signature: dict[str, Any] | None
    files: list[FileFormat]


class VersionDiff(_Result):
    """What changed from ``a`` to ``b``; each section has ``added``, ``removed``, ``changed``."""

    a: str
    b: str
    metadata: dict[str, Any]
    tags: dict[str, Any]
    metrics: dict[str, Any]
    signature: dict[str, Any]
    files: dict[str, Any]
    lineage: dict[str, Any]
    scan: dict[str, Any]


class InspectionMethods:
    _http: HTTP

    def scan(self, ref: Ref) -> ScanReport:
        """The version's scan as it stands (``pending`` while one is queued or running)."""
        return ScanReport.model_validate(self._http.json("GET", f"{parse_ref(ref).path}/scan"))

    def request_scan(self, ref: Ref) -> ScanJob:
        """Scan the version again, ignoring cached results; returns the queued job."""
        return ScanJob.model_validate(self._http.json("POST", f"{parse_ref(ref).path}/scan"))

    def wait_for_scan(self, ref: Ref, timeout: float = 300.0) -> ScanReport:
        """The version's scan once it is no longer pending; TimeoutError after ``timeout`` s."""
        path = f"{parse_ref(ref).path}/scan"
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            params = {"wait": f"{min(left, WAIT_SLICE_SECONDS):.3f}"}
            report = ScanReport.model_validate(self._http.json("GET", path, params=params))
            if not report.pending:
                return report
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the scan of {ref if isinstance(ref, str) else report.model} is still "
                    f"pending after {timeout:g} s: {report.reason}"
                )
            if report.job is None:
                time.sleep(min(1.0, left))  # never queued: the long-poll returns at once

    def version_format(self, ref: Ref) -> VersionFormat:
        return VersionFormat.model_validate(self._http.json("GET", f"{parse_ref(ref).path}/format"))

    def diff(self, a: Ref, b: Ref) -> VersionDiff:
        """What changed from version ``a`` to version ``b`` (of the same model or not)."""
        params = {"a": str(parse_ref(a)), "b": str(parse_ref(b))}
        return VersionDiff.model_validate(self._http.json("GET", f"{API}/diff", params=params))
