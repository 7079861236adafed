"""Inspect a file in a child process, under a time limit and a memory limit.

The parent (a scan worker) starts ``python -m charter.inspection.sandbox`` with the request on
stdin and reads one JSON report on stdout. A file that makes a parser loop, recurse or allocate
without end kills only the child; the parent records why and carries on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from charter.inspection.limits import Limits
from charter.inspection.verdicts import FileReport, failed


def run(path: Path, name: str, limits: Limits) -> FileReport:
    """The child's report on ``path``, or a ``failed`` report saying why there is none."""
    request = json.dumps({"path": str(path), "name": name, "limits": limits.as_dict()})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "charter.inspection.sandbox"],
            input=request.encode(),
            capture_output=True,
            timeout=limits.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # subprocess.run killed the child before raising.
        return failed("unknown", f"inspection timed out after {limits.timeout_seconds:g} s")
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        why = "out of memory or killed" if done.returncode < 0 else tail[0][:500]
        return failed("unknown", f"inspection process failed (exit {done.returncode}): {why}")
    try:
        return FileReport.from_dict(json.loads(done.stdout))
    except (ValueError, KeyError, TypeError) as exc:
        return failed("unknown", f"inspection process answered nonsense: {exc}")


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
