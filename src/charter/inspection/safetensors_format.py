"""safetensors: tensor names, dtypes, shapes and the parameter count, from the header alone.

The format is an 8-byte little-endian header length, a JSON header, then raw tensor bytes. The
header is checked against the file's real size before anything is allocated, so a header that
claims a terabyte of tensors is a clear failure, not an allocation. The format cannot carry code.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any, BinaryIO

from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import CANNOT_CARRY_CODE, FileReport

FORMAT = "safetensors"
ITEM_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "U16": 2,
    "I16": 2,
    "F16": 2,
    "BF16": 2,
    "U32": 4,
    "I32": 4,
    "F32": 4,
    "U64": 8,
    "I64": 8,
    "F64": 8,
}
MAX_LISTED = 1000  # tensors listed by name in the details; the counts cover them all


def looks_like(head: bytes, size: int) -> bool:
    """An 8-byte length that fits the file, followed by ``{``."""
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length <= size - 8 and head[8:9] == b"{"


def inspect(path: Path, limits: Limits) -> FileReport:
    size = path.stat().st_size
    with path.open("rb") as stream:
        header, length = read_header(stream, size, limits)
    tensors, total, metadata = _tensors(header, size - 8 - length)
    details: dict[str, Any] = {
        "tensor_count": len(tensors),
        "parameter_count": total,
        "tensors": tensors[:MAX_LISTED],
        "metadata": metadata,
    }
    return FileReport(FORMAT, CANNOT_CARRY_CODE, details=details)


def read_header(stream: BinaryIO, size: int, limits: Limits) -> tuple[dict[str, Any], int]:
    """The parsed JSON header and its length in bytes."""
    prefix = stream.read(8)
    if len(prefix) < 8:
        raise InspectionFailed("safetensors file is truncated: no 8-byte header length")
    (length,) = struct.unpack("<Q", prefix)
    if length > limits.max_header_bytes:
        raise InspectionFailed(
            f"safetensors header claims {length} bytes; the limit is {limits.max_header_bytes}"
        )
    if length > size - 8:
        raise InspectionFailed(
            f"safetensors header claims {length} bytes but the file has only {size - 8} after "
            "the length: truncated or corrupt"
        )
    raw = stream.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InspectionFailed(f"safetensors header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise InspectionFailed("safetensors header is not a JSON object")
    return header, int(length)


def _tensors(
    header: dict[str, Any], data_bytes: int
) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise InspectionFailed("safetensors __metadata__ must map strings to strings")
    tensors: list[dict[str, Any]] = []
    total = 0
    for name, entry in header.items():
        dtype, shape, begin, end = _entry(name, entry)
        if end > data_bytes:
            raise InspectionFailed(
                f"safetensors tensor {name!r} ends at byte {end} of the data but the file holds "
                f"only {data_bytes} bytes of data: truncated or corrupt"
            )
        count = math.prod(shape)
        if (end - begin) != count * ITEM_BYTES[dtype]:
            raise InspectionFailed(
                f"safetensors tensor {name!r}: {end - begin} bytes do not hold shape {shape} "
                f"of {dtype}"
            )
        total += count
        tensors.append({"name": name, "dtype": dtype, "shape": shape})
    tensors.sort(key=lambda t: str(t["name"]))
    return tensors, total, dict(metadata)


def _entry(name: str, entry: Any) -> tuple[str, list[int], int, int]:
    if not isinstance(entry, dict):
        raise InspectionFailed(f"safetensors tensor {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in ITEM_BYTES:
        raise InspectionFailed(f"safetensors tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InspectionFailed(f"safetensors tensor {name!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise InspectionFailed(f"safetensors tensor {name!r} has invalid data_offsets {offsets!r}")
    return str(dtype), list(shape), int(offsets[0]), int(offsets[1])
