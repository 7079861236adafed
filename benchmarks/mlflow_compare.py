"""MLflow and Charter side by side: the identical MLflow REST workload against each server.

    .venv/bin/python benchmarks/mlflow_compare.py [--servers mlflow,charter] [--sections ...]
    .venv/bin/python benchmarks/run.py --compare-mlflow [...]            # the same

Both are seeded in process through their own stores with the same data set (seed.py), then
served with their defaults (``mlflow server``: uvicorn, 4 workers; ``charter serve``: 2).
Repeats alternate between the servers, so both see the same noise on this shared machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from multiprocessing import get_context

import seed
import servers
from loadgen import Job, LoadGenerator, Request
from measure import Cell, Operation, Runner, Stats, Target
from mlflow_ops import operations, setup_requests
from options import Logger, Options, add_common, options
from report import errors_text, ratio, table
from rss import RssSampler
from run import machine
from seed import Dataset
from transfer_bench import TransferFigures, mlflow_transfers, transfer_table

SECTIONS = ("api", "search", "transfer")
SERVERS = ("mlflow", "charter")
API_OPS = (
    "get version",
    "get by alias",
    "get latest versions",
    "search: model name",
    "search: tag 0.1%",
    "search: tag 5%",
    "create model",
    "create version",
    "set alias",
    "set new alias (8 racing)",
    "transition stage",
)
SEARCHES = ("search: model name", "search: tag 0.1%", "search: tag 5%")


class Compare:
    def __init__(self, opts: Options, names: tuple[str, ...], runner: Runner, log: Logger) -> None:
        self.opts = opts
        self.names = names
        self.runner = runner
        self.log = log
        self.data = Dataset()
        self.seeded = 0
        self.suffix = ""
        self.prefix = f"bm{uuid.uuid4().hex[:6]}"
        self.rows: list[list[object]] = []
        self.missing: dict[str, list[str]] = {}  # server -> operations it does not serve
        self.transfers: list[TransferFigures] = []
        self.rss: dict[str, dict[str, int]] = {}
        self.samples: dict[tuple[str, str], str] = {}  # (server, operation) -> first error

    def prepare(self, total: int, suffix: str) -> None:
        """Both stores at once (two processes), each seeded through its own code, or copied."""
        self.log(f"preparing {', '.join(self.names)} with {total:,} seeded versions")
        with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
            futures = {
                name: pool.submit(
                    seed.prepare,
                    name,
                    self.opts.seed_cache,
                    self.opts.work_dir / f"{name}{suffix}",
                    total,
                    self.data,
                )
                for name in self.names
            }
            for name, future in futures.items():
                self.log(f"  {name}: {future.result()}")
        self.seeded = total
        self.suffix = suffix

    @contextmanager
    def running(self, phase: str) -> Iterator[dict[str, tuple[servers.Server, RssSampler]]]:
        logs = self.opts.work_dir / "logs"
        work, suffix = self.opts.work_dir, self.suffix
        make = {
            "mlflow": lambda: servers.mlflow(
                work / f"mlflow{suffix}", servers.free_port(), logs / "mlflow.log"
            ),
            "charter": lambda: servers.charter(
                work / f"charter{suffix}", servers.free_port(), logs / "charter.log"
            ),
        }
        with ExitStack() as stack:
            running = {}
            for name in self.names:
                server = stack.enter_context(make[name]())
                sampler = stack.enter_context(RssSampler(server.pid))
                running[name] = (server, sampler)
            time.sleep(2)  # let background start-up work settle before the baseline
            for _, sampler in running.values():
                sampler.phase(phase)
            yield running
            for name, (_, sampler) in running.items():
                self.rss.setdefault(name, {}).update(sampler.peaks)

    def supported(self, server: servers.Server, op: Operation) -> bool:
        """False when the server has no such route (404 without an MLflow error body, or 405)."""
        status, body = probe(server, op.build(1)[0])
        missing = status == 405 or (status == 404 and _route_missing(body))
        if missing:
            self.missing.setdefault(server.name, []).append(op.name)
            self.log(f"  {server.name} does not serve {op.name!r}: HTTP {status} {body[:120]!r}")
        return not missing

    def measure(
        self, running: dict[str, tuple[servers.Server, RssSampler]], names: tuple[str, ...]
    ) -> None:
        ops = operations(self.data, self.seeded, self.prefix)
        for name in names:
            op = ops[name]
            self.log(f"{name} ({self.seeded:,} versions)")
            targets = [
                Target(label, server, op)
                for label, (server, _) in running.items()
                if self.supported(server, op)
            ]
            stats = self.runner.measure(targets) if targets else {}
            for (label, _), cell_stats in stats.items():
                if cell_stats.error_samples:
                    self.samples.setdefault((label, name), cell_stats.error_samples[0])
            for cell in self.opts.plan.cells:
                pair = {label: stats.get((label, cell)) for label in self.names}
                self.rows.append(self.row(name, cell, pair))

    def row(self, name: str, cell: Cell, pair: dict[str, Stats | None]) -> list[object]:
        m, c = pair.get("mlflow"), pair.get("charter")
        nan = float("nan")

        def fig(s: Stats | None, attr: str) -> float:
            return float(getattr(s, attr)) if s else nan

        row: list[object] = [name, f"{self.seeded // 1000}k", cell.concurrency, cell.mode]
        for attr in ("ops", "p50_ms", "p99_ms", "cpu_ms"):
            a, b = fig(m, attr), fig(c, attr)
            row += [a, b, ratio(b, a)]
        row += [errors_text(m) if m else "n/a", errors_text(c) if c else "n/a"]
        row += [f"{m.restarts if m else '-'}/{c.restarts if c else '-'}"]
        return row

    def setup(self, running: dict[str, tuple[servers.Server, RssSampler]]) -> None:
        requests = setup_requests(self.prefix)
        for server, _ in running.values():
            result = self.runner.generator.run(
                Job(servers.HOST, server.port, requests, 1, True, len(requests), 60.0)
            )
            if result.error_count:
                self.log(f"  {server.name}: setup errors {result.error_samples}")

    def transfer(self, running: dict[str, tuple[servers.Server, RssSampler]]) -> None:
        for server, sampler in running.values():
            sampler.phase("idle")
            self.transfers.append(mlflow_transfers(server, sampler, self.opts, self.log))

    def report(self) -> str:
        parts = [f"Machine: {machine()}", ""]
        if self.rows:
            headers = [
                "operation", "DB", "c", "conn",
                "MLflow ops/s", "Charter ops/s", "C/M",
                "MLflow p50 ms", "Charter p50 ms", "C/M",
                "MLflow p99 ms", "Charter p99 ms", "C/M",
                "MLflow CPU ms/req", "Charter CPU ms/req", "C/M",
                "MLflow errors", "Charter errors", "restarts M/C",
            ]  # fmt: skip
            parts += ["### MLflow REST API, side by side", "", table(headers, self.rows), ""]
        for server, ops in self.missing.items():
            parts += [f"Not served by {server} (not measured): {', '.join(ops)}", ""]
        if self.samples:
            parts += ["Error samples (the first of each server and operation):", ""]
            parts += [f"- {srv}, {op}: `{text[:300]}`" for (srv, op), text in self.samples.items()]
            parts += [""]
        for figures in self.transfers:
            parts += [transfer_table(figures, []), ""]
        for server, peaks in self.rss.items():
            text = ", ".join(f"{k} {v / (1 << 20):.0f} MiB" for k, v in peaks.items())
            parts += [f"{server} server tree RSS peaks by phase: {text}", ""]
        return "\n".join(parts)


def selected(names: tuple[str, ...], wanted: str | None) -> tuple[str, ...]:
    if not wanted:
        return names
    chosen = {w.strip() for w in wanted.split(",")}
    return tuple(n for n in names if n in chosen)


def _route_missing(body: bytes) -> bool:
    """A 404 from the framework (no such route) rather than from the registry (no such model)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return True
    if not isinstance(answer, dict):
        return True
    return "Not Found" in (answer.get("detail"), answer.get("message"))


