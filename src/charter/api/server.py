"""Runs the ASGI app under uvicorn with several worker processes.

**Spreading connections.** The workers accept from one shared listening socket, so a new
connection goes to a worker that is free to accept it (one busy with a request is not). Each
listening socket per worker (``SO_REUSEPORT``) was tried instead: the kernel then hashes every
connection to a worker whatever its load, which cost a fifth of the throughput and doubled p99
over new connections (BENCHMARKS.md, session 5). A shared socket has the opposite flaw: when
several clients connect at once, the worker that wakes first accepts them all, and kept-alive
connections then stay on it (all eight of a benchmark's, in one run of four, leaving one core
idle). So the workers count their open connections in a small shared table, and a worker that
holds two or more above the least loaded one answers its next request with
``Connection: close``; the client reconnects, and a free worker accepts. Counts, not requests
in flight: a worker with idle kept-alive connections sheds some too, which costs those clients
one reconnect.

Every accepted socket gets TCP_NODELAY. Uvicorn's workers receive the listening socket from
the parent, and on that path the sockets of accepted connections are left with Nagle's
algorithm on: a response written in two parts then waits for the client's delayed ACK, which
costs about 40 ms per request on a kept-alive connection (MLflow's server has this flaw).

``charter serve`` prepares the installation (migrations, sweeps) and then replaces itself with
``python -m charter.api.server``: the supervisor that stays resident imports only uvicorn
(about 26 MiB) instead of the CLI, the migrations and the whole application (about 100 MiB).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import mmap
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess, Process

APP = "charter.api.app:create_app_from_env"
SLOT = 8  # bytes per worker in the shared table: its open connections, a signed 64-bit int
ABSENT = 2**62  # the count of a worker that died and is being replaced: never the least loaded
logger = logging.getLogger("uvicorn.error")


class ConnectionTable:
    """Each worker's count of open connections, in a file mapped by every worker process.

    A worker writes only its own slot, from its event loop; it reads the others' without a
    lock, since a count a moment old only delays a rebalancing by a request.
    """

    def __init__(self, path: str, slot: int, workers: int) -> None:
        with open(path, "r+b") as file:
            self._map = mmap.mmap(file.fileno(), SLOT * workers)
        self._counts = memoryview(self._map).cast("q")
        self._slot = slot

    def set(self, slot: int, count: int) -> None:
        """The supervisor's write: 0 for a worker it starts, ABSENT for one that died."""
        self._counts[slot] = count

    def opened(self) -> None:
        self._counts[self._slot] += 1

    def closed(self) -> None:
        self._counts[self._slot] -= 1

    def overloaded(self) -> bool:
        """Whether this worker holds two or more connections above the least loaded one."""
        return self._counts[self._slot] > min(self._counts) + 1


_table: ConnectionTable | None = None


def _connections(config: uvicorn.Config) -> ConnectionTable | None:
    """This worker's table (one per process), or None when serving with one worker."""
    global _table
    where = getattr(config, "charter_connections", None)
    if _table is None and where is not None:
        _table = ConnectionTable(*where)
    return _table


class BalancedHttpProtocol(HttpToolsProtocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.table = _connections(config)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.table is not None:
            self.table.opened()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.table is not None:
            self.table.closed()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.table is not None and self.table.overloaded():
            self.cycle.keep_alive = False  # answered with Connection: close, then closed


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket every worker accepts from, bound here so that a taken port fails at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        logger.error("cannot listen on %s:%s: %s", host, port, exc)
        sys.exit(STARTUP_FAILURE)
    sock.set_inheritable(True)
    logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    return sock


class BalancedSupervisor(Multiprocess):
    """Uvicorn's supervisor, with worker ``i`` (and any replacement) given slot ``i`` of the
    connection table."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config, [listening_socket(config.host, config.port)])
        handle, self.table_path = tempfile.mkstemp(prefix="charter-connections-")
        os.ftruncate(handle, SLOT * config.workers)
        os.close(handle)
        self.table = ConnectionTable(self.table_path, 0, config.workers)

    def spawn(self, slot: int) -> Process:
        self.table.set(slot, 0)
        config = copy.copy(self.config)
        config.charter_connections = (self.table_path, slot, self.processes_num)  # type: ignore[attr-defined]
        process = Process(config, self.sockets)
        process.start()
        return process

    def run(self) -> None:
        try:
            super().run()
        finally:
            Path(self.table_path).unlink(missing_ok=True)

    def init_processes(self) -> None:
        self.processes = [self.spawn(slot) for slot in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        # Uvicorn's own loop, except that a replacement takes over its predecessor's slot.
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            self.table.set(slot, ABSENT)
            if process.exitcode == STARTUP_FAILURE:
                # The app or its configuration is broken: every restart would fail the same way.
                logger.error(f"Child process [{process.pid}] failed to start, stopping.")
                self.should_exit.set()
                return
            logger.info(f"Child process [{process.pid}] died")
            self.processes[slot] = self.spawn(slot)

    def restart_all(self) -> None:
        # SIGHUP: each replacement serves before its predecessor is retired, as in uvicorn.
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self.spawn(slot)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                logger.error(f"Child process [{new.pid}] was not ready in time; restart aborted.")
                return
            old.terminate()
            old.join()
            self.processes[slot] = new


def run(host: str, port: int, workers: int, log_level: str = "info") -> None:
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "http": BalancedHttpProtocol,
        "loop": "uvloop",
        "log_level": log_level,
        "access_log": False,
        "timeout_keep_alive": 30,
        # A worker imports the whole application before it answers the supervisor's health
        # check; on a loaded machine that takes longer than uvicorn's 5 s default.
        "timeout_worker_healthcheck": 60,
        "server_header": False,
    }
    if workers <= 1:
        uvicorn.run(APP, **options)
        return
    # The supervisor turns SIGINT and SIGTERM into an orderly stop of its workers.
    BalancedSupervisor(uvicorn.Config(APP, **options)).run()


def exec_supervisor(host: str, port: int, workers: int, log_level: str) -> None:
    """Replace this process (same pid, same environment) with a light supervisor."""
    sys.stdout.flush()
    sys.stderr.flush()
    args = [sys.executable, "-m", "charter.api.server", host, str(port), str(workers), log_level]
    os.execv(sys.executable, args)  # noqa: S606 -- a fixed argv of our own interpreter, no shell


if __name__ == "__main__":
    _, host, port, workers, level = sys.argv
    run(host, int(port), int(workers), level)
