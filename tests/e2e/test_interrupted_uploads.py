"""Uploads cut short, against a real ``charter serve``: by a client that goes away mid-body,
and by the server being killed mid-upload. Neither leaves a half-written blob or manifest
entry, nor a version that claims a file it does not have.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # psutil ships no type stubs
import pytest

from tests.support.server import CharterServer, running_server

pytestmark = pytest.mark.e2e

WORKERS = 2
WAIT_TIMEOUT = 30.0
BODY_SIZE = 16 * 1024 * 1024  # several of the server's 1 MiB write batches
MLMODEL = b"flavors:\n  python_function: {}\n"


def payload(seed: int, size: int = BODY_SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def upload_temp_files(data_dir: Path) -> list[Path]:
    """Upload spool files: the local blob store keeps them in ``artifacts/tmp``."""
    found = []
    for directory in (data_dir / "artifacts" / "tmp", data_dir / "tmp"):
        if directory.is_dir():
            found += [p for p in directory.iterdir() if p.name.startswith("upload-")]
    return found


def blobs(data_dir: Path) -> set[str]:
    """The digests of every blob the store holds (``artifacts/sha256/ab/<hex>``)."""
    root = data_dir / "artifacts" / "sha256"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.is_dir() else set()


def server_processes(server: CharterServer) -> list[psutil.Process]:
    """The ``charter serve`` process of this test (the supervisor, same pid) and its workers."""
    root = psutil.Process(server.pid)
    return [root, *root.children(recursive=True)]


class PartialUpload:
    """A raw HTTP PUT that announces ``total`` bytes and sends only ``sent`` of them."""

    def __init__(self, server: CharterServer, path: str, data: bytes, sent: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_TIMEOUT)
        head = (
            f"PUT {path} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + data[:sent])

    def disconnect(self) -> None:
        self.sock.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[CharterServer]:
    with running_server(data_dir, request=request, workers=WORKERS) as started:
        yield started


def client(server: CharterServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60.0)


def pending_version(http: httpx.Client, model: str = "m") -> str:
    assert http.post("/api/v1/models", json={"name": model}).status_code == 201
    response = http.post(f"/api/v1/models/{model}/versions", json={})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "PENDING_REGISTRATION"
    return f"/api/v1/models/{model}/versions/{response.json()['version']}"


def upload(http: httpx.Client, version: str, path: str, data: bytes) -> None:
    response = http.put(f"{version}/files/{path}", content=data)
    assert response.status_code == 201, response.text
    assert response.json() == {"path": path, "size": len(data), "sha256": sha(data)}


def manifest(http: httpx.Client, version: str) -> dict[str, Any]:
    response = http.get(f"{version}/files")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def interrupt_upload(server: CharterServer, data_dir: Path, url: str, data: bytes) -> None:
    """Send half of ``data`` once the server has started spooling it, then hang up."""
    partial = PartialUpload(server, url, data, len(data) // 2)
    try:
        wait_until(lambda: upload_temp_files(data_dir), "the upload's temp file")
    finally:
        partial.disconnect()


def assert_finalizes_with(http: httpx.Client, version: str, files: dict[str, bytes]) -> None:
    response = http.post(f"{version}/finalize")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "READY"
    assert response.json()["file_count"] == len(files)
    listed = manifest(http, version)["files"]
    assert listed == [
        {"path": path, "size": len(data), "sha256": sha(data)}
        for path, data in sorted(files.items())
    ]
    for path, data in files.items():
        downloaded = http.get(f"{version}/files/{path}")
        assert downloaded.status_code == 200
        assert sha(downloaded.content) == sha(data)
    report = http.post(f"{version}/verify").json()
    assert report["ok"] is True, report


class TestClientDisconnect:
    def test_half_a_body_leaves_no_file_blob_or_temp_file(
        self, server: CharterServer, data_dir: Path
    ) -> None:
        weights = payload(1)
        with client(server) as http:
            version = pending_version(http)

            interrupt_upload(server, data_dir, f"{version}/files/weights.bin", weights)
            wait_until(lambda: not upload_temp_files(data_dir), "the temp file to be removed")

            assert manifest(http, version)["files"] == []
            assert http.get(f"{version}/files/weights.bin").status_code == 404
            stored = blobs(data_dir)
            assert sha(weights) not in stored
            assert sha(weights[: len(weights) // 2]) not in stored
            assert stored == set()
            assert http.get(version).json()["status"] == "PENDING_REGISTRATION"

            # The version is unharmed: a proper upload and a finalize work.
            upload(http, version, "weights.bin", weights)
            assert_finalizes_with(http, version, {"weights.bin": weights})

    def test_finalize_lists_only_files_uploaded_in_full(
        self, server: CharterServer, data_dir: Path
    ) -> None:
        first, replacement, extra = payload(2), payload(3), payload(4)
        with client(server) as http:
            version = pending_version(http)
            upload(http, version, "MLmodel", MLMODEL)
            upload(http, version, "weights.bin", first)

            # A replacement of a file, and a new file, both cut short.
            interrupt_upload(server, data_dir, f"{version}/files/weights.bin", replacement)
            wait_until(lambda: not upload_temp_files(data_dir), "the temp file to be removed")
            interrupt_upload(server, data_dir, f"{version}/files/extra.bin", extra)
            wait_until(lambda: not upload_temp_files(data_dir), "the temp file to be removed")

            assert blobs(data_dir) == {sha(MLMODEL), sha(first)}
            assert_finalizes_with(http, version, {"MLmodel": MLMODEL, "weights.bin": first})
            assert http.get(f"{version}/files/extra.bin").status_code == 404


class TestServerKilled:
    def test_sigkill_mid_upload_then_restart_sweeps_and_recovers(
        self, request: pytest.FixtureRequest, data_dir: Path
    ) -> None:
        weights = payload(5)
        first = CharterServer(data_dir, workers=WORKERS)
        first.start()
        try:
            with client(first) as http:
                version = pending_version(http)
                upload(http, version, "MLmodel", MLMODEL)

            processes = server_processes(first)
            partial = PartialUpload(first, f"{version}/files/weights.bin", weights, BODY_SIZE // 2)
            try:
                wait_until(lambda: upload_temp_files(data_dir), "the upload's temp file")
                # The whole group: the supervisor and the uvicorn workers it forked.
                os.killpg(processes[0].pid, signal.SIGKILL)
                _, alive = psutil.wait_procs(processes, timeout=WAIT_TIMEOUT)
                assert alive == []
            finally:
                partial.disconnect()
        finally:
            first.stop()

        # A crash never makes a half file visible: the temp file stays, no blob, no entry.
        assert upload_temp_files(data_dir) != []
        assert blobs(data_dir) == {sha(MLMODEL)}

        with running_server(data_dir, request=request, workers=WORKERS) as second:
            assert upload_temp_files(data_dir) == []  # swept by `charter serve` at start
            with client(second) as http:
                assert http.get(version).json()["status"] == "PENDING_REGISTRATION"
                files = manifest(http, version)["files"]
                assert files == [{"path": "MLmodel", "size": len(MLMODEL), "sha256": sha(MLMODEL)}]
                assert {f["sha256"] for f in files} <= blobs(data_dir)  # nothing missing
                assert http.post(f"{version}/verify").json()["ok"] is True

                upload(http, version, "weights.bin", weights)
                assert_finalizes_with(http, version, {"MLmodel": MLMODEL, "weights.bin": weights})
