"""How evenly kept-alive connections spread over `charter serve`'s worker processes.

    .venv/bin/python benchmarks/worker_spread.py [--runs 6] [--seconds 2] [ENV=VALUE ...]

Each run opens 8 kept-alive connections and reads versions for a few seconds; the table gives
the share of the server's CPU that its busiest worker used (0.5: even; 1.0: every connection
landed on one worker, which then has one core to itself). ``ENV=VALUE`` arguments go into the
server's environment (e.g. ``UV_TCP_SINGLE_ACCEPT=1``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import psutil
import seed
import servers
from loadgen import Job, LoadGenerator
from native_ops import operations

CONNECTIONS = 8


def worker_cpu(supervisor: int) -> dict[int, float]:
    """CPU seconds so far of each worker process (uvicorn spawns them by multiprocessing)."""
    workers = [
        p
        for p in psutil.Process(supervisor).children(recursive=True)
        if "spawn_main" in " ".join(p.cmdline())
    ]
    return {p.pid: p.cpu_times().user + p.cpu_times().system for p in workers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", nargs="*", help="ENV=VALUE for the server")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/charter-bench-spread"))
    parser.add_argument("--seed-cache", type=Path)
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = seed.Dataset()
    print(seed.prepare("charter", args.seed_cache or work / "seed-cache", work / "c", 10_000, data))
    port = servers.free_port()
    argv = [str(servers.BIN_DIR / "charter"), "serve", "--port", str(port)]
    argv += ["--data-dir", str(work / "c")]
    op = operations(data, 10_000, "spread")["get version"]
    with (
        LoadGenerator() as generator,
        servers.Server("charter", argv, port, "/health", work / "charter.log", 2, **env) as server,
    ):
        print("| run | busiest worker's share of the server's CPU |")
        print("| --- | --- |")
        for run in range(1, args.runs + 1):
            before = worker_cpu(server.pid)
            job = Job(servers.HOST, port, op.build(1000), CONNECTIONS, True, 10**7, args.seconds)
            generator.run(job)
            used = [cpu - before.get(pid, 0.0) for pid, cpu in worker_cpu(server.pid).items()]
            print(f"| {run} | {max(used) / sum(used):.2f} |")


if __name__ == "__main__":
    main()