def probe(server: servers.Server, request: Request) -> tuple[int, bytes]:
    raw = urllib.request.Request(
        server.url + request.path, data=request.body or None, method=request.method
    )
    raw.add_header("Content-Type", request.content_type)
    try:
        with urllib.request.urlopen(raw, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(SERVERS), help="mlflow,charter or one")
    parser.add_argument("--ops", help="comma-separated operation names (default: all)")
    add_common(parser, SECTIONS)
    args = parser.parse_args(argv)
    opts = options(args, SECTIONS)
    names = tuple(n for n in SERVERS if n in args.servers.split(","))
    log = Logger(opts.work_dir / "progress.log")
    log(f"work dir {opts.work_dir}; servers {', '.join(names)}")
    with LoadGenerator() as generator:
        bench = Compare(opts, names, Runner(generator, opts.plan, log), log)
        if opts.sections & {"api", "transfer"}:
            bench.prepare(opts.small, "")
            with bench.running("api") as running:
                if "api" in opts.sections:
                    bench.setup(running)
                    bench.measure(running, selected(API_OPS, args.ops))
                if "transfer" in opts.sections:
                    bench.transfer(running)
        if "search" in opts.sections:
            bench.prepare(opts.large, "-large")
            with bench.running("search@large") as running:
                bench.measure(running, selected(SEARCHES, args.ops))
    text = bench.report()
    (opts.work_dir / "results-mlflow.md").write_text(text)
    print("\n" + text)
    if not opts.keep:
        for name in names:
            for suffix in ("", "-large"):
                shutil.rmtree(opts.work_dir / f"{name}{suffix}", ignore_errors=True)
    log(f"results in {opts.work_dir / 'results-mlflow.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])
