"""Inspect a file in a child process, under a time limit and a memory limit.

The parent (a scan worker) starts ``python -m charter.inspection.sandbox`` with the request on
stdin and reads one JSON report on stdout. A file that makes a parser loop, recurse or allocate
without end kills only the child; the parent records why and carries on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from charter.inspection.limits import Limits
from charter.inspection.verdicts import FileReport, failed

POLL_SECONDS = 0.2


class Interrupted(Exception):
    """The worker is stopping: the inspection was abandoned, not judged."""


def run(path: Path, name: str, limits: Limits, stop: threading.Event | None = None) -> FileReport:
    """The child's report on ``path``, or a ``failed`` report saying why there is none.

    Raises Interrupted (after killing the child) when ``stop`` is set meanwhile.
    """
    if stop is not None and stop.is_set():
        raise Interrupted(name)
    request = json.dumps({"path": str(path), "name": name, "limits": limits.as_dict()})
    child = subprocess.Popen(
        [sys.executable, "-m", "charter.inspection.sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + limits.timeout_seconds
    pending: bytes | None = request.encode()
    while True:
        try:
            wait = max(min(POLL_SECONDS, deadline - time.monotonic()), 0.001)
            out, err = child.communicate(pending, timeout=wait)
            break
        except subprocess.TimeoutExpired:
            pending = None  # communicate() sent the request already
            if stop is not None and stop.is_set():
                _kill(child)
                raise Interrupted(name) from None
            if time.monotonic() >= deadline:
                _kill(child)
                return failed("unknown", f"inspection timed out after {limits.timeout_seconds:g} s")
    if child.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        why = "out of memory or killed" if child.returncode < 0 else tail[0][:500]
        return failed("unknown", f"inspection process failed (exit {child.returncode}): {why}")
    try:
        return FileReport.from_dict(json.loads(out))
    except (ValueError, KeyError, TypeError) as exc:
        return failed("unknown", f"inspection process answered nonsense: {exc}")


def _kill(child: subprocess.Popen[bytes]) -> None:
    child.kill()
    child.communicate()


def _limit_resources(limits: Limits) -> None:
    import resource

    cpu = int(limits.timeout_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    request: dict[str, Any] = json.loads(sys.stdin.read())
    limits = Limits.from_dict(request["limits"])
    _limit_resources(limits)
    from charter.inspection.detect import inspect_file

    report = inspect_file(Path(request["path"]), str(request["name"]), limits)
    sys.stdout.write(json.dumps(report.as_dict(), default=str))


if __name__ == "__main__":
    main()
