"""Artifacts stream end to end: a 300 MiB upload and download through a real one-worker
``charter serve`` grow the server's resident memory by far less than the file's size.

A resource bound, not a timing one: the server's process tree is sampled every 50 ms and the
peak is compared with the resident size before the transfer.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]  # psutil ships no type stubs
import pytest

from tests.support.server import CharterServer, running_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
FILE_SIZE = 300 * MIB
CHUNK = MIB
MAX_GROWTH = 100 * MIB
SAMPLE_EVERY = 0.05
SEED = 20261129


def generated_chunks(seed: int = SEED) -> Iterator[bytes]:
    """The file's bytes, made on the fly one chunk at a time (never held whole)."""
    generator = random.Random(seed)
    for _ in range(FILE_SIZE // CHUNK):
        yield generator.randbytes(CHUNK)


def expected_digest() -> str:
    digest = hashlib.sha256()
    for chunk in generated_chunks():
        digest.update(chunk)
    return digest.hexdigest()


def server_tree(server: CharterServer) -> psutil.Process:
    return psutil.Process(server.pid)


def tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class RssSampler:
    """Samples the resident size of a process tree every 50 ms, in a thread, while in use."""

    def __init__(self, root: psutil.Process) -> None:
        self.root = root
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss(self.root))
            self.samples += 1
            if self._stop.wait(SAMPLE_EVERY):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.peak = max(self.peak, tree_rss(self.root))


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterServer]:
    with running_server(tmp_path / "data", request=request, workers=1) as started:
        yield started


def test_300_mib_round_trip_keeps_server_memory_flat(server: CharterServer) -> None:
    digest = expected_digest()
    process = server_tree(server)
    with httpx.Client(base_url=server.url, timeout=300.0) as http:
        assert http.post("/api/v1/models", json={"name": "big"}).status_code == 201
        created = http.post("/api/v1/models/big/versions", json={})
        version = f"/api/v1/models/big/versions/{created.json()['version']}"
        # Warm the upload and download paths (imports, thread pool) before the baseline.
        assert http.put(f"{version}/files/warmup.bin", content=b"w" * CHUNK).status_code == 201
        assert http.get(f"{version}/files/warmup.bin").status_code == 200
        baseline = tree_rss(process)

        with RssSampler(process) as upload_memory:
            response = http.put(
                f"{version}/files/weights.bin",
                content=generated_chunks(),
                headers={"content-length": str(FILE_SIZE)},
            )
        assert response.status_code == 201, response.text
        assert response.json() == {"path": "weights.bin", "size": FILE_SIZE, "sha256": digest}

        received = hashlib.sha256()
        size = 0
        with (
            RssSampler(process) as download_memory,
            http.stream("GET", f"{version}/files/weights.bin") as download,
        ):
            assert download.status_code == 200
            assert download.headers["content-length"] == str(FILE_SIZE)
            for chunk in download.iter_bytes(CHUNK):
                received.update(chunk)
                size += len(chunk)

    assert size == FILE_SIZE
    assert received.hexdigest() == digest
    assert upload_memory.samples > 1
    assert download_memory.samples > 1
    growth = {
        "upload": upload_memory.peak - baseline,
        "download": download_memory.peak - baseline,
    }
    assert all(value < MAX_GROWTH for value in growth.values()), {
        k: f"{v / MIB:.1f} MiB" for k, v in growth.items()
    }
