"""Zip archives that carry pickles: PyTorch's ``torch.save`` format (``archive/data.pkl``,
``archive/data/0``, ``archive/version``) and ``.npz`` files.

The central directory is checked before a byte is decompressed: too many entries, too many
declared bytes, or a compressed entry that claims to expand by more than ``max_zip_ratio`` is a
zip bomb and fails the file. Python's zip reader never yields more than an entry's declared
size, so an entry that lies about its size cannot expand past the checks either.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from charter.inspection import pickle_format
from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import (
    CANNOT_CARRY_CODE,
    FILE_VERDICTS,
    NOT_SCANNED,
    FileReport,
    worst,
)

PYTORCH_ZIP = "pytorch_zip"
ZIP = "zip"
BOMB_FLOOR = 16 << 20  # entries below this size are never called bombs, whatever their ratio


def looks_like(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def inspect(path: Path, limits: Limits) -> FileReport:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InspectionFailed(f"corrupt zip archive: {exc}") from exc
    with archive:
        entries = archive.infolist()
        _check_bomb(entries, limits)
        fmt = PYTORCH_ZIP if any(_is_torch_pickle(e.filename) for e in entries) else ZIP
        reports = [
            (entry.filename, report)
            for entry in entries
            if (report := _entry_report(archive, entry, limits)) is not None
        ]
    return _combine(fmt, entries, reports, _torch_version(path, entries))


def _is_torch_pickle(name: str) -> bool:
    return name == "data.pkl" or name.endswith("/data.pkl")


def _check_bomb(entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(entries) > limits.max_zip_entries:
        raise InspectionFailed(
            f"zip archive has {len(entries)} entries; the limit is {limits.max_zip_entries}"
        )
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_zip_bytes:
        raise InspectionFailed(
            f"zip archive would expand to {declared} bytes; the limit is {limits.max_zip_bytes} "
            "(zip bomb?)"
        )
    for entry in entries:
        compressed = entry.compress_type != zipfile.ZIP_STORED
        ratio = entry.file_size / max(entry.compress_size, 1)
        if compressed and entry.file_size > BOMB_FLOOR and ratio > limits.max_zip_ratio:
            raise InspectionFailed(
                f"zip entry {entry.filename!r} expands {ratio:.0f}-fold to {entry.file_size} "
                f"bytes; the limit is {limits.max_zip_ratio}-fold (zip bomb)"
            )


def _entry_report(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limits: Limits
) -> FileReport | None:
    """The scan of one entry that can hold a pickle, or None for plain data."""
    name = entry.filename
    try:
        with archive.open(entry) as member:
            head = member.read(8)
        is_npy = name.endswith(".npy") or head.startswith(b"\x93NUMPY")
        if not (is_npy or name.endswith((".pkl", ".pickle")) or pickle_format.looks_like(head)):
            return None
        if entry.file_size > limits.max_pickle_bytes:
            raise InspectionFailed(
                f"zip entry {name!r} is {entry.file_size} bytes; the pickle limit is "
                f"{limits.max_pickle_bytes}"
            )
        with archive.open(entry) as member:
            data = io.BytesIO(member.read(limits.max_pickle_bytes + 1))
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
        # Includes a CRC mismatch, which is how a lying or corrupt entry shows itself.
        raise InspectionFailed(f"zip entry {name!r} cannot be read: {exc}") from exc
    if is_npy:
        return pickle_format.inspect_npy(data, limits)
    return pickle_format.scan_stream(data, pickle_format.PICKLE, limits)


def _torch_version(path: Path, entries: list[zipfile.ZipInfo]) -> str | None:
    for entry in entries:
        if (entry.filename == "version" or entry.filename.endswith("/version")) and (
            entry.file_size <= 64
        ):
            with zipfile.ZipFile(path) as archive:
                return archive.read(entry).decode("utf-8", errors="replace").strip()
    return None


def _combine(
    fmt: str,
    entries: list[zipfile.ZipInfo],
    reports: list[tuple[str, FileReport]],
    version: str | None,
) -> FileReport:
    details: dict[str, Any] = {
        "entries": len(entries),
        "uncompressed_bytes": sum(e.file_size for e in entries),
        "scanned": {name: r.verdict for name, r in reports},
    }
    if fmt == PYTORCH_ZIP:
        details["archive"] = next(
            (e.filename.rpartition("/")[0] for e in entries if _is_torch_pickle(e.filename)), ""
        )
        details["version"] = version
    if not reports:
        verdict = CANNOT_CARRY_CODE if fmt == PYTORCH_ZIP else NOT_SCANNED
        return FileReport(fmt, verdict, details=details)
    verdict = worst([r.verdict for _, r in reports])
    merged = FileReport(fmt, verdict, details=details)
    for _name, report in reports:
        merged.globals += [g for g in report.globals if g not in merged.globals]
        merged.dangerous += [g for g in report.dangerous if g not in merged.dangerous]
        merged.suspicious += [g for g in report.suspicious if g not in merged.suspicious]
    reasons = [f"{name}: {r.reason}" for name, r in reports if r.verdict == verdict and r.reason]
    merged.reason = "; ".join(reasons) or None
    assert verdict in FILE_VERDICTS
    return merged
