"""Streams one large file up and down over a plain socket, and the disk's own write ceiling.

The payload is a random 1 MiB block repeated, with a per-run nonce in front so that every
upload is a new blob (a content-addressed store would otherwise skip the write). Its SHA-256
is computed before the clock starts; the client does no hashing while it is timed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loadgen import parse_head

BLOCK = 1 << 20
NONCE = 32
TIMEOUT = 300.0
MB = 1_000_000  # figures are decimal MB/s, as dd prints them


class Payload:
    def __init__(self, size: int) -> None:
        self.size = size
        self.block = os.urandom(BLOCK)
        self.first = os.urandom(NONCE) + self.block[NONCE:]
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        self.sha256 = digest.hexdigest()

    def chunks(self) -> Iterator[bytes]:
        sent = 0
        while sent < self.size:
            chunk = self.first if sent == 0 else self.block
            chunk = chunk[: self.size - sent] if self.size - sent < BLOCK else chunk
            sent += len(chunk)
            yield chunk


@dataclass(frozen=True)
class Transfer:
    status: int
    size: int  # bytes moved in the body
    seconds: float
    body: bytes  # the response body of an upload (empty for downloads)
    headers: dict[str, str]

    @property
    def mb_per_second(self) -> float:
        return self.size / self.seconds / MB if self.seconds > 0 else 0.0

    def json(self) -> dict[str, object]:
        value: dict[str, object] = json.loads(self.body) if self.body else {}
        return value


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _head(method: str, path: str, host: str, port: int, extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n{extra}"
        "Connection: close\r\n\r\n"
    ).encode()


def upload(host: str, port: int, path: str, payload: Payload) -> Transfer:
    extra = f"Content-Type: application/octet-stream\r\nContent-Length: {payload.size}\r\n"
    with _connect(host, port) as sock:
        began = time.perf_counter()
        sock.sendall(_head("PUT", path, host, port, extra))
        try:
            for chunk in payload.chunks():
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (an error); read what it said
        reader = _Reader(sock)
        status, headers = reader.head()
        body = b"".join(reader.body(headers))
        seconds = time.perf_counter() - began
    return Transfer(status, payload.size, seconds, body, headers)


def download(host: str, port: int, path: str) -> Transfer:
    with _connect(host, port) as sock:
        began = time.perf_counter()
        sock.sendall(_head("GET", path, host, port))
        reader = _Reader(sock)
        status, headers = reader.head()
        size = 0
        first = b""
        for chunk in reader.body(headers):
            if not first and status >= 300:
                first = bytes(chunk[:500])
            size += len(chunk)
        seconds = time.perf_counter() - began
    return Transfer(status, size, seconds, first, headers)


class _Reader:
    """A response read straight off the socket: the head, then the body in ≤ 1 MiB pieces."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()
        self.buffer = bytearray(BLOCK)

    def _recv(self) -> bytes:
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            return data
        n = self.sock.recv_into(self.buffer)
        return bytes(memoryview(self.buffer)[:n])

    def head(self) -> tuple[int, dict[str, str]]:
        data = bytearray()
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = self._recv()
            if not chunk:
                raise ConnectionError("connection closed inside the response head")
            data += chunk
        self.pending = data[end + 4 :]
        return parse_head(bytes(data[:end]))

    def body(self, headers: dict[str, str]) -> Iterator[bytes]:
        if "content-length" in headers:
            remaining = int(headers["content-length"])
            while remaining > 0:
                chunk = self._recv()
                if not chunk:
                    raise ConnectionError(f"connection closed with {remaining} bytes to go")
                chunk = chunk[:remaining]
                remaining -= len(chunk)
                yield chunk
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            yield from self._chunks()
        else:
            while chunk := self._recv():
                yield chunk

    def _line(self) -> bytes:
        while (end := self.pending.find(b"\r\n")) < 0:
            chunk = self._recv_more()
            self.pending += chunk
        line = bytes(self.pending[:end])
        del self.pending[: end + 2]
        return line

    def _recv_more(self) -> bytes:
        n = self.sock.recv_into(self.buffer)
        if not n:
            raise ConnectionError("connection closed inside a chunked body")
        return bytes(memoryview(self.buffer)[:n])

    def _chunks(self) -> Iterator[bytes]:
        while size := int(self._line().split(b";")[0], 16):
            while size > 0:
                if not self.pending:
                    self.pending += self._recv_more()
                piece = bytes(self.pending[:size])
                del self.pending[: len(piece)]
                size -= len(piece)
                yield piece
            self._line()  # the CRLF after the chunk


def disk_write_ceiling(directory: Path, mib: int = 1024) -> float:
    """``dd if=/dev/zero bs=1M count=N conv=fdatasync`` in ``directory``, in MB/s."""
    target = directory / "dd.bin"
    try:
        done = subprocess.run(
            ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}", "conv=fdatasync"],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    finally:
        target.unlink(missing_ok=True)
    # "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 1.23 s, 873 MB/s"
    match = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", done.stderr)
    if not match:
        raise RuntimeError(f"unexpected dd output: {done.stderr!r}")
    return int(match.group(1)) / float(match.group(2)) / MB
