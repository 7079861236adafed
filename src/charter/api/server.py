"""Runs the ASGI app under uvicorn with several worker processes.

Each worker listens on a socket of its own, all bound to the same port with ``SO_REUSEPORT``,
so the kernel spreads new connections over the workers. With uvicorn's single shared socket,
the worker that woke first accepted every pending connection: eight kept-alive clients that
connected together landed on one worker in about one run of four, and the server then used
one core of two (BENCHMARKS.md, session 4).

Every accepted socket gets TCP_NODELAY. Uvicorn's workers receive their listening socket from
the parent, and on that path the sockets of accepted connections are left with Nagle's
algorithm on: a response written in two parts then waits for the client's delayed ACK, which
costs about 40 ms per request on a kept-alive connection (MLflow's server has this flaw).

``charter serve`` prepares the installation (migrations, sweeps) and then replaces itself with
``python -m charter.api.server``: the supervisor that stays resident imports only uvicorn
(about 26 MiB) instead of the CLI, the migrations and the whole application (about 100 MiB).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess, Process

APP = "charter.api.app:create_app_from_env"
logger = logging.getLogger("uvicorn.error")


class NoDelayHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def bind_group(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to one port with SO_REUSEPORT (port 0: the first one's port).

    The parent keeps them all, and each worker calls ``listen`` on its own. A worker's socket
    outlives the worker, so connections the kernel queued on it while the worker restarts
    wait for the replacement instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        logger.error("cannot listen on %s:%s: %s", host, port, exc)
        sys.exit(STARTUP_FAILURE)
    logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    return sockets


class ReusePortSupervisor(Multiprocess):
    """Uvicorn's supervisor, with worker ``i`` always given socket ``i`` of the group."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config, bind_group(config.host, config.port, config.workers))

    def spawn(self, index: int) -> Process:
        process = Process(self.config, [self.sockets[index]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self.spawn(index) for index in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        # Uvicorn's own loop, except that a replacement gets its predecessor's socket.
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # The app or its configuration is broken: every restart would fail the same way.
                logger.error(f"Child process [{process.pid}] failed to start, stopping.")
                self.should_exit.set()
                return
            logger.info(f"Child process [{process.pid}] died")
            self.processes[index] = self.spawn(index)

    def restart_all(self) -> None:
        # SIGHUP: each replacement serves before its predecessor is retired, as in uvicorn.
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self.spawn(index)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                logger.error(f"Child process [{new.pid}] was not ready in time; restart aborted.")
                return
            old.terminate()
            old.join()
            self.processes[index] = new


def run(host: str, port: int, workers: int, log_level: str = "info") -> None:
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "http": NoDelayHttpProtocol,
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
    ReusePortSupervisor(uvicorn.Config(APP, **options)).run()


def exec_supervisor(host: str, port: int, workers: int, log_level: str) -> None:
    """Replace this process (same pid, same environment) with a light supervisor."""
    sys.stdout.flush()
    sys.stderr.flush()
    args = [sys.executable, "-m", "charter.api.server", host, str(port), str(workers), log_level]
    os.execv(sys.executable, args)  # noqa: S606 -- a fixed argv of our own interpreter, no shell


if __name__ == "__main__":
    _, host, port, workers, level = sys.argv
    run(host, int(port), int(workers), level)
