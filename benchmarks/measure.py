"""Runs operations against servers cell by cell (concurrency x connection mode), repeated.

Repeats are interleaved (every cell of every target once, then again) so that a noisy spell
on the shared machine spreads over all the figures instead of landing on one of them.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psutil
from loadgen import OK_STATUSES, Job, LoadGenerator, Request, Result
from rss import tree_cpu_seconds
from servers import HOST, Server

IDLE_CORES = 2.0  # the machine's cores, for the estimate of an unshared machine
WARMUP_REQUESTS = 200
WARMUP_SECONDS = 1.0


@dataclass(frozen=True)
class Operation:
    """A named request mix; ``build(n)`` returns n requests (unique ones for writes)."""

    name: str
    kind: str  # read | write | search
    build: Callable[[int], list[Request]]
    ok_statuses: frozenset[int] = OK_STATUSES


@dataclass(frozen=True)
class Cell:
    concurrency: int
    keep_alive: bool

    @property
    def mode(self) -> str:
        return "keep-alive" if self.keep_alive else "new conn"


CELLS = (Cell(1, True), Cell(1, False), Cell(8, True), Cell(8, False))


@dataclass(frozen=True)
class Target:
    """One server and the operation to run on it (its own URL shapes)."""

    label: str
    server: Server
    operation: Operation


@dataclass(frozen=True)
class Usage:
    server: float  # cores used by the server's process tree during a run
    machine: float  # cores used by every process on the machine


@dataclass
class Stats:
    """Medians over the repeats of one cell on one target, and everything that went wrong."""

    ops: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    gen_cpu: float = 0.0  # cores used by the generator (1.0 = one core busy)
    server_cpu: float = 0.0  # cores used by the server's process tree
    other_cpu: float = 0.0  # cores used by everything else on this shared machine
    restarts: int = 0  # server workers killed and replaced during the operation's runs
    cpu_ms: float = float("nan")  # server CPU time per successful request, milliseconds

    @property
    def idle_estimate(self) -> float:
        """Requests/s if the server had both cores to itself: what the CPU cost allows."""
        return IDLE_CORES * 1000 / self.cpu_ms if self.cpu_ms > 0 else float("nan")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class Plan:
    seconds: float = 4.0
    repeats: int = 3
    read_pool: int = 1000  # distinct read requests, cycled
    max_requests: int = 50_000
    max_writes: int = 4000  # unique write requests prepared per run
    min_requests: int = 20  # for slow operations, even past ``seconds``
    hard_seconds: float = 90.0
    cells: Sequence[Cell] = CELLS
    quiet_below: float | None = None  # wait for the rest of the machine to use fewer cores
    quiet_wait: float = 180.0  # ... but at most this long before each operation


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Runner:
    def __init__(self, generator: LoadGenerator, plan: Plan, log: Callable[[str], None]) -> None:
        self.generator = generator
        self.plan = plan
        self.log = log

    def job(self, target: Target, cell: Cell, *, warmup: bool = False) -> Job:
        op, plan = target.operation, self.plan
        writes = op.kind == "write"
        count = WARMUP_REQUESTS if warmup else plan.max_writes if writes else plan.read_pool
        requests = op.build(count)
        return Job(
            host=HOST,
            port=target.server.port,
            requests=requests,
            concurrency=cell.concurrency,
            keep_alive=cell.keep_alive,
            max_requests=len(requests) if writes or warmup else plan.max_requests,
            max_seconds=WARMUP_SECONDS if warmup else plan.seconds,
            min_requests=0 if warmup else plan.min_requests,
            hard_seconds=plan.hard_seconds,
            ok_statuses=op.ok_statuses,
        )

    def run(self, target: Target, cell: Cell) -> tuple[Result, Usage]:
        """One measured run and the CPU used (cores) by the server and by the whole machine."""
        job = self.job(target, cell)
        server_before, machine_before = tree_cpu_seconds(target.server.pid), machine_busy_seconds()
        began = time.perf_counter()
        result = self.generator.run(job)
        elapsed = time.perf_counter() - began
        usage = Usage(
            server=(tree_cpu_seconds(target.server.pid) - server_before) / elapsed,
            machine=(machine_busy_seconds() - machine_before) / elapsed,
        )
        return result, usage

    def measure(self, targets: Sequence[Target]) -> dict[tuple[str, Cell], Stats]:
        """Every cell on every target, ``repeats`` times, interleaved; medians per cell."""
        if self.plan.quiet_below is not None:
            wait_for_quiet(self.plan.quiet_below, self.plan.quiet_wait, self.log)
        for target in targets:
            self.generator.run(self.job(target, Cell(8, True), warmup=True))
        restarts = {t.label: t.server.restarts() for t in targets}
        runs: dict[tuple[str, Cell], list[tuple[Result, Usage]]] = {}
        for repeat in range(self.plan.repeats):
            # Odd repeats run the targets in reverse, so neither always runs first.
            for target in targets if repeat % 2 == 0 else list(reversed(targets)):
                for cell in self.plan.cells:
                    result, usage = self.run(target, cell)
                    runs.setdefault((target.label, cell), []).append((result, usage))
                    self.log(
                        f"  {target.label:8} {target.operation.name:24} c={cell.concurrency} "
                        f"{cell.mode:10} #{repeat + 1}: {result.ops_per_second:8.1f} ops/s "
                        f"p99 {percentile(result.latencies, 0.99) * 1000:7.1f} ms "
                        f"errors {result.error_count}"
                    )
        stats = {key: summarise(values) for key, values in runs.items()}
        for target in targets:
            restarted = target.server.restarts() - restarts[target.label]
            if restarted:
                self.log(f"  {target.label}: {restarted} worker(s) killed and restarted")
            for cell in self.plan.cells:
                stats[(target.label, cell)].restarts = restarted
        return stats


def summarise(runs: list[tuple[Result, Usage]]) -> Stats:
    results = [r for r, _ in runs]
    errors: Counter[str] = Counter()
    samples: list[str] = []
    for r in results:
        errors.update(r.errors)
        samples += r.error_samples[: 3 - len(samples)]
    return Stats(
        ops=statistics.median(r.ops_per_second for r in results),
        p50_ms=statistics.median(percentile(r.latencies, 0.50) * 1000 for r in results),
        p99_ms=statistics.median(percentile(r.latencies, 0.99) * 1000 for r in results),
        requests=sum(r.ok + r.error_count for r in results),
        errors=errors,
        error_samples=samples,
        gen_cpu=statistics.median(_gen_cpu(r) for r in results),
        server_cpu=statistics.median(u.server for _, u in runs),
        other_cpu=statistics.median(max(0.0, u.machine - u.server - _gen_cpu(r)) for r, u in runs),
        cpu_ms=statistics.median(
            1000 * u.server / r.ops_per_second if r.ok else float("nan") for r, u in runs
        ),
    )


def _gen_cpu(result: Result) -> float:
    return result.cpu_seconds / result.elapsed if result.elapsed else 0.0


def wait_for_quiet(below: float, max_wait: float, log: Callable[[str], None]) -> float:
    """Waits (bounded) until the machine is busy with fewer than ``below`` cores over 5 s."""
    began = time.monotonic()
    while True:
        before = machine_busy_seconds()
        time.sleep(5)
        busy = (machine_busy_seconds() - before) / 5
        waited = time.monotonic() - began
        if busy < below or waited >= max_wait:
            log(f"  machine busy {busy:.2f} cores before measuring (waited {waited:.0f} s)")
            return busy


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine (all cores) since boot."""
    t = psutil.cpu_times()  # Linux: guest time is already inside user time
    return float(t.user + t.nice + t.system + t.irq + t.softirq)
