"""Runs the ASGI app under uvicorn with several worker processes.

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
import os
import socket
import sys

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def run(host: str, port: int, workers: int, log_level: str = "info") -> None:
    uvicorn.run(
        "charter.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayHttpProtocol,
        loop="uvloop",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
        # A worker imports the whole application before it answers the supervisor's health
        # check; on a loaded machine that takes longer than uvicorn's 5 s default.
        timeout_worker_healthcheck=60,
        server_header=False,
    )


def exec_supervisor(host: str, port: int, workers: int, log_level: str) -> None:
    """Replace this process (same pid, same environment) with a light supervisor."""
    sys.stdout.flush()
    sys.stderr.flush()
    args = [sys.executable, "-m", "charter.api.server", host, str(port), str(workers), log_level]
    os.execv(sys.executable, args)  # noqa: S606 -- a fixed argv of our own interpreter, no shell


if __name__ == "__main__":
    _, host, port, workers, level = sys.argv
    run(host, int(port), int(workers), level)
