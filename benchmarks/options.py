"""Command-line options shared by ``run.py`` (Charter alone) and ``mlflow_compare.py``."""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from measure import Plan


@dataclass(frozen=True)
class Options:
    work_dir: Path
    plan: Plan
    small: int
    large: int
    artifact_mib: int
    transfer_repeats: int
    sections: frozenset[str]
    keep: bool
    seed_cache: Path


def add_common(parser: argparse.ArgumentParser, sections: tuple[str, ...]) -> None:
    parser.add_argument(
        "--work-dir", type=Path, help="data, logs and results (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    parser.add_argument(
        "--seed-cache",
        type=Path,
        help="where seeded databases are kept for later runs (default: WORK_DIR/seed-cache)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one measured run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (medians quoted)")
    parser.add_argument("--small", type=int, default=10_000, help="versions seeded first")
    parser.add_argument("--large", type=int, default=100_000, help="versions seeded for search")
    parser.add_argument("--artifact-mib", type=int, default=1024, help="size of the file moved")
    parser.add_argument("--transfer-repeats", type=int, default=3)
    parser.add_argument(
        "--quiet-below",
        type=float,
        help="before each operation, wait until the rest of the machine uses fewer cores",
    )
    parser.add_argument("--quiet-wait", type=float, default=180.0, help="longest such wait, s")
    parser.add_argument(
        "--sections",
        default=",".join(sections),
        help=f"comma-separated subset of: {', '.join(sections)}",
    )


def options(args: argparse.Namespace, sections: tuple[str, ...]) -> Options:
    chosen = frozenset(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = chosen - set(sections)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="charter-bench-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    return Options(
        work_dir=work_dir.resolve(),
        plan=Plan(
            seconds=args.seconds,
            repeats=args.repeats,
            quiet_below=args.quiet_below,
            quiet_wait=args.quiet_wait,
        ),
        small=args.small,
        large=args.large,
        artifact_mib=args.artifact_mib,
        transfer_repeats=args.transfer_repeats,
        sections=chosen,
        keep=args.keep,
        seed_cache=(args.seed_cache or work_dir / "seed-cache").resolve(),
    )


class Logger:
    """Progress lines on stdout and in ``path``, with the time since the start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.began = time.monotonic()

    def __call__(self, line: str) -> None:
        stamped = f"[{time.monotonic() - self.began:7.1f}s] {line}"
        print(stamped, flush=True)
        with open(self.path, "a") as log:
            log.write(stamped + "\n")
