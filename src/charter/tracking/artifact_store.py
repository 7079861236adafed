"""The MLflow artifact namespace over Charter's blob store: upload, list, download, delete, and
multipart uploads.

A path such as ``1/<run_id>/artifacts/model/MLmodel`` maps to (size, sha256); the bytes are in
the content-addressed blob store, so identical files are stored once. As for a version's files
(``charter.artifacts.service``), an upload holds no database transaction while bytes stream in:
a short read checks the path, the bytes go to the blob store, one short write records them.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from anyio import to_thread
from sqlalchemy.orm import Session

from charter.artifacts.paths import artifact_path
from charter.artifacts.service import FileDownload
from charter.blobs import BlobInfo, BlobStore
from charter.blobs.stream import stream_to_blob
from charter.context import SYSTEM, RequestContext
from charter.db import Database
from charter.errors import Conflict, InvalidArgument, NotFound
from charter.tracking.artifact_repository import (
    MultipartRepository,
    TrackedArtifactRepository,
)
from charter.tracking.artifact_schemas import FileInfoRead
from charter.tracking.models import MultipartPart, MultipartUpload, TrackedArtifact
from charter.tracking.registry_view import RegistryView, is_registry_path, refuse_write
from charter.tracking.repository import RunRepository
from charter.tracking.responses import RunArtifacts
from charter.tracking.trail import audit, may_read, may_write

ARTIFACTS_SCHEME = "mlflow-artifacts"


def namespace_path(uri: str) -> str | None:
    """The namespace path of an ``mlflow-artifacts:`` URI ('' for its root), else None."""
    parsed = urlparse(uri)
    if parsed.scheme != ARTIFACTS_SCHEME:
        return None
    return parsed.path.strip("/")


def clean_path(path: str | None, *, allow_root: bool = False) -> str:
    """A namespace path checked for traversal, NUL, backslashes and absolute forms."""
    if not path and allow_root:
        return ""
    return artifact_path(path or "")


def multipart_target(directory: str, local_file: str) -> str:
    """Where a multipart upload lands: MLflow's client names the directory in the URL and the
    file by the local path it uploads from, whose base name (POSIX or Windows) is kept."""
    name = re.split(r"[\\/]", local_file)[-1]
    folder = clean_path(directory, allow_root=True)
    return clean_path(posixpath.join(folder, name) if folder else name)


def upload_key(secret: str) -> str:
    """Uploads are stored under the hash of their id: a leaked table does not leak the id."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class PartPlan:
    """What completing a multipart upload concatenates, in order."""

    upload_id: str
    path: str
    parts: list[tuple[int, str]]  # (part number, sha256)


