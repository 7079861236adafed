"""``charter serve`` with several workers: they accept from one shared socket, and a worker
that holds more kept-alive connections than its share closes some after their answer, so
clients that connected all at once end up spread over the workers; a worker that dies is
replaced while the others keep answering."""

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
CLIENTS = 16
ROUNDS = 8
REPLACE_TIMEOUT = 60.0


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterServer]:
    with running_server(tmp_path / "data", request=request, workers=WORKERS) as started:
        yield started


def workers_of(server: CharterServer) -> list[psutil.Process]:
    """The worker processes (uvicorn spawns them with multiprocessing)."""
    children = psutil.Process(server.pid).children(recursive=True)
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def established(worker: psutil.Process, port: int) -> int:
    return sum(
        1
        for c in worker.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
    )


def test_kept_alive_clients_that_connect_together_end_up_spread(server: CharterServer) -> None:
    clients = [httpx.Client(base_url=server.url, timeout=30.0) for _ in range(CLIENTS)]
    answers: list[httpx.Response] = []
    try:
        for _ in range(ROUNDS):
            answers += [client.get("/health") for client in clients]
        per_worker = [established(w, server.port) for w in workers_of(server)]
    finally:
        for client in clients:
            client.close()
    assert [a.status_code for a in answers] == [200] * (CLIENTS * ROUNDS)
    # A worker two above the least loaded sheds a connection per request it answers.
    assert len(per_worker) == WORKERS
    assert min(per_worker) > 0, per_worker
    assert max(per_worker) - min(per_worker) <= 2, per_worker


def test_a_killed_worker_is_replaced_while_the_other_answers(server: CharterServer) -> None:
    victim, survivor = workers_of(server)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(REPLACE_TIMEOUT)
    for _ in range(CLIENTS):
        with httpx.Client(base_url=server.url, timeout=REPLACE_TIMEOUT) as client:
            assert client.get("/health").status_code == 200
    workers = workers_of(server)
    pids = {w.pid for w in workers}
    assert survivor.pid in pids
    assert victim.pid not in pids
    assert len(workers) == WORKERS


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
