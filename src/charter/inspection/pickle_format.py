"""Pickles (``.pkl``, ``.joblib``, legacy PyTorch files, ``.npy`` with object arrays).

Two readers, neither of which unpickles: picklescan (a maintained deny-list scanner) names the
dangerous globals, and our own walk of the opcodes with ``pickletools.genops`` records every
global the pickle imports, so that anything outside the allow-list is ``suspicious``. A clean
file is never called safe: its verdict is ``no_known_dangerous_pattern``.
"""

from __future__ import annotations

import io
import pickletools
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from charter.inspection import joblib_arrays
from charter.inspection.allowlist import allowed
from charter.inspection.limits import InspectionFailed, Limits
from charter.inspection.verdicts import (
    CANNOT_CARRY_CODE,
    DANGEROUS,
    FAILED,
    NO_KNOWN_DANGEROUS_PATTERN,
    SUSPICIOUS,
    FileReport,
)

PICKLE = "pickle"
JOBLIB = "joblib"
PYTORCH_LEGACY = "pytorch_legacy"
NUMPY = "numpy"
STRING_OPS = frozenset(
    {"SHORT_BINUNICODE", "UNICODE", "BINUNICODE", "BINUNICODE8", "STRING", "BINSTRING"}
    | {"SHORT_BINSTRING"}
)
MEMO_OPS = frozenset({"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"})
GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
LEGACY_TORCH_PICKLES = 5  # magic, protocol, sys info, the object, storage keys; then raw data


