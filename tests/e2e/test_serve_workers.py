"""``charter serve`` with several workers: each worker listens on a socket of its own on the
shared port (SO_REUSEPORT), so the kernel spreads connections over them, and a worker that
dies is replaced on the same socket without refusing the connections queued for it."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]  # psutil ships no type stubs
import pytest

from tests.support.server import CharterServer, ServerStartError, running_server

pytestmark = pytest.mark.e2e

WORKERS = 2
CONNECTIONS = 16
REPLACE_TIMEOUT = 60.0


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterServer]:
    with running_server(tmp_path / "data", request=request, workers=WORKERS) as started:
        yield started


def workers_of(server: CharterServer) -> list[psutil.Process]:
    """The worker processes (uvicorn spawns them with multiprocessing)."""
    children = psutil.Process(server.pid).children(recursive=True)
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def listening(process: psutil.Process, port: int) -> list[object]:
    return [
        c
        for c in process.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]


def test_each_worker_listens_on_a_socket_of_its_own(server: CharterServer) -> None:
    workers = workers_of(server)
    assert len(workers) == WORKERS
    assert [len(listening(w, server.port)) for w in workers] == [1] * WORKERS
    # The supervisor keeps every socket open, so that a replacement worker inherits its queue.
    assert len(listening(psutil.Process(server.pid), server.port)) == WORKERS


def test_kept_alive_connections_spread_over_the_workers(server: CharterServer) -> None:
    clients = [httpx.Client(base_url=server.url, timeout=30.0) for _ in range(CONNECTIONS)]
    try:
        for client in clients:
            assert client.get("/health").status_code == 200
        per_worker = {
            w.pid: sum(
                1
                for c in w.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == server.port
            )
            for w in workers_of(server)
        }
    finally:
        for client in clients:
            client.close()
    # Hashed over 16 connections, all landing on one of two workers has odds of 1 in 32,768.
    assert sum(per_worker.values()) == CONNECTIONS
    assert all(count > 0 for count in per_worker.values()), per_worker


def test_a_killed_worker_is_replaced_and_no_connection_is_refused(
    server: CharterServer,
) -> None:
    victim, survivor = workers_of(server)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(REPLACE_TIMEOUT)
    # New connections hashed to the dead worker's socket wait in its queue for the replacement.
    for _ in range(CONNECTIONS):
        with httpx.Client(base_url=server.url, timeout=REPLACE_TIMEOUT) as client:
            assert client.get("/health").status_code == 200
    workers = workers_of(server)
    assert len(workers) == WORKERS
    assert survivor.pid in {w.pid for w in workers}
    assert victim.pid not in {w.pid for w in workers}


def test_a_port_taken_by_another_program_fails_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = CharterServer(tmp_path / "data", port=port, workers=WORKERS)
        with pytest.raises(ServerStartError) as failure:
            server.start(timeout=60.0)
    message = str(failure.value)
    assert "exited with 3" in message
    assert f"cannot listen on 127.0.0.1:{port}" in message
    assert "Address already in use" in message
