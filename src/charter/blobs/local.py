"""Blobs on a local (or mounted) filesystem: ``root/sha256/ab/<hex>``, temp files in ``root/tmp``.

A blob becomes visible only through ``os.replace`` of a fsynced file, followed by a fsync of its
directory, so a crash at any moment leaves either no blob or the whole blob.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from charter.blobs.base import (
    BUFFER_SIZE,
    BlobInfo,
    SpoolingWriter,
    blob_key,
    sweep_temp_dir,
    validate_range,
)
from charter.errors import NotFound, Unavailable

BLOB_MODE = 0o444  # blobs are immutable; read-only makes an accidental write fail loudly


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        # No I/O here: directories are made by the first upload or by check().
        self.root = Path(root)
        # Temp files live under the root so that os.replace stays on one filesystem (atomic).
        self.temp_dir = self.root / "tmp"

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def writer(
        self, *, max_bytes: int | None = None, expected_sha256: str | None = None
    ) -> SpoolingWriter:
        return SpoolingWriter(
            self.temp_dir,
            self._place,
            max_bytes=max_bytes,
            expected_sha256=expected_sha256,
            durable=True,
        )

    def put_bytes(self, data: bytes) -> BlobInfo:
        with self.writer() as writer:
            writer.write(data)
            return writer.commit()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self._stat(sha256).st_size

    def read(
        self, sha256: str, start: int = 0, end: int | None = None, chunk_size: int = BUFFER_SIZE
    ) -> Iterator[bytes]:
        validate_range(start, end, chunk_size)
        path = self._path(sha256)
        size = self._stat(sha256).st_size
        stop = size if end is None else min(end, size)
        # The file is opened by the generator, not here: an iterator that is never consumed
        # then holds no open file.
        return _read_file(path, sha256, start, stop, chunk_size)

    def local_path(self, sha256: str) -> Path | None:
        self._stat(sha256)
        return self._path(sha256)

    def delete(self, sha256: str) -> None:
        path = self._path(sha256)
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def check(self) -> None:
        try:
            self.temp_dir.mkdir(parents=True, exist_ok=True)
            # os.access() lies for root and on some mounts: only a real write proves writability.
            fd, name = tempfile.mkstemp(prefix="check-", dir=self.temp_dir)
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise Unavailable(f"blob store unreachable: {self.root}: {exc}") from exc

    def sweep_temporary(self, older_than_seconds: float = 3600) -> int:
        return sweep_temp_dir(self.temp_dir, older_than_seconds)

    def _path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)  # blob_key validates before any path is built

    def _stat(self, sha256: str) -> os.stat_result:
        try:
            return self._path(sha256).stat()
        except FileNotFoundError:
            raise NotFound(f"blob {sha256} does not exist", sha256=sha256) from None

    def _place(self, temp: Path, info: BlobInfo) -> None:
        target = self._path(info.sha256)
        if target.is_file():
            return  # stored already: the writer drops its temp file
        created = _make_dirs(target.parent)
        os.chmod(temp, BLOB_MODE)
        # Two uploads of the same bytes may race here; both replace with identical content.
        os.replace(temp, target)
        _fsync_dir(target.parent)
        for directory in created:
            _fsync_dir(directory.parent)  # make a new shard directory's own entry durable


def _read_file(path: Path, sha256: str, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
    if start >= stop:
        return
    try:
        with open(path, "rb", buffering=0) as file:
            file.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = file.read(min(chunk_size, remaining))
                if not chunk:
                    return  # shorter than at stat time: only if someone truncated a blob
                remaining -= len(chunk)
                yield chunk
    except FileNotFoundError:
        # Deleted between the stat in read() and the first chunk.
        raise NotFound(f"blob {sha256} does not exist", sha256=sha256) from None


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the ones created, outermost first."""
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    missing.reverse()
    for path in missing:
        path.mkdir(exist_ok=True)  # another upload may create it at the same moment
    return missing


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