def looks_like(head: bytes) -> bool:
    """Protocol 2+ pickles start with PROTO; 0 and 1 are only recognised by extension."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


@dataclass
class Walk:
    """What the opcode walk saw: globals in order of first use, and where parsing stopped."""

    globals: list[tuple[str, str]] = field(default_factory=list)  # (module, name)
    pickles: int = 0
    error: str | None = None
    error_at: int | None = None


class _Bounded(io.RawIOBase):
    """A seekable view of a stream that refuses to read past ``limit`` bytes from its start."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream, self.limit, self.origin = stream, limit, stream.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _check(self, data: bytes) -> bytes:
        if self.stream.tell() - self.origin > self.limit:
            raise InspectionFailed(f"pickle stream is longer than the limit of {self.limit} bytes")
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit + 1 - (self.stream.tell() - self.origin)
        return self._check(self.stream.read(max(size, 0)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._check(self.stream.readline(size if size is not None else -1))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.stream.seek(offset, whence)

    def skip(self, count: int) -> None:
        """Step over raw data without reading it; it does not count against the limit."""
        self.origin += count
        self.stream.seek(count, io.SEEK_CUR)

    def tell(self) -> int:
        return self.stream.tell()


def walk(
    stream: BinaryIO, limit: int, max_pickles: int | None = None, *, joblib: bool = False
) -> Walk:
    """Every global imported by the pickles in ``stream``, one after another, without loading.

    With ``joblib``, the raw array data that joblib writes between opcodes is stepped over.
    """
    bounded = _Bounded(stream, limit)
    result = Walk()
    seen: set[tuple[str, str]] = set()
    while max_pickles is None or result.pickles < max_pickles:
        start = stream.tell()
        if not stream.read(1):
            break
        stream.seek(start)
        found: list[tuple[str, str]] = []
        try:
            _globals_of_one(bounded, found, joblib_arrays.Tracker() if joblib else None)
        except InspectionFailed:
            raise
        except Exception as exc:  # genops raises ValueError and others on a malformed stream
            result.error, result.error_at = str(exc) or type(exc).__name__, stream.tell()
        finally:
            # What a broken pickle imported before the break counts: a loader runs it too.
            for name in found:
                if name not in seen:
                    seen.add(name)
                    result.globals.append(name)
        if result.error is not None:
            break
        result.pickles += 1
    return result


def _globals_of_one(
    stream: _Bounded, found: list[tuple[str, str]], tracker: joblib_arrays.Tracker | None = None
) -> None:
    """Append the globals of one pickle to ``found``, up to its STOP (genops stops there)."""
    memo: dict[int, str | None] = {}
    recent: deque[tuple[str, Any]] = deque(maxlen=2)  # the last two value-pushing opcodes
    while True:
        skip = None
        for opcode, arg, _ in pickletools.genops(cast(IO[bytes], stream)):
            _note(opcode, arg, memo, recent, found)
            if tracker is not None and (skip := tracker.feed(opcode.name, arg)) is not None:
                break
        if skip is None:
            return  # genops ended at STOP
        if skip.nested_pickle:
            _globals_of_one(stream, found)  # joblib pickles object arrays with plain pickle
            continue
        padding = stream.read(1)[0] if skip.padded else 0
        stream.skip(padding + skip.raw)


def _note(
    opcode: pickletools.OpcodeInfo,
    arg: Any,
    memo: dict[int, str | None],
    recent: deque[tuple[str, Any]],
    found: list[tuple[str, str]],
) -> None:
    name = opcode.name
    if name in MEMO_OPS:
        key = len(memo) if name == "MEMOIZE" else int(cast(int, arg))
        memo[key] = recent[-1][1] if recent and recent[-1][0] == "str" else None
        return
    if name in ("GLOBAL", "INST"):
        module, _, attribute = str(arg).partition(" ")
        found.append((module, attribute))
    elif name == "STACK_GLOBAL":
        module, attribute = (
            [value if kind == "str" and value else "unknown" for kind, value in recent]
            if len(recent) == 2
            else ["unknown", "unknown"]
        )
        found.append((module, attribute))
    if name in STRING_OPS:
        recent.append(("str", str(arg)))
    elif name in GET_OPS:
        value = memo.get(int(cast(int, arg)))
        recent.append(("str", value) if value is not None else ("other", None))
    elif opcode.stack_after:
        recent.append(("other", None))


def scan_stream(
    data: BinaryIO, fmt: str, limits: Limits, *, max_pickles: int | None = None
) -> FileReport:
    """Scan a seekable pickle stream with picklescan and our walk; never unpickle."""
    from picklescan.scanner import (  # type: ignore[import-untyped]  # no type hints shipped
        SafetyLevel,
        scan_pickle_bytes,
    )

    start = data.tell()
    walked = walk(data, limits.max_pickle_bytes, max_pickles, joblib=fmt == JOBLIB)
    data.seek(start)
    if walked.pickles == 0 and walked.error is not None and not walked.globals:
        return FileReport(
            fmt, FAILED, reason=f"not a readable pickle: {walked.error} at byte {walked.error_at}"
        )
    scanned = scan_pickle_bytes(
        _Bounded(data, limits.max_pickle_bytes),
        fmt,
        multiple_pickles=max_pickles != 1,
    )
    # picklescan judges what it read itself, and every global our walk found (it may have read
    # further: past joblib's arrays, past a parse error that stopped picklescan).
    judged = [*scanned.globals, *_judge(walked.globals).globals]
    dangerous = sorted(
        {f"{g.module}.{g.name}" for g in judged if g.safety is SafetyLevel.Dangerous}
    )
    every = list(
        dict.fromkeys(
            [*(f"{m}.{n}" for m, n in walked.globals), *(f"{g.module}.{g.name}" for g in judged)]
        )
    )
    suspicious = [g for g in every if g not in dangerous and not allowed(g)]
    details: dict[str, Any] = {"pickles": walked.pickles, "scanner": "picklescan"}
    report = FileReport(fmt, NO_KNOWN_DANGEROUS_PATTERN, details=details, globals=every)
    report.dangerous, report.suspicious = dangerous, suspicious
    incomplete = (
        f"the pickle could not be parsed past byte {walked.error_at} ({walked.error}); "
        "what follows was not scanned"
        if walked.error is not None and walked.pickles == 0
        else None
    )
    if dangerous:
        report.verdict = DANGEROUS
        report.reason = f"imports dangerous globals: {', '.join(dangerous)}"
    elif incomplete is not None:
        report.verdict, report.reason = FAILED, incomplete
    elif suspicious:
        report.verdict = SUSPICIOUS
        report.reason = f"imports globals outside the allow-list: {', '.join(suspicious)}"
    else:
        report.reason = "no known dangerous pattern (a scan cannot prove a pickle safe)"
    return report


def _judge(pairs: list[tuple[str, str]]) -> Any:
    """picklescan's verdict on a list of globals: a synthetic pickle that only imports them."""
    from picklescan.scanner import scan_pickle_bytes

    ops = b"".join(
        b"c" + module.encode() + b"\n" + name.encode() + b"\n0"
        for module, name in pairs
        if not any(c in module + name for c in "\n\r ")
    )
    return scan_pickle_bytes(io.BytesIO(b"\x80\x02" + ops + b"N."), "globals")


def inspect_pickle(path: Path, fmt: str, limits: Limits) -> FileReport:
    with path.open("rb") as data:
        head = data.read(2)
        data.seek(0)
        if fmt == JOBLIB and head[:1] in (b"\x78", b"\x1f", b"\xfd", b"\x04", b"B"):
            # zlib, gzip, xz, lz4, bz2: joblib's compressed files hold the pickle compressed
            return FileReport(
                fmt, FAILED, reason="compressed joblib files are not scanned: save uncompressed"
            )
        max_pickles = LEGACY_TORCH_PICKLES if fmt == PYTORCH_LEGACY else None
        return scan_stream(data, fmt, limits, max_pickles=max_pickles)


def inspect_npy(data: BinaryIO, limits: Limits) -> FileReport:
    """An ``.npy`` array: plain numbers cannot carry code; an object array is a pickle."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(data)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(data)
        else:
            shape, fortran, dtype = npy.read_array_header_2_0(data)
    except (ValueError, SyntaxError, OSError, EOFError) as exc:
        raise InspectionFailed(f"not a readable .npy file: {exc}") from exc
    details = {"shape": list(shape), "dtype": str(dtype), "fortran_order": bool(fortran)}
    if not dtype.hasobject:
        return FileReport(NUMPY, CANNOT_CARRY_CODE, details=details)
    report = scan_stream(data, NUMPY, limits)
    report.details = {**details, **report.details, "object_array": True}
    return report
