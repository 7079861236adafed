"""HTTP byte transfer helpers: Range requests and tar streams over blobs."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator

from charter.artifacts.service import FileDownload
from charter.errors import InvalidArgument

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
TAR_BLOCK = 512


class RangeNotSatisfiableError(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range of a ``Range`` header as (start, end exclusive), or None for all.

    Multiple ranges are not supported; a client asking for them gets the whole file (allowed
    by RFC 9110).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        if "," in header:
            return None
        raise InvalidArgument(f"Range header {header!r} is malformed", field="Range")
    first, last = match.groups()
    if first == "" and last == "":
        raise InvalidArgument(f"Range header {header!r} is malformed", field="Range")
    if first == "":
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiableError
        return max(0, size - length), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or end <= start:
        raise RangeNotSatisfiableError
    return start, end


def tar_stream(files: list[FileDownload]) -> Iterator[bytes]:
    """A POSIX tar of the files, produced while the blobs are read: memory stays flat."""
    for file in files:
        info = tarfile.TarInfo(name=file.path)
        info.size = file.size
        info.mode = 0o644
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        yield from file.read()
        remainder = file.size % TAR_BLOCK
        if remainder:
            yield b"\0" * (TAR_BLOCK - remainder)
    yield b"\0" * (TAR_BLOCK * 2)
