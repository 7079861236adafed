"""What a scan can say about a file and about a version, and how verdicts combine.

A scanner is a deny-list with known bypasses, so a scanned pickle is never called "safe": the
best it can get is ``no_known_dangerous_pattern``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DANGEROUS = "dangerous"  # a global known to run code or touch the system (picklescan)
FAILED = "failed"  # the file could not be inspected: corrupt, truncated, too big, too slow
SUSPICIOUS = "suspicious"  # imports a global outside the allow-list of known-safe ones
NO_KNOWN_DANGEROUS_PATTERN = "no_known_dangerous_pattern"  # a code-carrying file, scanned clean
NOT_SCANNED = "not_scanned"  # a file of no known model format (text, JSON, ...)
CANNOT_CARRY_CODE = "cannot_carry_code"  # safetensors, ONNX without custom ops, GGUF, ...
PENDING = "pending"  # version only: a scan is queued or running

# Worst first: a version's verdict is the worst of its files'.
FILE_VERDICTS = (
    DANGEROUS,
    FAILED,
    SUSPICIOUS,
    NO_KNOWN_DANGEROUS_PATTERN,
    NOT_SCANNED,
    CANNOT_CARRY_CODE,
)
VERSION_VERDICTS = (PENDING, *FILE_VERDICTS)


def worst(verdicts: list[str]) -> str:
    """The worst of ``verdicts``; ``not_scanned`` for none (nothing to scan)."""
    if not verdicts:
        return NOT_SCANNED
    return min(verdicts, key=FILE_VERDICTS.index)


@dataclass
class FileReport:
    """What inspecting one file found: its format, its metadata and the scan's verdict."""

    format: str
    verdict: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    globals: list[str] = field(default_factory=list)  # every global a pickle imports
    dangerous: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "verdict": self.verdict,
            "reason": self.reason,
            "details": self.details,
            "globals": self.globals,
            "dangerous": self.dangerous,
            "suspicious": self.suspicious,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileReport:
        return cls(
            format=str(data["format"]),
            verdict=str(data["verdict"]),
            reason=data.get("reason"),
            details=dict(data.get("details") or {}),
            globals=[str(g) for g in data.get("globals") or []],
            dangerous=[str(g) for g in data.get("dangerous") or []],
            suspicious=[str(g) for g in data.get("suspicious") or []],
        )


def failed(fmt: str, reason: str, **details: Any) -> FileReport:
    return FileReport(format=fmt, verdict=FAILED, reason=reason, details=dict(details))