class ArtifactNamespace:
    def __init__(self, session: Session, ctx: RequestContext, blobs: BlobStore) -> None:
        self.session = session
        self.ctx = ctx
        self.blobs = blobs
        self.files = TrackedArtifactRepository(session)
        self.uploads = MultipartRepository(session)
        self.runs = RunRepository(session)

    # -- files -------------------------------------------------------------------------------

    def check_writable(self, path: str) -> None:
        """A file may not sit where a directory is, nor below another file."""
        refuse_write(path)
        may_write(self.ctx)
        segments = path.split("/")
        ancestors = ["/".join(segments[:i]) for i in range(1, len(segments))]
        blocking = self.files.files_at(ancestors)
        if blocking:
            raise Conflict(
                f"cannot write {path!r}: {blocking[0]!r} is a file, not a directory", path=path
            )
        if self.files.has_below(path):
            raise Conflict(f"cannot write {path!r}: it is a directory", path=path)

    def record(self, path: str, blob: BlobInfo) -> TrackedArtifact:
        self.check_writable(path)
        row = self.files.put(path, blob.size, blob.sha256)
        after = {"size": blob.size, "sha256": blob.sha256}
        audit(self.session, self.ctx, "run_artifact.upload", path, after=after)
        return row

    def open(self, path: str) -> FileDownload:
        may_read(self.ctx)
        path = clean_path(path)
        if is_registry_path(path):
            return RegistryView(self.session, self.ctx, self.blobs).open(path)
        row = self.files.get(path)
        if row is None:
            what = "is a directory" if self.files.has_below(path) else "does not exist"
            raise NotFound(f"artifact {path!r} {what}", path=path)
        return FileDownload(row.path, row.size, row.sha256, self.blobs)

    def listing(self, path: str | None) -> list[FileInfoRead]:
        """The files and directories directly in ``path``; a file lists as nothing (MLflow)."""
        may_read(self.ctx)
        directory = clean_path(path, allow_root=True)
        if is_registry_path(directory):
            return RegistryView(self.session, self.ctx, self.blobs).listing(directory)
        if directory and self.files.get(directory) is not None:
            return []
        entries = [
            FileInfoRead(path=posixpath.basename(f.path), is_dir=False, file_size=f.size)
            for f in self.files.files_in(directory)
        ]
        start = len(directory) + 1 if directory else 0
        names = {d[start:].split("/", 1)[0] for d in self.files.directories_below(directory)}
        entries += [FileInfoRead(path=name, is_dir=True) for name in names]
        return sorted(entries, key=lambda e: e.path)

    def list_run(self, run_id: str | None, path: str | None) -> RunArtifacts:
        """A run's artifacts below ``path`` (the tracking API's view, paths from the run's
        root); a run whose artifacts live outside Charter lists nothing."""
        run = self.runs.get(run_id or "")
        if run is None:
            raise NotFound(f"Run with id={run_id} not found", run_id=run_id)
        root = namespace_path(run.artifact_uri)
        if not root:
            return RunArtifacts(root_uri=run.artifact_uri, files=[])
        relative = clean_path(path, allow_root=True)
        entries = self.listing(posixpath.join(root, relative) if relative else root)
        files = [
            e.model_copy(update={"path": posixpath.join(relative, e.path) if relative else e.path})
            for e in entries
        ]
        return RunArtifacts(root_uri=run.artifact_uri, files=files)

    def delete(self, path: str) -> int:
        """Delete a file, or a directory with everything below it (MLflow's semantics).

        The blobs stay: other paths (or registered versions) may hold the same bytes, and
        unreferenced blobs are retention's to remove.
        """
        may_write(self.ctx)
        path = clean_path(path)
        refuse_write(path)
        deleted = self.files.delete_tree(path)
        if deleted:
            audit(self.session, self.ctx, "run_artifact.delete", path, before={"files": deleted})
        return deleted

    def files_below(self, prefix: str) -> list[tuple[str, int, str]]:
        """Every file below ``prefix`` as (path relative to it, size, sha256)."""
        start = len(prefix) + 1 if prefix else 0
        return [(f.path[start:], f.size, f.sha256) for f in self.files.files_below(prefix)]

    # -- multipart ---------------------------------------------------------------------------

    def create_multipart(self, path: str, num_parts: int) -> str:
        may_write(self.ctx)
        """Start a multipart upload; return its secret id (it authorises the part uploads)."""
        self.check_writable(path)
        secret = secrets.token_urlsafe(32)
        self.uploads.add(
            MultipartUpload(
                id=upload_key(secret),
                path=path,
                num_parts=num_parts,
                created_by=self.ctx.actor.name,
            )
        )
        return secret

    def upload(
        self, secret: str, path: str | None = None, *, lock: bool = False
    ) -> MultipartUpload:
        upload = self.uploads.get(upload_key(secret), lock=lock)
        if upload is None or (path is not None and upload.path != path):
            raise NotFound("no such multipart upload", upload_id=secret[:8] + "…")
        return upload

    def require_part(self, secret: str, number: int) -> MultipartUpload:
        upload = self.upload(secret)
        if not 1 <= number <= upload.num_parts:
            raise InvalidArgument(
                f"part_number must be between 1 and {upload.num_parts}, got {number}",
                field="part_number",
            )
        return upload

    def record_part(self, secret: str, number: int, blob: BlobInfo) -> MultipartPart:
        upload = self.require_part(secret, number)
        return self.uploads.put_part(upload.id, number, blob.size, blob.sha256)

    def plan_completion(self, secret: str, path: str, etags: dict[int, str]) -> PartPlan:
        """Check the client's list of parts against what was uploaded."""
        may_write(self.ctx)
        upload = self.upload(secret, path)
        stored = {p.part_number: p.sha256 for p in self.uploads.parts(upload.id)}
        if not etags:
            raise InvalidArgument("parts must list the uploaded parts", field="parts")
        if sorted(etags) != list(range(1, len(etags) + 1)):
            raise InvalidArgument("parts must be numbered 1, 2, 3 … without gaps", field="parts")
        for number, etag in etags.items():
            if number not in stored:
                raise InvalidArgument(f"part {number} was never uploaded", field="parts")
            if etag and etag.strip('"') != stored[number]:
                raise InvalidArgument(f"part {number} does not match its ETag", field="parts")
        return PartPlan(upload.id, path, [(n, stored[n]) for n in sorted(etags)])

    def finish_multipart(self, secret: str, path: str, blob: BlobInfo) -> TrackedArtifact:
        upload = self.upload(secret, path, lock=True)
        row = self.record(path, blob)
        self.uploads.delete(upload)
        return row

    def abort_multipart(self, secret: str, path: str) -> None:
        may_write(self.ctx)
        self.uploads.delete(self.upload(secret, path, lock=True))


