"""Tables (Markdown, so they paste into BENCHMARKS.md as printed) and the issue's targets."""

from __future__ import annotations

import math
from collections.abc import Sequence

from measure import Cell, Stats

READ_GOOD, READ_LOW = 750.0, 500.0  # 5x MLflow's ~100-150 ops/s
WRITE_GOOD, WRITE_LOW = 440.0, 280.0  # 4x MLflow's 70-110 ops/s
BARE_SHARE = 0.70
SEARCH_P99_MS = {1: 50.0, 8: 200.0}
UPLOAD_SHARE_OF_DD = 0.70
DOWNLOAD_MB_S = 360.0  # 3x 120 MB/s
SERVER_RSS_MB = 400.0
TRANSFER_RSS_DELTA_MB = 100.0
MIB = 1 << 20


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def _text(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"
    return str(value)


def ratio(a: float, b: float) -> str:
    return "n/a" if _missing(a, b) else f"{a / b:.2f}"


def share(a: float, b: float) -> str:
    return "n/a" if _missing(a, b) else f"{100 * a / b:.0f}%"


def _missing(a: float, b: float) -> bool:
    return math.isnan(a) or math.isnan(b) or not b


def throughput_target(kind: str) -> str:
    if kind == "read":
        return f">= {READ_LOW:.0f}-{READ_GOOD:.0f}/s or >= 70% bare"
    if kind == "write":
        return f">= {WRITE_LOW:.0f}-{WRITE_GOOD:.0f}/s"
    return ""


def verdict(kind: str, stats: Stats, cell: Cell, bare: Stats | None, db_size: int) -> str:
    if kind == "floor":
        return ""
    if stats.error_count and stats.error_count * 100 > stats.requests:
        return "errors"
    if kind == "search":
        if db_size < 100_000:
            return "(100k only)"
        limit = SEARCH_P99_MS[cell.concurrency]
        return "met" if stats.p99_ms < limit else "missed"
    measured = _throughput_verdict(kind, stats.ops, bare.ops if bare else None)
    estimate = _throughput_verdict(kind, stats.idle_estimate, bare.idle_estimate if bare else None)
    return measured if estimate == measured else f"{measured}; idle est. {estimate}"


def _throughput_verdict(kind: str, ops: float, bare_ops: float | None) -> str:
    good, low = (READ_GOOD, READ_LOW) if kind == "read" else (WRITE_GOOD, WRITE_LOW)
    if ops >= good or (kind == "read" and bare_ops and ops >= BARE_SHARE * bare_ops):
        return "met"
    return "low end" if ops >= low else "missed"


def search_target(cell: Cell) -> str:
    return f"p99 < {SEARCH_P99_MS[cell.concurrency]:.0f} ms @100k"


def errors_text(stats: Stats) -> str:
    if not stats.error_count:
        return "0"
    kinds = ", ".join(f"{k} x{n}" for k, n in stats.errors.most_common())
    return f"{stats.error_count}/{stats.requests} ({kinds})"


def mb(n_bytes: float) -> float:
    return n_bytes / MIB


def cpu_text(stats: Stats) -> str:
    """Cores used by the generator, the server tree and everything else (noise), medians."""
    return f"{stats.gen_cpu:.2f}/{stats.server_cpu:.2f}/{stats.other_cpu:.2f}"
