"""Memory and CPU of a server's whole process tree (the parent and all its descendants)."""

from __future__ import annotations

import threading

import psutil

INTERVAL = 0.05


def tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def tree_rss(pid: int) -> int:
    """Sum of the resident set sizes of ``pid`` and its descendants, in bytes."""
    total = 0
    for process in tree(pid):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def tree_breakdown(pid: int) -> list[tuple[str, int]]:
    """(process, RSS bytes) of ``pid`` and each descendant: which process holds the memory."""
    found = []
    for process in tree(pid):
        try:
            rss = process.memory_info().rss
            command = " ".join(process.cmdline()[-2:])[-48:] or process.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found.append((f"{process.pid} {command}", rss))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live descendants so far."""
    total = 0.0
    for process in tree(pid):
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


class RssSampler:
    """Samples ``tree_rss`` every 50 ms in a thread; ``phase(name)`` starts a new peak."""

    def __init__(self, pid: int, interval: float = INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.peaks: dict[str, int] = {}
        # Each phase's peak broken down by process, to say where memory went.
        self.peak_breakdown: dict[str, list[tuple[str, int]]] = {}
        self.samples = 0
        self._phase = "baseline"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def phase(self, name: str) -> None:
        self._phase = name
        self.peaks.setdefault(name, tree_rss(self.pid))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                parts = tree_breakdown(self.pid)
            except psutil.NoSuchProcess:
                return
            rss = sum(size for _, size in parts)
            phase = self._phase
            if rss >= self.peaks.get(phase, 0):
                self.peaks[phase] = rss
                self.peak_breakdown[phase] = parts
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peaks["baseline"] = tree_rss(self.pid)
        self._thread.start()
        return self

    def describe(self, phase: str) -> str:
        """The processes of a phase's peak sample, largest first, in MiB."""
        parts = sorted(self.peak_breakdown.get(phase, []), key=lambda part: -part[1])
        return ", ".join(f"{name} {size / (1 << 20):.0f}" for name, size in parts)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
