"""Response shapes of the inspection area (scans, formats, diffs) in the native API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from charter.registry.schemas import Timestamp


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# One scan of a version: queued, running, done or failed (with why).
class ScanJobRead(_Read):
    id: int
    status: str
    attempts: int
    claimed_by: str | None
    error: str | None
    requested_by: str
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


# What the scan found in one file of a version.
class FileScanRead(_Read):
    path: str
    sha256: str
    size: int
    format: str
    verdict: str
    reason: str | None
    globals: list[str]
    dangerous: list[str]
    suspicious: list[str]
    scanned_at: Timestamp


# A version's security verdict (the worst of its files'), its latest scan and every file's result.
class ScanRead(BaseModel):
    model: str
    version: int
    verdict: str
    reason: str | None
    scanned_at: Timestamp | None
    job: ScanJobRead | None
    files: list[FileScanRead]


# One file's recognised format and the metadata read from it.
class FileFormatRead(_Read):
    path: str
    sha256: str
    size: int
    format: str
    verdict: str
    reason: str | None
    details: dict[str, Any]


# A version's signature (from MLmodel or ONNX) and the format metadata of its files.
class FormatRead(BaseModel):
    model: str
    version: int
    state: str  # pending | done | not_scanned
    signature: dict[str, Any] | None
    files: list[FileFormatRead]


# Keys present in only one side, and keys whose values differ.
class MappingDiff(BaseModel):
    added: dict[str, Any]
    removed: dict[str, Any]
    changed: dict[str, dict[str, Any]]


# Signature entries (inputs, outputs, params) added, removed or changed, by name.
class SignatureDiff(BaseModel):
    a_available: bool
    b_available: bool
    inputs: MappingDiff
    outputs: MappingDiff
    params: MappingDiff


# Files by path: added, removed, changed (a different sha256), and how many are identical.
class FilesDiff(BaseModel):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    unchanged: int


# What changed from version a to version b.
class VersionDiffRead(BaseModel):
    a: str
    b: str
    metadata: MappingDiff
    tags: MappingDiff
    metrics: MappingDiff
    signature: SignatureDiff
    files: FilesDiff
    lineage: MappingDiff
    scan: MappingDiff
