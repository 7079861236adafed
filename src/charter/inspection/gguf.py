"""GGUF (llama.cpp): magic, version, tensor count and the key/value metadata of the header.

Read field by field with a cap on every length, so a header that claims huge strings or arrays
fails clearly instead of allocating. GGUF holds tensors and metadata only: it cannot carry code.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import CANNOT_CARRY_CODE, FileReport

FORMAT = "gguf"
MAGIC = b"GGUF"
MAX_STRING = 1 << 20
MAX_ARRAY = 1 << 24
MAX_KEYS = 100_000
MAX_LISTED = 16  # array items kept in the details
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q"}
_SCALARS.update({11: "<q", 12: "<d"})
STRING, ARRAY = 8, 9


class _Reader:
    def __init__(self, stream: BinaryIO, budget: int) -> None:
        self.stream = stream
        self.budget = budget

    def take(self, n: int) -> bytes:
        if n > self.budget:
            raise InspectionFailed("GGUF header is larger than the header limit")
        data = self.stream.read(n)
        if len(data) < n:
            raise InspectionFailed("GGUF file is truncated inside its header")
        self.budget -= n
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > MAX_STRING:
            raise InspectionFailed(f"GGUF header has a string of {length} bytes; corrupt")
        return self.take(length).decode("utf-8", errors="replace")


def looks_like(head: bytes) -> bool:
    return head.startswith(MAGIC)


def inspect(path: Path, limits: Limits) -> FileReport:
    with path.open("rb") as stream:
        reader = _Reader(stream, limits.max_header_bytes)
        if reader.take(4) != MAGIC:
            raise InspectionFailed("not a GGUF file: bad magic")
        version = reader.unpack("<I")
        if version not in (2, 3):
            raise InspectionFailed(f"GGUF version {version} is not supported")
        tensors, count = reader.unpack("<Q"), reader.unpack("<Q")
        if count > MAX_KEYS:
            raise InspectionFailed(f"GGUF header claims {count} metadata keys; corrupt")
        metadata = {}
        for _ in range(count):
            key = reader.string()
            metadata[key] = _value(reader, reader.unpack("<I"))
    details = {"version": version, "tensor_count": tensors, "metadata": metadata}
    return FileReport(FORMAT, CANNOT_CARRY_CODE, details=details)


def _value(reader: _Reader, kind: int) -> Any:
    if kind in _SCALARS:
        return reader.unpack(_SCALARS[kind])
    if kind == STRING:
        return reader.string()
    if kind == ARRAY:
        item_kind, length = reader.unpack("<I"), reader.unpack("<Q")
        if length > MAX_ARRAY or item_kind == ARRAY:
            raise InspectionFailed(f"GGUF header has an array of {length} items; corrupt")
        items = []
        for index in range(length):
            item = _value(reader, item_kind)  # read every item: the next key follows them
            if index < MAX_LISTED:
                items.append(item)
        return items if length <= MAX_LISTED else {"length": length, "first": items}
    raise InspectionFailed(f"GGUF header has a value of unknown type {kind}")
