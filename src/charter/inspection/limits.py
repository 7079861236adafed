"""The bounds every inspection stays within, and the error that reports a file breaking them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MIB = 1 << 20


class InspectionFailed(Exception):
    """The file cannot be inspected; the message is the reason recorded on the version."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 8 << 30  # larger files are not inspected at all (verdict failed)
    max_header_bytes: int = 100 * MIB  # safetensors JSON header, GGUF metadata, MLmodel YAML
    max_onnx_bytes: int = 1 << 30  # ONNX is parsed whole (protobuf); external data never read
    max_pickle_bytes: int = 1 << 30  # bytes of pickle stream walked
    max_zip_entries: int = 100_000
    max_zip_bytes: int = 16 << 30  # sum of the declared uncompressed sizes of a zip's entries
    max_zip_ratio: int = 200  # compressed entries that claim more than this ratio are a bomb
    timeout_seconds: float = 60.0
    memory_bytes: int = 4 << 30

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        return cls(**data)
