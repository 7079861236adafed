"""Starts and stops the servers under test on loopback ports, each in its own process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
BIN_DIR = Path(sys.executable).parent
CHARTER_WORKERS = 2  # `charter serve` default
MLFLOW_WORKERS = 4  # `mlflow server` default (uvicorn)
START_TIMEOUT = 600.0  # a shared, overloaded machine can take minutes
# uvicorn's log lines (its supervisor kills a worker that misses a 5 s health ping and says so).
WORKER_READY = "Application startup complete"
WORKER_DIED = "] died"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without settings that would steer a server elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHARTER_", "MLFLOW_TRACKING"))}
    env.update(extra)
    return env


class Server:
    """A server process started by ``start`` and stopped (its whole group) by ``stop``."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        health_path: str,
        log: Path,
        workers: int,
        **env: str,
    ) -> None:
        self.name = name
        self.workers = workers
        self.argv = argv
        self.port = port
        self.health_path = health_path
        self.log = log
        self.env = _clean_env(**env)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_offset = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()  # also on Ctrl-C while waiting: never leave a server behind
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log}"
                )
            if self._healthy() and self._log_count(WORKER_READY) >= self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} (with {self.workers} workers) was not ready after "
            f"{START_TIMEOUT:.0f} s; see {self.log}"
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.health_path, timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _log_count(self, needle: str) -> int:
        with open(self.log, "rb") as log:
            log.seek(self.log_offset)
            return log.read().decode("utf-8", "replace").count(needle)

    def restarts(self) -> int:
        """Workers that uvicorn's supervisor found dead or unresponsive and replaced, so far."""
        return self._log_count(WORKER_DIED)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def charter(
    data_dir: Path, port: int, log: Path, workers: int | None = None, *, auth: bool = False
) -> Server:
    argv = [str(BIN_DIR / "charter"), "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    env = {"CHARTER_AUTH": "on"} if auth else {}
    return Server("charter", argv, port, "/health", log, workers or CHARTER_WORKERS, **env)


def create_token(data_dir: Path, role: str = "admin") -> str:
    """A new account with a global role on the installation in ``data_dir``; its token.

    ``charter users create`` acts on the database directly, as an administrator would.
    """
    name = f"bench-{uuid.uuid4().hex[:8]}"
    env = _clean_env(CHARTER_DATA_DIR=str(data_dir))
    result = subprocess.run(
        [str(BIN_DIR / "charter"), "users", "create", name, "--role", role],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    return result.stdout.strip()


def mlflow(data_dir: Path, port: int, log: Path) -> Server:
    argv = [
        str(BIN_DIR / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{data_dir / 'mlflow.db'}",
        "--artifacts-destination",
        str(data_dir / "mlartifacts"),
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    return Server("mlflow", argv, port, "/health", log, MLFLOW_WORKERS)


def bare(port: int, log: Path, workers: int) -> Server:
    argv = [sys.executable, str(BENCH_DIR / "bare_asgi.py"), "--port", str(port)]
    return Server("bare ASGI", [*argv, "--workers", str(workers)], port, "/", log, workers)


def call(url: str, method: str = "GET", body: object | None = None) -> tuple[int, object]:
    """One JSON request for setting up a run (not timed); returns the status and the body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")
