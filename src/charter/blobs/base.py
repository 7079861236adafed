"""The blob store interface, and the spooling writer and digest rules both stores share.

A blob is an immutable byte string stored once under the lowercase hex SHA-256 of its content.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol, Self

from charter.errors import InvalidArgument, PayloadTooLarge

BUFFER_SIZE = 1 << 20  # 1 MiB: big enough for throughput, small enough to keep memory flat
TEMP_PREFIX = "upload-"
TEMP_SUFFIX = ".part"
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int


class BlobWriter(Protocol):
    """One upload in progress: bytes go to a temporary file while they are hashed."""

    def write(self, chunk: bytes) -> None:
        """Append bytes; raises PayloadTooLarge (and aborts) past ``max_bytes``."""
        ...

    @property
    def size(self) -> int: ...

    def commit(self) -> BlobInfo:
        """Verify the expected digest, place the blob under its digest atomically, return it."""
        ...

    def abort(self) -> None:
        """Drop the temporary file; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class BlobStore(Protocol):
    """Content-addressed, immutable bytes: on local disk or in an S3 bucket."""

    def writer(
        self, *, max_bytes: int | None = None, expected_sha256: str | None = None
    ) -> BlobWriter: ...

    def put_bytes(self, data: bytes) -> BlobInfo: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int:
        """The blob's size in bytes; NotFound if absent."""
        ...

    def read(
        self, sha256: str, start: int = 0, end: int | None = None, chunk_size: int = BUFFER_SIZE
    ) -> Iterator[bytes]:
        """Stream ``blob[start:end]`` (slice semantics: end exclusive, clamped to the size;
        a start at or past the size yields nothing). NotFound is raised at the call, not at
        the first chunk, so a caller can answer 404 before it starts a response."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """The blob's file when the store is on local disk (NotFound if absent), else None."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob; deleting an absent blob is not an error (retention may retry)."""
        ...

    def check(self) -> None:
        """Raise Unavailable("blob store unreachable: ...") when the store cannot be used."""
        ...

    def sweep_temporary(self, older_than_seconds: float = 3600) -> int:
        """Remove temporary files that interrupted uploads left behind; return how many."""
        ...


def validate_digest(value: str, field: str = "sha256") -> str:
    """Return the digest if it is 64 lowercase hex characters, else raise InvalidArgument.

    Digests become file names and object keys, so nothing else may pass: fullmatch (not
    ``$``, which accepts a trailing newline) and no case folding (one blob, one name).
    """
    if not isinstance(value, str) or _DIGEST.fullmatch(value) is None:
        raise InvalidArgument(
            f"{field} must be 64 lowercase hexadecimal characters, got {value!r:.80}",
            field=field,
        )
    return value


def blob_key(sha256: str) -> str:
    """The blob's relative location, ``sha256/ab/<hex>``, shared by both layouts."""
    validate_digest(sha256)
    return f"sha256/{sha256[:2]}/{sha256}"


def validate_range(start: int, end: int | None, chunk_size: int) -> None:
    if start < 0:
        raise InvalidArgument(f"start must be >= 0, got {start}", field="start")
    if end is not None and end < start:
        raise InvalidArgument(f"end ({end}) must not be before start ({start})", field="end")
    if chunk_size <= 0:
        raise InvalidArgument(f"chunk_size must be > 0, got {chunk_size}", field="chunk_size")


def sweep_temp_dir(directory: Path, older_than_seconds: float) -> int:
    """Remove upload temp files in ``directory`` not written to for ``older_than_seconds``.

    A live upload touches its file with every write, so its mtime stays fresh; only files of
    uploads that stopped (a crash, a SIGKILL, a client that went away mid-stream) age.
    """
    if not directory.is_dir():
        return 0
    now = time.time()
    removed = 0
    for entry in os.scandir(directory):
        if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            stale = entry.is_file(follow_symlinks=False) and (
                now - entry.stat(follow_symlinks=False).st_mtime >= older_than_seconds
            )
            if stale:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue  # its upload committed or aborted meanwhile
    return removed


Placer = Callable[[Path, BlobInfo], None]
"""Moves a complete, verified temp file into the store (or drops it when the blob exists)."""


class SpoolingWriter:
    """A BlobWriter that hashes into a temp file and hands it to the store's ``place``."""

    def __init__(
        self,
        temp_dir: Path,
        place: Placer,
        *,
        max_bytes: int | None = None,
        expected_sha256: str | None = None,
        durable: bool = False,
    ) -> None:
        if expected_sha256 is not None:
            validate_digest(expected_sha256, "expected_sha256")
        if max_bytes is not None and max_bytes < 0:
            raise InvalidArgument(f"max_bytes must be >= 0, got {max_bytes}", field="max_bytes")
        self._place = place
        self._max_bytes = max_bytes
        self._expected = expected_sha256
        self._durable = durable
        self._hash = hashlib.sha256()
        self._size = 0
        self._info: BlobInfo | None = None
        self._closed = False
        temp_dir.mkdir(parents=True, exist_ok=True)
        # The pid in the name tells which process left a stray file; mkstemp makes it unique.
        fd, name = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=temp_dir
        )
        self._path = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "wb", buffering=BUFFER_SIZE)

    @property
    def size(self) -> int:
        return self._size

    @property
    def temp_path(self) -> Path:
        return self._path

    def write(self, chunk: bytes) -> None:
        self._require_open()
        if self._max_bytes is not None and self._size + len(chunk) > self._max_bytes:
            self.abort()
            raise PayloadTooLarge(
                f"upload exceeds the limit of {self._max_bytes} bytes",
                max_bytes=self._max_bytes,
            )
        self._file.write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def commit(self) -> BlobInfo:
        if self._info is not None:
            return self._info
        self._require_open()
        self._closed = True
        try:
            self._finish_file()
            info = BlobInfo(sha256=self._hash.hexdigest(), size=self._size)
            if self._expected is not None and info.sha256 != self._expected:
                raise InvalidArgument(
                    f"content digest mismatch: expected sha256 {self._expected}, "
                    f"received {info.sha256}",
                    field="sha256",
                    expected=self._expected,
                    actual=info.sha256,
                )
            self._place(self._path, info)
        finally:
            # Placing consumed the file on success; on any failure nothing may stay behind.
            self._file.close()
            self._path.unlink(missing_ok=True)
        self._info = info
        return info

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._file.close()
        self._path.unlink(missing_ok=True)

    def _finish_file(self) -> None:
        self._file.flush()
        if self._durable:
            # The data must be on disk before the rename makes it visible under its digest.
            os.fsync(self._file.fileno())
        self._file.close()

    def _require_open(self) -> None:
        if self._closed:
            # Mirrors io: using a closed file is a programming error, not a domain error.
            raise ValueError("this upload was already committed or aborted")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Leaving the block without commit (an exception, or a forgotten commit) must not
        # leak the temp file.
        self.abort()
