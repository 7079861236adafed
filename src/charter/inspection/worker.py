"""Background scan workers: threads in each server process that drain the database's queue.

Uploads only enqueue; a worker claims a job, inspects each file in a sandboxed child process
(or reuses the cached result for the same bytes), renews its lease between files and records
the result in one transaction. Nothing here keeps state that another replica needs.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path

from charter.blobs import BlobStore
from charter.config import Settings
from charter.db import Database
from charter.errors import NotFound
from charter.inspection import detect, sandbox
from charter.inspection.limits import Limits
from charter.inspection.queue import Claim, FileResult, ScanQueue
from charter.inspection.repository import ScanRepository
from charter.inspection.verdicts import FileReport, failed

logger = logging.getLogger("charter.inspection")
ENGINE = f"picklescan {package_version('picklescan')}; charter-inspection 1"


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_file_bytes=settings.scan_max_file_bytes,
        timeout_seconds=settings.scan_timeout_seconds,
        memory_bytes=settings.scan_memory_bytes,
    )


@dataclass
class ScanWorker:
    db: Database
    blobs: BlobStore
    settings: Settings
    name: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @property
    def lease_ms(self) -> int:
        return int(self.settings.scan_lease_seconds * 1000)

    def claim(self) -> Claim | None:
        with self.db.transaction(write=False) as session:
            if not ScanQueue(session).has_work():
                return None
        with self.db.transaction(write=True) as session:
            return ScanQueue(session).claim(
                self.name, self.lease_ms, self.settings.scan_max_attempts
            )

    def run_once(self) -> bool:
        """Claim and run one job; False when there was none."""
        claim = self.claim()
        if claim is None:
            return False
        try:
            self.process(claim)
        except Exception as exc:  # a broken job must not stop the worker; it is recorded
            logger.exception("scan job %s failed", claim.job_id)
            with self.db.transaction(write=True) as session:
                ScanQueue(session).fail(claim, self.name, f"scan failed: {exc}"[:2000])
        return True

    def run_forever(self) -> None:
        stop = self.stop
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # the database may be briefly away; try again next round
                logger.exception("scan worker %s could not poll the queue", self.name)
                worked = False
            if not worked:
                stop.wait(self.settings.scan_poll_seconds)

    def process(self, claim: Claim) -> bool:
        """Inspect every file of the claimed version and record the results; return whether
        they were recorded (False when the lease was lost to another worker meanwhile)."""
        with self.db.transaction(write=False) as session:
            subject = ScanRepository(session).subject(claim.version_id)
        if subject is None:
            with self.db.transaction(write=True) as session:
                return ScanQueue(session).fail(claim, self.name, "the version no longer exists")
        results = []
        for path, size, sha256 in subject.files:
            try:
                report = self._inspect(claim, path, sha256)
            except sandbox.Interrupted:
                # The server is stopping: hand the job back now rather than at lease expiry.
                with self.db.transaction(write=True) as session:
                    ScanQueue(session).release(claim, self.name)
                return False
            results.append(FileResult(path, size, sha256, report))
            with self.db.transaction(write=True) as session:
                if not ScanQueue(session).renew(claim, self.name, self.lease_ms):
                    return False
        with self.db.transaction(write=True) as session:
            return ScanQueue(session).complete(claim, self.name, subject, results)

    def _inspect(self, claim: Claim, path: str, sha256: str) -> FileReport:
        limits = limits_of(self.settings)
        try:
            with self._local_copy(sha256, limits) as local:
                if local is None:
                    return failed(
                        "unknown", f"file is larger than {limits.max_file_bytes} bytes; not read"
                    )
                kind = detect.detect_file(local, path)
                if not claim.force:
                    with self.db.transaction(write=False) as session:
                        cached = ScanQueue(session).cached(sha256, kind, ENGINE)
                    if cached is not None:
                        return cached
                report = sandbox.run(local, path, limits, self.stop)
        except (OSError, NotFound) as exc:
            return failed("unknown", f"file could not be read from the blob store: {exc}")
        if report.format == "unknown" and kind != detect.UNKNOWN:
            # The child died (time or memory limit) before it could say what it read: record
            # what it was reading, and do not cache a result that a quieter moment may improve.
            report.format = kind
            return report
        try:
            with self.db.transaction(write=True) as session:
                ScanQueue(session).remember(sha256, kind, ENGINE, report)
        except Exception:  # another worker cached the same bytes first: theirs is as good
            logger.debug("scan cache write for %s lost a race", sha256, exc_info=True)
        return report

    @contextmanager
    def _local_copy(self, sha256: str, limits: Limits) -> Iterator[Path | None]:
        """The blob as a local file: in place on local disk, else downloaded to a temp file."""
        local = self.blobs.local_path(sha256)
        if local is not None:
            yield local
            return
        if self.blobs.size(sha256) > limits.max_file_bytes:
            yield None
            return
        self.settings.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="scan-", dir=self.settings.temp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self.blobs.read(sha256):
                    out.write(chunk)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)


def start_workers(
    db: Database, blobs: BlobStore, settings: Settings, stop: threading.Event
) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    if settings.scan_workers == 0:
        return threads
    try:
        with db.transaction(write=True) as session:
            backlog = ScanQueue(session).enqueue_unscanned()
        if backlog:
            logger.info("queued scans of %d versions registered before scanning", backlog)
    except Exception:  # the workers start anyway; the next start tries again
        logger.exception("could not queue the scans of older versions")
    for index in range(settings.scan_workers):
        worker = ScanWorker(db, blobs, settings, stop=stop)
        thread = threading.Thread(
            target=worker.run_forever, name=f"charter-scan-{index}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads
