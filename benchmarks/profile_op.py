"""Where a Charter operation spends its server CPU: py-spy on every worker under load.

    .venv/bin/pip install py-spy        # not a project dependency
    .venv/bin/python benchmarks/profile_op.py --op "get version" [--seconds 15] [--versions N]

Samples the whole ``charter serve`` tree (``--subprocesses``) while the load generator runs
the operation (at concurrency 8 on kept-alive connections unless ``--concurrency`` and
``--new-conn`` say otherwise), then prints the frames that hold the most samples: inclusive
(the frame or anything it calls) and self (the frame itself).
``--auth`` serves with authentication on (requests carry an admin's token). Without ``--gil``
a thread waiting for the GIL counts as busy in the frame that waits (after a SQLite call, say),
which shows contention; with it, only the thread that holds the GIL is sampled.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import mlflow_ops
import seed
import servers
from loadgen import Job, LoadGenerator
from measure import percentile
from native_ops import operations
from options import Logger

SKIP = ("process ", "thread ")
LINE = re.compile(r":\d+\)")


def hotspots(raw: Path, top: int) -> str:
    """Inclusive and self shares of the non-idle samples in py-spy's raw (collapsed) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():  # a line cut short when py-spy stopped
            continue
        frames = [LINE.sub(")", f) for f in stack.split(";") if not f.startswith(SKIP)]
        if not frames:
            continue
        n = int(count)
        busy += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{busy} busy samples", "", "inclusive:"]
    lines += [f"  {100 * n / busy:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"  {100 * n / busy:5.1f}%  {f}" for f, n in own.most_common(top // 2)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--op", default="get version")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/charter-bench-profile"))
    parser.add_argument("--seed-cache", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--auth", action="store_true", help="serve with CHARTER_AUTH=on")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--new-conn", action="store_true", help="a new connection per request (not kept alive)"
    )
    parser.add_argument(
        "--mlflow", action="store_true", help="--op names an operation of MLflow's API"
    )
    parser.add_argument(
        "--gil", action="store_true", help="sample only the threads that hold the GIL"
    )
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(servers.BIN_DIR / "py-spy")
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = Logger(work / "profile.log")
    data = seed.Dataset()
    cache = args.seed_cache or work / "seed-cache"
    log(seed.prepare("charter", cache, work / "charter", args.versions, data))
    data_dir = work / "charter"
    token = servers.create_token(data_dir) if args.auth else None
    if args.mlflow:
        op = mlflow_ops.operations(data, args.versions, "prof")[args.op]
    else:
        op = operations(data, args.versions, "prof", token=token)[args.op]
    raw = work / f"{re.sub(r'[^a-z0-9]+', '_', args.op.lower())}.txt"
    with (
        LoadGenerator() as generator,
        servers.charter(
            data_dir, servers.free_port(), work / "charter.log", auth=args.auth
        ) as server,
    ):
        keep_alive = not args.new_conn
        job = Job(servers.HOST, server.port, op.build(1000), 8, keep_alive, 10**7, 3.0)
        generator.run(job)  # warm-up
        argv = [spy, "record", "--subprocesses", "--nonblocking", "-r", "200"]
        argv += ["-d", str(args.seconds), "-f", "raw", "-o", str(raw), "--pid", str(server.pid)]
        argv += ["--gil"] if args.gil else []
        with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as rec:
            result = generator.run(
                Job(
                    servers.HOST,
                    server.port,
                    op.build(20_000 if op.kind == "write" else 1000),
                    args.concurrency,
                    keep_alive,
                    10**7,
                    args.seconds + 1,
                )
            )
            rec.wait(args.seconds + 60)
        log(
            f"{args.op}: {result.ops_per_second:.0f} ops/s, p50 "
            f"{percentile(result.latencies, 0.5) * 1000:.1f} ms, errors {result.error_count}, "
            f"worker restarts {server.restarts()}"
        )
    print(hotspots(raw, args.top))


if __name__ == "__main__":
    main()