# -- streaming, outside any transaction -------------------------------------------------------


async def upload_stream(
    db: Database,
    ctx: RequestContext,
    blobs: BlobStore,
    path: str,
    chunks: AsyncIterator[bytes],
    *,
    max_bytes: int | None = None,
) -> TrackedArtifact:
    """Stream one file into the blob store and record it at ``path``."""
    path = clean_path(path)

    def check() -> None:
        with db.transaction(write=False) as session:
            ArtifactNamespace(session, ctx, blobs).check_writable(path)

    def record(blob: BlobInfo) -> TrackedArtifact:
        with db.transaction(write=True) as session:
            return ArtifactNamespace(session, ctx, blobs).record(path, blob)

    await to_thread.run_sync(check)
    blob = await stream_to_blob(blobs, chunks, max_bytes=max_bytes)
    return await to_thread.run_sync(record, blob)


async def upload_part_stream(
    db: Database,
    blobs: BlobStore,
    secret: str,
    number: int,
    chunks: AsyncIterator[bytes],
    *,
    max_bytes: int | None = None,
) -> MultipartPart:
    """Stream one part of a multipart upload into the blob store.

    The secret upload id authorises it, as a presigned URL would: the client sends parts to
    the URLs it was given without its credentials.
    """

    def check() -> None:
        with db.transaction(write=False) as session:
            ArtifactNamespace(session, SYSTEM, blobs).require_part(secret, number)

    def record(blob: BlobInfo) -> MultipartPart:
        with db.transaction(write=True) as session:
            return ArtifactNamespace(session, SYSTEM, blobs).record_part(secret, number, blob)

    await to_thread.run_sync(check)
    blob = await stream_to_blob(blobs, chunks, max_bytes=max_bytes)
    return await to_thread.run_sync(record, blob)


def complete_multipart(
    db: Database,
    ctx: RequestContext,
    blobs: BlobStore,
    secret: str,
    path: str,
    etags: dict[int, str],
) -> TrackedArtifact:
    """Join the parts into one blob (streamed, no transaction open) and record the file.

    Blocking: call it from a worker thread.
    """
    with db.transaction(write=False) as session:
        plan = ArtifactNamespace(session, ctx, blobs).plan_completion(secret, path, etags)
    with blobs.writer() as writer:
        for chunk in _concatenate(blobs, plan):
            writer.write(chunk)
        blob = writer.commit()
    with db.transaction(write=True) as session:
        return ArtifactNamespace(session, ctx, blobs).finish_multipart(secret, path, blob)


def _concatenate(blobs: BlobStore, plan: PartPlan) -> Iterator[bytes]:
    for _, sha256 in plan.parts:
        yield from blobs.read(sha256)
