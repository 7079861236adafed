"""The rules of a version's files: streaming uploads, finalize, downloads and verification.

An upload does not hold a database transaction while bytes stream in (on SQLite that would
block every other writer for the length of a transfer): it checks the version in a short
read, streams the bytes into the blob store, then records the file in one short write that
checks the version again. A READY version's files never change.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from charter import access
from charter.access import Role
from charter.artifacts.manifest import manifest_digest
from charter.artifacts.models import VersionFile
from charter.artifacts.paths import artifact_path
from charter.artifacts.repository import FileRepository
from charter.artifacts.schemas import ExpectedFile, VerifyProblem, VerifyReport
from charter.audit import AuditService
from charter.blobs import BlobInfo, BlobStore
from charter.blobs.stream import stream_to_blob
from charter.context import RequestContext
from charter.db import Database
from charter.errors import Conflict, NotFound
from charter.inspection.service import enqueue_ready
from charter.registry.models import PENDING, READY, ModelVersion, RegisteredModel
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService
from charter.registry.views import VersionView


@dataclass(frozen=True)
class FileDownload:
    path: str
    size: int
    sha256: str
    blobs: BlobStore

    def read(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self.blobs.read(self.sha256, start, end)


class ArtifactService:
    def __init__(self, session: Session, ctx: RequestContext, blobs: BlobStore) -> None:
        self.session = session
        self.ctx = ctx
        self.blobs = blobs
        self.versions = VersionService(session, ctx)
        self.files = FileRepository(session)

    def _version(
        self, name: str, selector: VersionSelector
    ) -> tuple[RegisteredModel, ModelVersion]:
        return self.versions.get_row(name, selector)

    def require_writable(self, name: str, selector: VersionSelector) -> ModelVersion:
        return self._writable(name, selector)[1]

    def _writable(
        self, name: str, selector: VersionSelector
    ) -> tuple[RegisteredModel, ModelVersion]:
        model, version = self._version(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        if version.status != PENDING:
            raise Conflict(
                f"version {name}/{version.version} is {version.status}: its artifacts are "
                "immutable",
                status=version.status,
            )
        return model, version

    def _audit(
        self, action: str, model: RegisteredModel, version: ModelVersion, path: str, **after: Any
    ) -> None:
        AuditService(self.session, self.ctx).record(
            action,
            "artifact",
            version.id,
            f"{model.name}/{version.version}/{path}",
            after={"path": path, **after} if action == "artifact.upload" else None,
            before={"path": path} if action == "artifact.delete" else None,
        )

    def record(
        self, name: str, selector: VersionSelector, path: str, blob: BlobInfo
    ) -> VersionFile:
        model, version = self._writable(name, selector)
        row = self.files.put(version.id, path, blob.size, blob.sha256)
        self._audit("artifact.upload", model, version, path, size=blob.size, sha256=blob.sha256)
        return row

    def adopt_files(
        self, name: str, selector: VersionSelector, entries: list[tuple[str, int, str]]
    ) -> VersionView:
        """Make a pending version READY with files already in the blob store.

        For versions registered from a source inside Charter's own store (a run's or a logged
        model's artifacts): the bytes are stored once, the manifest is taken from them.
        """
        model, version = self._version(name, selector)
        self.require_writable(name, selector)
        for path, size, sha256 in entries:
            self.files.put(version.id, artifact_path(path), size, sha256)
        files = self.files.list(version.id)
        self.versions.mark_ready(
            version,
            digest=manifest_digest(files),
            file_count=len(files),
            total_size=sum(f.size for f in files),
        )
        enqueue_ready(self.session, self.ctx, version)
        return self.versions.view(model, version)

    def delete_file(self, name: str, selector: VersionSelector, path: str) -> None:
        path = artifact_path(path)
        model, version = self._writable(name, selector)
        if not self.files.delete(version.id, path):
            raise NotFound(f"version {name}/{version.version} has no file {path!r}", path=path)
        self._audit("artifact.delete", model, version, path)

    def list_files(
        self, name: str, selector: VersionSelector
    ) -> tuple[VersionView, list[VersionFile]]:
        model, version = self._version(name, selector)
        return self.versions.view(model, version), self.files.list(version.id)

    def open_file(self, name: str, selector: VersionSelector, path: str) -> FileDownload:
        path = artifact_path(path)
        _, version = self._version(name, selector)
        row = self.files.get(version.id, path)
        if row is None:
            raise NotFound(f"version {name}/{version.version} has no file {path!r}", path=path)
        return FileDownload(row.path, row.size, row.sha256, self.blobs)

    def open_by_version_id(self, version_id: int) -> list[FileDownload]:
        """The manifest of a READY version, by id: what it is frozen to, whatever its name."""
        version = self.versions.live_by_id(version_id)
        if version.status != READY:
            raise NotFound(f"model version {version_id} is {version.status}: it has no manifest")
        return [
            FileDownload(r.path, r.size, r.sha256, self.blobs) for r in self.files.list(version.id)
        ]

    def open_all(self, name: str, selector: VersionSelector) -> list[FileDownload]:
        _, version = self._version(name, selector)
        return [
            FileDownload(r.path, r.size, r.sha256, self.blobs) for r in self.files.list(version.id)
        ]

    def finalize(
        self,
        name: str,
        selector: VersionSelector,
        expected_files: list[ExpectedFile] | None = None,
        expected_digest: str | None = None,
    ) -> VersionView:
        model, version = self._version(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        files = self.files.list(version.id)
        if version.status != PENDING:
            raise Conflict(
                f"version {name}/{version.version} is {version.status}, not {PENDING}",
                status=version.status,
            )
        if not files:
            raise Conflict(
                f"version {name}/{version.version} has no files: upload them before finalizing"
            )
        reason = self._finalize_problem(files, expected_files, expected_digest)
        if reason is None:
            self.versions.mark_ready(
                version,
                digest=manifest_digest(files),
                file_count=len(files),
                total_size=sum(f.size for f in files),
            )
            # Scans run in the background: the upload path only queues one.
            enqueue_ready(self.session, self.ctx, version)
        else:
            self.versions.mark_failed(version, reason)
        return self.versions.view(model, version)

    def _finalize_problem(
        self,
        files: list[VersionFile],
        expected_files: list[ExpectedFile] | None,
        expected_digest: str | None,
    ) -> str | None:
        for row in files:
            if not self.blobs.exists(row.sha256):
                return f"file {row.path!r} is missing from the blob store"
        if expected_files is not None:
            actual = {f.path: (f.sha256, f.size) for f in files}
            wanted = {f.path: (f.sha256, f.size) for f in expected_files}
            for path in sorted(wanted.keys() | actual.keys()):
                if path not in actual:
                    return f"expected file {path!r} was never uploaded"
                if path not in wanted:
                    return f"file {path!r} was uploaded but is not in the expected manifest"
                if actual[path] != wanted[path]:
                    return f"file {path!r} does not match the expected sha256/size"
        digest = manifest_digest(files)
        if expected_digest is not None and expected_digest != digest:
            return f"manifest digest {digest} does not match the expected {expected_digest}"
        return None

    def verify(self, name: str, selector: VersionSelector) -> VerifyReport:
        model, version = self._version(name, selector)
        files = self.files.list(version.id)
        problems: list[VerifyProblem] = []
        checked = 0
        for row in files:
            problem = self._verify_file(row)
            checked += row.size
            if problem:
                problems.append(VerifyProblem(path=row.path, problem=problem))
        if version.manifest_digest and version.manifest_digest != manifest_digest(files):
            problems.append(
                VerifyProblem(path=None, problem="manifest digest does not match its files")
            )
        return VerifyReport(
            model=model.name,
            version=version.version,
            manifest_digest=version.manifest_digest,
            files_checked=len(files),
            bytes_checked=checked,
            ok=not problems,
            problems=problems,
        )

    def _verify_file(self, row: VersionFile) -> str | None:
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in self.blobs.read(row.sha256):
                digest.update(chunk)
                size += len(chunk)
        except NotFound:
            return "missing from the blob store"
        if size != row.size:
            return f"size is {size} bytes, the manifest says {row.size}"
        if digest.hexdigest() != row.sha256:
            return f"content hashes to {digest.hexdigest()}, the manifest says {row.sha256}"
        return None


async def upload_stream(
    db: Database,
    ctx: RequestContext,
    blobs: BlobStore,
    name: str,
    selector: VersionSelector,
    path: str,
    chunks: AsyncIterator[bytes],
    *,
    max_bytes: int | None = None,
) -> VersionFile:
    """Stream one file into the blob store and record it in the version's manifest."""
    path = artifact_path(path)

    def check() -> None:
        with db.transaction(write=False) as session:
            ArtifactService(session, ctx, blobs).require_writable(name, selector)

    await to_thread.run_sync(check)
    blob = await stream_to_blob(blobs, chunks, max_bytes=max_bytes)

    def record() -> VersionFile:
        with db.transaction(write=True) as session:
            return ArtifactService(session, ctx, blobs).record(name, selector, path, blob)

    return await to_thread.run_sync(record)
