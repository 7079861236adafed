"""Charter's own benchmark (``make bench``): API throughput and latency, search, transfers.

    .venv/bin/python benchmarks/run.py [--sections ceiling,api,search,transfer] [--artifact-mib N]
    .venv/bin/python benchmarks/run.py --compare-mlflow [...]   # side by side with MLflow
    .venv/bin/python benchmarks/run.py --sections api --auth both   # auth + audit on vs off

Prints Markdown tables (and writes them to WORK_DIR/results.md). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import psutil
import seed
import servers
import wrk
from loadgen import Job, LoadGenerator
from measure import CELLS, Cell, Runner, Stats, Target
from native_ops import bare_operation, operations, setup_requests
from options import Logger, Options, add_common, options
from report import cpu_text, errors_text, search_target, share, table, throughput_target, verdict
from rss import RssSampler
from seed import Dataset
from transfer_bench import TransferFigures, charter_transfers, transfer_table

SECTIONS = ("ceiling", "api", "search", "transfer")
READS = ("GET /health (no DB)", "get version", "get by alias")
WRITES = ("create model", "create version", "set alias")
SEARCHES = ("search: model name", "search: tag 0.1%", "search: tag 5%")


AUTH_MODES = {"off": (False,), "on": (True,), "both": (False, True)}


class CoreBench:
    def __init__(
        self, opts: Options, runner: Runner, log: Logger, auth: tuple[bool, ...] = (False,)
    ) -> None:
        self.opts = opts
        self.auth = auth  # run the API section with CHARTER_AUTH off, on, or both in turn
        self.by_auth: dict[tuple[str, Cell, bool], Stats] = {}
        self.runner = runner
        self.log = log
        self.data = Dataset()
        self.prefix = f"bm{uuid.uuid4().hex[:6]}"
        self.bare: dict[Cell, Stats] = {}
        self.wrk: dict[Cell, float] = {}
        self.dd: list[float] = []
        self.rows: list[list[object]] = []
        self.transfers: TransferFigures | None = None
        self.rss_peaks: dict[str, int] = {}
        self.samples: dict[str, str] = {}  # operation -> its first error

    def seeded_dir(self, name: str, total: int) -> Path:
        target = self.opts.work_dir / name
        self.log(f"preparing {target} with {total:,} seeded versions")
        how = seed.prepare("charter", self.opts.seed_cache, target, total, self.data)
        self.log(f"  {how}")
        return target

    def server(self, data_dir: Path, auth: bool = False) -> servers.Server:
        log = self.opts.work_dir / "logs" / "charter.log"
        return servers.charter(data_dir, servers.free_port(), log, auth=auth)

    def ceiling(self) -> None:
        from transfer import disk_write_ceiling

        self.dd = [disk_write_ceiling(self.opts.work_dir) for _ in range(self.opts.plan.repeats)]
        self.log(f"dd sequential write: {', '.join(f'{v:.0f}' for v in self.dd)} MB/s")
        log = self.opts.work_dir / "logs" / "bare.log"
        plan = self.opts.plan
        with servers.bare(servers.free_port(), log, workers=2) as bare:
            target = Target("bare", bare, bare_operation())
            stats = self.runner.measure([target])
            if wrk.available():
                for cell in plan.cells:
                    self.wrk[cell] = wrk.median_rate(
                        servers.HOST, bare.port, cell.concurrency, cell.keep_alive,
                        plan.seconds, plan.repeats,
                    )  # fmt: skip
                    self.log(f"  wrk c={cell.concurrency} {cell.mode}: {self.wrk[cell]:.0f}/s")
        self.bare = {cell: stats[("bare", cell)] for cell in plan.cells}

    def measure(
        self,
        servers_by_auth: dict[bool, tuple[servers.Server, str | None]],
        names: tuple[str, ...],
        db_size: int,
    ) -> None:
        """Each operation on each server (auth off, on, or both: interleaved in one run)."""
        ops = {
            auth: operations(self.data, db_size, self.prefix, token=token)
            for auth, (_, token) in servers_by_auth.items()
        }
        for name in names:
            targets = [
                Target(f"charter{' [auth]' if auth else ''}", server, ops[auth][name])
                for auth, (server, _) in servers_by_auth.items()
            ]
            self.log(f"{name} ({db_size:,} versions)")
            stats = self.runner.measure(targets)
            for auth, target in zip(servers_by_auth, targets, strict=True):
                label = f"{name} [auth on]" if auth else name
                for cell in self.opts.plan.cells:
                    cell_stats = stats[(target.label, cell)]
                    self.by_auth[(name, cell, auth)] = cell_stats
                    kind = target.operation.kind
                    self.rows.append(self.row(kind, label, db_size, cell, cell_stats))
                    if cell_stats.error_samples:
                        self.samples.setdefault(label, cell_stats.error_samples[0])

    def row(self, kind: str, name: str, db_size: int, cell: Cell, stats: Stats) -> list[object]:
        bare = self.bare.get(cell)
        target = search_target(cell) if kind == "search" else throughput_target(kind)
        return [
            name,
            f"{db_size // 1000}k",
            cell.concurrency,
            cell.mode,
            stats.ops,
            stats.p50_ms,
            stats.p99_ms,
            errors_text(stats),
            stats.restarts,
            share(stats.ops, bare.ops) if bare else "n/a",
            stats.cpu_ms,
            stats.idle_estimate,
            cpu_text(stats),
            target,
            verdict(kind, stats, cell, bare, db_size),
        ]

    def api_and_transfers(self) -> None:
        with ExitStack() as stack:
            running: dict[bool, tuple[servers.Server, str | None]] = {}
            samplers: dict[bool, RssSampler] = {}
            for auth in self.auth:
                # Each mode on its own copy of the seeded data: the writes of one do not count
                # against the other.
                data_dir = self.seeded_dir("charter-auth" if auth else "charter", self.opts.small)
                # With auth on, every request carries an admin's token: authentication, the
                # grant lookup and the role checks all run, as they would for any caller.
                token = servers.create_token(data_dir) if auth else None
                server = stack.enter_context(self.server(data_dir, auth))
                samplers[auth] = stack.enter_context(RssSampler(server.pid))
                running[auth] = (server, token)
            if "api" in self.opts.sections:
                for auth, (server, token) in running.items():
                    samplers[auth].phase("api [auth on]" if auth else "api")
                    status = self.runner.generator.run(self.setup_job(server, token))
                    if status.error_count:
                        raise RuntimeError(f"setup failed: {status.error_samples}")
                self.measure(running, READS + SEARCHES + WRITES, self.opts.small)
            if "transfer" in self.opts.sections and False in running:
                rss = samplers[False]
                rss.phase("idle")
                time.sleep(2)
                self.transfers = charter_transfers(running[False][0], rss, self.opts, self.log)
            for rss in samplers.values():
                self.rss_peaks.update(rss.peaks)

    def setup_job(self, server: servers.Server, token: str | None = None) -> Job:
        requests = setup_requests(self.prefix, token)
        return Job(servers.HOST, server.port, requests, 1, True, len(requests), 60.0)

    def auth_table(self) -> str:
        """Each operation with authentication and audit on against off, from the same run."""
        rows: list[list[object]] = []
        for (name, cell, auth), on in self.by_auth.items():
            off = self.by_auth.get((name, cell, False))
            if not auth or off is None:
                continue
            ratio = f"{100 * on.ops / off.ops:.0f}%" if off.ops else "n/a"
            rows.append([name, cell.concurrency, cell.mode, off.ops, on.ops, ratio,
                         off.cpu_ms, on.cpu_ms, off.p50_ms, on.p50_ms])  # fmt: skip
        headers = [
            "operation", "c", "conn", "off ops/s", "on ops/s", "on/off", "off CPU ms/req",
            "on CPU ms/req", "off p50 ms", "on p50 ms",
        ]  # fmt: skip
        return table(headers, rows)

    def search_large(self) -> None:
        data_dir = self.seeded_dir("charter-large", self.opts.large)
        with self.server(data_dir) as server, RssSampler(server.pid) as rss:
            rss.phase("search@large")
            self.measure({False: (server, None)}, SEARCHES, self.opts.large)
            self.rss_peaks["search@large"] = rss.peaks["search@large"]

    def report(self) -> str:
        parts = [f"Machine: {machine()}", ""]
        if self.bare:
            parts += ["### Ceilings", "", self.ceiling_table(), ""]
        if self.rows:
            headers = [
                "operation", "DB", "c", "conn", "ops/s", "p50 ms", "p99 ms", "errors",
                "restarts", "vs bare", "srv CPU ms/req", "idle est. ops/s",
                "CPU gen/srv/other", "target", "verdict",
            ]  # fmt: skip
            parts += ["### API (Charter alone)", "", table(headers, self.rows), ""]
        if len(self.auth) > 1 and self.by_auth:
            parts += ["### Authentication and audit: on vs off", "", self.auth_table(), ""]
        if self.samples:
            parts += ["Error samples:", ""]
            parts += [f"- {op}: `{text[:300]}`" for op, text in self.samples.items()] + [""]
        if self.transfers:
            parts += ["### Transfers", "", transfer_table(self.transfers, self.dd), ""]
        if self.rss_peaks:
            peaks = ", ".join(f"{k} {v / (1 << 20):.0f} MiB" for k, v in self.rss_peaks.items())
            parts += [f"Server tree RSS peaks by phase: {peaks}", ""]
        return "\n".join(parts)

    def ceiling_table(self) -> str:
        rows: list[list[object]] = [
            ["bare ASGI GET /", c.concurrency, c.mode, s.ops, s.p50_ms, s.p99_ms, errors_text(s),
             s.cpu_ms, s.idle_estimate, cpu_text(s), self.wrk.get(c, float("nan"))]
            for c, s in self.bare.items()
        ]  # fmt: skip
        if self.dd:
            dd = statistics.median(self.dd)
            rows.append(["dd 1 GiB write, MB/s", "", "", dd, "", "", "", "", "", "", ""])
        headers = [
            "ceiling", "c", "conn", "ops/s", "p50 ms", "p99 ms", "errors",
            "srv CPU ms/req", "idle est. ops/s", "CPU gen/srv/other", "wrk ops/s",
        ]  # fmt: skip
        return table(headers, rows)


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if "model name" in ln), "?")
    total = psutil.virtual_memory().total / (1 << 30)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {total:.0f} GiB RAM, Python {sys.version.split()[0]}; "
        f"load average now {load}; Charter at {revision()}"
    )


def revision() -> str:
    """The commit under test, and whether the working tree (shared with others) had changes."""
    repo = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(repo)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"commit {commit}" + (f" + {len(changed)} uncommitted paths in src/" if changed else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-mlflow", action="store_true", help="run mlflow_compare.py")
    parser.add_argument(
        "--auth",
        choices=sorted(AUTH_MODES),
        default="off",
        help="serve with CHARTER_AUTH off, on (every request with an admin's token), or both",
    )
    add_common(parser, SECTIONS)
    args, rest = parser.parse_known_args(argv)
    if args.compare_mlflow:
        import mlflow_compare

        mlflow_compare.main([a for a in (argv or sys.argv[1:]) if a != "--compare-mlflow"])
        return
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    opts = options(args, SECTIONS)
    log = Logger(opts.work_dir / "progress.log")
    log(f"work dir {opts.work_dir}; cells {[(c.concurrency, c.mode) for c in CELLS]}")
    with LoadGenerator() as generator:
        bench = CoreBench(opts, Runner(generator, opts.plan, log), log, AUTH_MODES[args.auth])
        if "ceiling" in opts.sections:
            bench.ceiling()
        if opts.sections & {"api", "transfer"}:
            bench.api_and_transfers()
        if "search" in opts.sections:
            bench.search_large()
    text = bench.report()
    (opts.work_dir / "results.md").write_text(text)
    print("\n" + text)
    if not opts.keep:
        for name in ("charter", "charter-auth", "charter-large"):
            shutil.rmtree(opts.work_dir / name, ignore_errors=True)
    log(f"results in {opts.work_dir / 'results.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])
