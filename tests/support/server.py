"""A real ``charter serve`` on a loopback port, for end-to-end tests (CLI, mlflow, browser).

The server's output goes to a log file, which ``CharterServer.log_text()`` returns and which
``running_server`` prints when the test using it fails, so a failure shows what the server saw.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx
import pytest

from .ports import free_port

CHARTER = Path(sys.executable).with_name("charter")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class ServerStartError(RuntimeError):
    """The server exited, or did not answer /health before the deadline; carries its log."""


class CharterServer:
    """One ``charter serve`` process with its own data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.workers = workers
        self.env = dict(env or {})
        self.extra_args = extra_args
        self.log_path = data_dir.parent / f"charter-serve-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process: ``charter serve``, which becomes its supervisor (same pid)."""
        assert self._process is not None, "the server is not running"
        return self._process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and return once ``/health`` answers 200."""
        if self._process is not None:
            raise RuntimeError("the server is already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(CHARTER),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--workers",
            str(self.workers),
            *self.extra_args,
        ]
        self._log = self.log_path.open("wb")
        # A new session, so that stopping it also stops the worker processes it forks.
        self._process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        try:
            self._wait_for_health(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_for_health(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            while True:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise ServerStartError(
                        f"charter serve exited with {self._process.returncode}:\n{self.log_text()}"
                    )
                try:
                    if http.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"charter serve did not answer /health within {timeout}s:\n"
                        f"{self.log_text()}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server (its whole process group), killing it if it does not stop."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def running_server(
    data_dir: Path,
    *,
    request: pytest.FixtureRequest | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
) -> Iterator[CharterServer]:
    """A started server, stopped afterwards, whose log is shown if the test fails.

    Used in a fixture, pass the fixture's ``request``: a failing test does not raise through
    the fixture, so the count of failed tests tells whether this one failed.
    """
    failed_before = request.session.testsfailed if request is not None else 0
    server = CharterServer(data_dir, env=env, workers=workers)
    server.start()
    failed = True
    try:
        yield server
        failed = request is not None and request.session.testsfailed > failed_before
    finally:
        server.stop()
        if failed:
            _show(request, f"charter serve log ({server.log_path})", server.log_text())


def _show(request: pytest.FixtureRequest | None, title: str, text: str) -> None:
    # Teardown output is captured and dropped when teardown passes: write past the capture.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter") if request else None
    if reporter is not None:
        reporter.write_sep("-", title)
        reporter.write(text + "\n")
    else:
        print(f"--- {title} ---\n{text}", file=sys.stderr)
