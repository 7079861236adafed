"""A cross-check of the generator's ceiling with ``wrk`` (C, Debian package), when installed."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess


def available() -> bool:
    return shutil.which("wrk") is not None


def rate(host: str, port: int, concurrency: int, keep_alive: bool, seconds: float) -> float:
    """Requests per second that ``wrk`` reaches on ``GET /``; NaN when any request failed."""
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s"]
    if not keep_alive:
        argv += ["-H", "Connection: close"]  # wrk then reconnects for every request
    done = subprocess.run(
        [*argv, f"http://{host}:{port}/"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    if "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        return float("nan")
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    return float(match.group(1)) if match else float("nan")


def median_rate(
    host: str, port: int, concurrency: int, keep_alive: bool, seconds: float, repeats: int
) -> float:
    return statistics.median(
        rate(host, port, concurrency, keep_alive, seconds) for _ in range(repeats)
    )
