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
                rss = tree_rss(self.pid)
            except psutil.NoSuchProcess:
                return
            phase = self._phase
            self.peaks[phase] = max(self.peaks.get(phase, 0), rss)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peaks["baseline"] = tree_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
