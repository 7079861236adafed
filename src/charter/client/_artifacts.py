"""The artifact half of the client: upload, finalize, list, download and verify a version's files.

Downloads are verified twice: each file against the ``x-content-sha256`` header the server
sends, and, for ``download_version``, against the manifest listed before the first byte.
``download_version`` fetches file by file rather than through the ``/archive`` tar stream:
each file is then checked and renamed into place on its own, and no tar member name from the
network is ever trusted as a path (``download_archive`` saves the tar as it comes, unchecked).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from charter.client._exceptions import ChecksumMismatch
from charter.client._models import FileEntry, Manifest, ModelVersion, ProgressCallback, VerifyReport
from charter.client._references import Ref, VersionRef, file_path, parse_ref
from charter.client._registry import RegistryMethods
from charter.client._transfer import (
    CHUNK_SIZE,
    Digest,
    Meter,
    local_target,
    read_chunks,
    save_stream,
    walk_files,
)

PathLike = str | os.PathLike[str]
# The files a finalize checks: what this client uploaded ("auto"), a given list, or none.
ExpectedFiles = Sequence[FileEntry] | Literal["auto"] | None


class ArtifactMethods(RegistryMethods):
    """File transfers. Uploads remember what they sent, so that finalize can check it all arrived.

    That memory is per client and not shared between threads: finalize from the client that
    uploaded, or pass ``expected_files`` yourself.
    """

    _uploaded: dict[tuple[str, int], dict[str, FileEntry]]

    def upload_file(
        self,
        ref: Ref,
        local_path: PathLike,
        remote_path: str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> FileEntry:
        """Stream one file into a pending version, as ``remote_path`` (default: its name)."""
        source = Path(local_path)
        model, number = self.resolve_number(ref)
        meter = Meter(progress, source.stat().st_size)
        meter.start()
        return self._upload(model, number, source, remote_path or source.name, meter)

    def upload_dir(
        self, ref: Ref, directory: PathLike, *, progress: ProgressCallback | None = None
    ) -> list[FileEntry]:
        """Upload every file under ``directory``, each at its relative POSIX path.

        ``progress`` counts bytes across the whole directory. Links leading outside it are
        skipped (and logged on the ``charter.client`` logger).
        """
        files = walk_files(Path(directory))
        model, number = self.resolve_number(ref)
        meter = Meter(progress, sum(f.size for f in files))
        meter.start()
        return [self._upload(model, number, f.path, f.remote_path, meter) for f in files]

    def finalize(self, ref: Ref, expected_files: ExpectedFiles = "auto") -> ModelVersion:
        """Compute the manifest and make the version READY, or FAILED_REGISTRATION with a reason.

        With ``"auto"`` the server is told exactly what this client uploaded (paths, sizes and
        hashes computed while sending), so a lost, extra or altered file fails the version
        instead of passing unnoticed. The returned version's ``status`` says which it became.
        """
        parsed = parse_ref(ref)
        key: tuple[str, int] | None = None
        files: Sequence[FileEntry] | None = None
        if expected_files == "auto":
            if self._uploaded:
                key = self.resolve_number(parsed)
                tracked = self._uploaded.get(key)
                files = list(tracked.values()) if tracked else None
        else:
            files = expected_files
        body = {} if files is None else {"expected_files": [f.model_dump() for f in files]}
        result = self._http.json("POST", f"{parsed.path}/finalize", json=body)
        version = ModelVersion.model_validate(result)
        self._uploaded.pop(key or (version.model, version.version), None)
        return version

    def list_files(self, ref: Ref) -> Manifest:
        return Manifest.model_validate(self._http.json("GET", f"{parse_ref(ref).path}/files"))

    def delete_file(self, ref: Ref, remote_path: str) -> None:
        """Remove a file from a pending version."""
        parsed = parse_ref(ref)
        self._http.request("DELETE", file_path(parsed, remote_path))
        if self._uploaded:
            self._uploaded.get(self.resolve_number(parsed), {}).pop(remote_path, None)

    def download_file(
        self,
        ref: Ref,
        remote_path: str,
        dest: PathLike,
        *,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Save one file to ``dest``, a file path or a directory to put it in; returns its path."""
        target = Path(dest)
        if target.is_dir():
            target = target / PurePosixPath(remote_path).name
        self._download(parse_ref(ref), remote_path, target, None, Meter(progress, None))
        return target

    def download_version(
        self, ref: Ref, dest_dir: PathLike, *, progress: ProgressCallback | None = None
    ) -> Manifest:
        """Save every file of a version under ``dest_dir``; returns the manifest it followed.

        An alias or stage is resolved once, by the listing, so that every file comes from the
        same version even if the alias moves meanwhile.
        """
        manifest = self.list_files(ref)
        pinned = VersionRef(manifest.model, str(manifest.version))
        root = Path(dest_dir)
        meter = Meter(progress, manifest.total_size)
        meter.start()
        for entry in manifest.files:
            target = local_target(root, entry.path)
            self._download(pinned, entry.path, target, entry.sha256, meter)
        return manifest

    def download_archive(
        self, ref: Ref, dest: PathLike, *, progress: ProgressCallback | None = None
    ) -> Path:
        """Save the version as one tar file, streamed as the server builds it.

        The tar carries no checksum the client could check: verify its members against
        ``list_files`` if needed, or prefer ``download_version``.
        """
        target = Path(dest)
        with self._http.stream(f"{parse_ref(ref).path}/archive") as response:
            save_stream(response.iter_bytes(CHUNK_SIZE), target, None, Meter(progress, None))
        return target

    def verify(self, ref: Ref) -> VerifyReport:
        """Have the server re-read and re-hash every file of a version."""
        # Hashing a large version takes as long as reading it: wait for the answer however long.
        timeout = self._http.without_read_timeout()
        result = self._http.json("POST", f"{parse_ref(ref).path}/verify", timeout=timeout)
        return VerifyReport.model_validate(result)

    def _upload(
        self, model: str, number: int, source: Path, remote_path: str, meter: Meter
    ) -> FileEntry:
        digest = Digest()
        chunks = read_chunks(source, digest, meter)
        try:
            path = file_path(VersionRef(model, str(number)), remote_path)
            stored = FileEntry.model_validate(self._http.json("PUT", path, content=chunks))
        finally:
            chunks.close()  # the server may answer before reading it all: close the file now
        if (stored.sha256, stored.size) != (digest.hexdigest(), digest.size):
            raise ChecksumMismatch(
                f"{remote_path}: the server stored {stored.size} bytes hashing to "
                f"{stored.sha256}, the client sent {digest.size} bytes hashing to "
                f"{digest.hexdigest()}",
                path=remote_path,
            )
        self._uploaded.setdefault((model, number), {})[stored.path] = stored
        return stored

    def _download(
        self,
        version: VersionRef,
        remote_path: str,
        target: Path,
        expected_sha256: str | None,
        meter: Meter,
    ) -> None:
        with self._http.stream(file_path(version, remote_path)) as response:
            announced = response.headers.get("x-content-sha256")
            if announced is None:
                raise ChecksumMismatch(
                    f"{remote_path}: the server sent no x-content-sha256 header to verify against",
                    path=remote_path,
                )
            if expected_sha256 is not None and announced != expected_sha256:
                raise ChecksumMismatch(
                    f"{remote_path}: the server announced sha256 {announced}, "
                    f"the manifest says {expected_sha256}",
                    path=remote_path,
                )
            if meter.total is None and "content-length" in response.headers:
                meter.total = int(response.headers["content-length"])
                meter.start()
            save_stream(response.iter_bytes(CHUNK_SIZE), target, announced, meter)
