"""Moving bytes without holding them: chunked reads, hashed writes, progress, directory walks.

Memory stays flat whatever the file size: files are read and written in 1 MiB chunks, hashed
as they pass, and downloads land in a temporary file beside the target that is renamed into
place only once its hash is right, so a reader never sees a partial or corrupt file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from charter.client._exceptions import CharterError, ChecksumMismatch, InvalidArgument
from charter.client._models import ProgressCallback

CHUNK_SIZE = 1024 * 1024

logger = logging.getLogger("charter.client")


@dataclass
class Meter:
    """Counts bytes across one transfer (one file or many) and reports them to a callback."""

    callback: ProgressCallback | None
    total: int | None
    done: int = 0

    def start(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)

    def advance(self, count: int) -> None:
        self.done += count
        if count and self.callback is not None:
            self.callback(self.done, self.total)


@dataclass
class Digest:
    """The SHA-256 and size of the bytes seen so far."""

    size: int = 0
    _sha: hashlib._Hash = field(default_factory=hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        self._sha.update(chunk)
        self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def read_chunks(path: Path, digest: Digest, meter: Meter) -> Generator[bytes, None, None]:
    """The file's bytes, chunk by chunk, hashed and counted as the HTTP client takes them."""
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
            meter.advance(len(chunk))
            yield chunk


def save_stream(
    chunks: Iterable[bytes], target: Path, expected_sha256: str | None, meter: Meter
) -> Digest:
    """Write chunks to ``target`` through a temporary file, renamed once the hash matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    digest = Digest()
    try:
        # Not mkstemp: its 0600 would outlive the rename; a new file here gets the umask's mode.
        with temp.open("xb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                meter.advance(len(chunk))
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            raise ChecksumMismatch(
                f"{target.name}: downloaded bytes hash to {digest.hexdigest()}, "
                f"the server says {expected_sha256}",
                path=str(target),
                expected=expected_sha256,
                actual=digest.hexdigest(),
            )
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return digest


@dataclass(frozen=True)
class LocalFile:
    """A file found under a directory to upload: its path inside the version, on disk, size."""

    remote_path: str
    path: Path
    size: int


def walk_files(directory: Path) -> list[LocalFile]:
    """Regular files under ``directory`` with relative POSIX paths, in a stable order.

    Symbolic links to files inside the tree are uploaded as the file they name; links that
    lead outside the tree are skipped, so uploading a directory never leaks what lies beyond
    it. Linked directories are not entered: that is what keeps a link cycle from looping.
    """
    root = directory.resolve()
    if not root.is_dir():
        raise InvalidArgument(f"{directory} is not a directory", path=str(directory))
    found: list[LocalFile] = []
    for current, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(current, name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                logger.warning("skipping %s: the link leads outside %s", path, root)
                continue
            if not path.is_file():  # a broken link, a socket, a FIFO
                continue
            relative = path.relative_to(root).as_posix()
            found.append(LocalFile(relative, path, path.stat().st_size))
    return found


def local_target(root: Path, remote_path: str) -> Path:
    """Where a version's file lands under ``root``; refuses paths that would escape it."""
    parts = PurePosixPath(remote_path).parts
    if (
        not parts
        or PurePosixPath(remote_path).is_absolute()
        or ".." in parts
        or "\\" in remote_path
    ):
        raise CharterError(f"the server listed an unsafe file path {remote_path!r}")
    return root.joinpath(*parts)
