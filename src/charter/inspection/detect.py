"""Recognise a file's format from its name and first bytes, and inspect it accordingly.

``inspect_file`` is what the sandboxed child process runs for each file. It never raises for a
bad file: a corrupt, truncated, oversized or hostile file becomes a ``failed`` report naming why.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from charter.inspection import (
    gguf,
    mlmodel,
    onnx_format,
    pickle_format,
    safetensors_format,
    zip_format,
)
from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import NOT_SCANNED, FileReport, failed

PICKLE_SUFFIXES = {".pkl": pickle_format.PICKLE, ".pickle": pickle_format.PICKLE}
PICKLE_SUFFIXES.update({".joblib": pickle_format.JOBLIB})
TORCH_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".ckpt"})
UNKNOWN = "unknown"
HEAD_BYTES = 16


def detect(name: str, head: bytes, size: int) -> str:
    """The format to inspect the file as; content wins over the name where it can tell."""
    base = PurePosixPath(name).name
    suffix = PurePosixPath(name).suffix.lower()
    if base == "MLmodel":
        return mlmodel.FORMAT
    if base == "requirements.txt":
        return mlmodel.REQUIREMENTS
    if zip_format.looks_like(head):
        return zip_format.PYTORCH_ZIP if suffix in TORCH_SUFFIXES else zip_format.ZIP
    if head.startswith(b"\x93NUMPY"):
        return pickle_format.NUMPY
    if gguf.looks_like(head):
        return gguf.FORMAT
    if suffix == ".safetensors" or safetensors_format.looks_like(head, size):
        return safetensors_format.FORMAT
    if suffix == ".onnx":
        return onnx_format.FORMAT
    if suffix in TORCH_SUFFIXES and (pickle_format.looks_like(head) or suffix != ".bin"):
        return pickle_format.PYTORCH_LEGACY
    if suffix in PICKLE_SUFFIXES:
        return PICKLE_SUFFIXES[suffix]
    if suffix == ".npy":
        return pickle_format.NUMPY
    if pickle_format.looks_like(head):
        return pickle_format.PICKLE  # a pickle under another name is still a pickle
    return UNKNOWN


def _npy(path: Path, limits: Limits) -> FileReport:
    with path.open("rb") as data:
        return pickle_format.inspect_npy(data, limits)


INSPECTORS: dict[str, Callable[[Path, Limits], FileReport]] = {
    mlmodel.FORMAT: mlmodel.inspect,
    mlmodel.REQUIREMENTS: mlmodel.inspect_requirements,
    zip_format.ZIP: zip_format.inspect,
    zip_format.PYTORCH_ZIP: zip_format.inspect,
    pickle_format.NUMPY: _npy,
    gguf.FORMAT: gguf.inspect,
    safetensors_format.FORMAT: safetensors_format.inspect,
    onnx_format.FORMAT: onnx_format.inspect,
    pickle_format.PYTORCH_LEGACY: lambda p, lim: pickle_format.inspect_pickle(
        p, pickle_format.PYTORCH_LEGACY, lim
    ),
    pickle_format.PICKLE: lambda p, lim: pickle_format.inspect_pickle(p, pickle_format.PICKLE, lim),
    pickle_format.JOBLIB: lambda p, lim: pickle_format.inspect_pickle(p, pickle_format.JOBLIB, lim),
}


def detect_file(path: Path, name: str) -> str:
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    return detect(name, head, path.stat().st_size)


def inspect_file(path: Path, name: str, limits: Limits) -> FileReport:
    """Inspect one file (stored at ``path``, named ``name`` in its version)."""
    fmt = detect_file(path, name)
    size = path.stat().st_size
    if fmt == UNKNOWN:
        return FileReport(UNKNOWN, NOT_SCANNED, details={"size": size})
    if size > limits.max_file_bytes:
        return failed(fmt, f"file is {size} bytes; inspection stops at {limits.max_file_bytes}")
    try:
        return INSPECTORS[fmt](path, limits)
    except InspectionFailed as exc:
        return failed(fmt, str(exc))
    except (MemoryError, RecursionError) as exc:
        return failed(fmt, f"inspection ran out of resources: {type(exc).__name__}")
    except Exception as exc:  # a parser's own error on hostile input: a reason, not a crash
        return failed(fmt, f"{fmt} file cannot be inspected: {type(exc).__name__}: {exc}")
