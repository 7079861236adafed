"""Registered versions inside MLflow's artifact namespace, read-only, as their manifests say.

``get-download-uri`` answers ``mlflow-artifacts:/_registry/<version id>`` for a version with a
manifest, so ``models:/name/3`` downloads exactly the files the version was frozen with, even
if the run's artifacts it came from are overwritten or deleted later. Nothing can be written
below ``_registry``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter.artifacts.service import ArtifactService, FileDownload
from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.errors import InvalidArgument, NotFound
from charter.tracking.artifact_schemas import FileInfoRead

REGISTRY_ROOT = "_registry"


def registry_path(version_id: int) -> str:
    return f"{REGISTRY_ROOT}/{version_id}"


def is_registry_path(path: str) -> bool:
    return path == REGISTRY_ROOT or path.startswith(REGISTRY_ROOT + "/")


def refuse_write(path: str) -> None:
    if is_registry_path(path):
        raise InvalidArgument(
            f"cannot write {path!r}: {REGISTRY_ROOT}/ shows registered model versions and is "
            "read-only",
            path=path,
        )


class RegistryView:
    def __init__(self, session: Session, ctx: RequestContext, blobs: BlobStore) -> None:
        self.artifacts = ArtifactService(session, ctx, blobs)

    def _files(self, path: str) -> tuple[str, str, list[FileDownload]]:
        """(version's root in the namespace, path inside the version, the version's files)."""
        parts = path.split("/", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise NotFound(f"artifact {path!r} does not exist", path=path)
        inside = parts[2] if len(parts) == 3 else ""
        return "/".join(parts[:2]), inside, self.artifacts.open_by_version_id(int(parts[1]))

    def open(self, path: str) -> FileDownload:
        _, inside, files = self._files(path)
        for file in files:
            if file.path == inside:
                return file
        what = "is a directory" if any(f.path.startswith(inside + "/") for f in files) else None
        raise NotFound(f"artifact {path!r} {what or 'does not exist'}", path=path)

    def listing(self, path: str) -> list[FileInfoRead]:
        """The files and directories directly in ``path``, as the namespace lists them."""
        if path == REGISTRY_ROOT:
            return []  # versions are reached by their URI, not browsed
        _, inside, files = self._files(path)
        if any(f.path == inside for f in files):
            return []  # a file lists as nothing (MLflow)
        prefix = inside + "/" if inside else ""
        entries: dict[str, FileInfoRead] = {}
        for file in files:
            if not file.path.startswith(prefix):
                continue
            rest = file.path[len(prefix) :]
            head, slash, _ = rest.partition("/")
            if slash:
                entries[head] = FileInfoRead(path=head, is_dir=True)
            else:
                entries[head] = FileInfoRead(path=head, is_dir=False, file_size=file.size)
        return sorted(entries.values(), key=lambda e: e.path)
