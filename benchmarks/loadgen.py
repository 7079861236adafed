"""A closed-loop HTTP/1.1 load generator on raw asyncio protocols (uvloop), in its own process.

Requests are serialised before the clock starts; a response is parsed only as far as its
status line, ``content-length`` / chunked framing and ``connection: close``. Each of
``concurrency`` workers sends its next request when the previous answer is complete, either on
its own kept-alive connection or on a new connection per request (``Connection: close``).
A run stops after ``max_requests`` requests, or once ``max_seconds`` have passed and at least
``min_requests`` are done, or at ``hard_seconds`` whatever the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import cast

OK_STATUSES = frozenset({200, 201, 204})
REQUEST_TIMEOUT = 60.0
ERROR_SAMPLES = 3


@dataclass(frozen=True)
class Request:
    """One request without its ``Connection`` header, which the run adds."""

    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"
    authorization: str | None = None  # the header's value, e.g. "Bearer chr_..."

    def head(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Accept: */*"]
        if self.authorization:
            lines.append(f"Authorization: {self.authorization}")
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True)
class Job:
    host: str
    port: int
    requests: list[Request]  # cycled when max_requests is larger
    concurrency: int
    keep_alive: bool
    max_requests: int
    max_seconds: float
    min_requests: int = 0
    hard_seconds: float = 120.0
    ok_statuses: frozenset[int] = OK_STATUSES


@dataclass
class Result:
    ok: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter[str] = field(default_factory=Counter)  # "HTTP 400", "ConnectionResetError"
    error_samples: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the generator's own user + system time during the run

    @property
    def ops_per_second(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class HttpError(Exception):
    pass


class _Connection(asyncio.Protocol):
    """One client connection; ``exchange`` sends a request and waits for its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False
        self.eof = False
        self.must_close = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._complete()

    def eof_received(self) -> bool:
        self.eof = True
        self._complete()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("connection closed early"))

    def exchange(self, payload: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self.transport.write(payload)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    def _complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        try:
            parsed = _parse_response(self.buffer, self.eof)
        except HttpError as exc:
            self.waiter.set_exception(exc)
            return
        if parsed is not None:
            status, body, must_close = parsed
            self.must_close = must_close
            self.waiter.set_result((status, body))


def _parse_response(buffer: bytearray, eof: bool) -> tuple[int, bytes, bool] | None:
    """(status, body, server closes) once the response in ``buffer`` is whole, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if eof:
            raise HttpError("connection closed inside the response head")
        return None
    status, headers = parse_head(bytes(buffer[:end]))
    must_close = headers.get("connection", "").lower() == "close"
    start = end + 4
    if "content-length" in headers:
        stop = start + int(headers["content-length"])
        return (status, bytes(buffer[start:stop]), must_close) if len(buffer) >= stop else None
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(buffer, start)
        return (status, body, must_close) if body is not None else None
    return (status, bytes(buffer[start:]), True) if eof else None


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and the (lower-cased) headers of a response head without its final CRLF."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise HttpError(f"bad status line {lines[0]!r}") from None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def _dechunk(buffer: bytearray, pos: int) -> bytes | None:
    parts: list[bytes] = []
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        if size == 0:
            return b"".join(parts) if buffer.find(b"\r\n\r\n", line_end) >= 0 else None
        chunk_start = line_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None
        parts.append(bytes(buffer[chunk_start : chunk_start + size]))
        pos = chunk_start + size + 2


async def _run(job: Job) -> Result:
    loop = asyncio.get_running_loop()
    host = f"{job.host}:{job.port}"
    extra = b"\r\n" if job.keep_alive else b"Connection: close\r\n\r\n"
    payloads = [r.head(host) + extra + r.body for r in job.requests]
    result = Result()
    next_index = 0

    async def connect() -> _Connection:
        _, conn = await loop.create_connection(_Connection, job.host, job.port)
        return conn

    pool: list[_Connection | None] = [None] * job.concurrency
    if job.keep_alive:
        pool = list(await asyncio.gather(*(connect() for _ in range(job.concurrency))))
    began = time.perf_counter()
    soft_deadline, hard_deadline = began + job.max_seconds, began + job.hard_seconds

    def take() -> int | None:
        nonlocal next_index
        now = time.perf_counter()
        done = next_index >= job.max_requests or now >= hard_deadline
        if done or (now >= soft_deadline and next_index >= job.min_requests):
            return None
        next_index += 1
        return next_index - 1

    async def worker(slot: int) -> None:
        while (index := take()) is not None:
            conn = pool[slot]
            sent = time.perf_counter()
            try:
                if conn is None or conn.closed or conn.must_close:
                    conn = pool[slot] = await connect()
                status, body = await asyncio.wait_for(
                    conn.exchange(payloads[index % len(payloads)]), REQUEST_TIMEOUT
                )
            except (OSError, TimeoutError, HttpError) as exc:
                if conn is not None:
                    conn.close()
                pool[slot] = None
                _record_error(result, type(exc).__name__, str(exc))
                continue
            if status in job.ok_statuses:
                result.ok += 1
                result.latencies.append(time.perf_counter() - sent)
            else:
                _record_error(result, f"HTTP {status}", body[:300].decode("utf-8", "replace"))
            if not job.keep_alive:
                conn.close()
                pool[slot] = None

    cpu_before = _cpu_seconds()
    await asyncio.gather(*(worker(slot) for slot in range(job.concurrency)))
    result.elapsed = time.perf_counter() - began
    result.cpu_seconds = _cpu_seconds() - cpu_before
    for conn in pool:
        if conn is not None:
            conn.close()
    return result


def _record_error(result: Result, kind: str, detail: str) -> None:
    result.errors[kind] += 1
    if len(result.error_samples) < ERROR_SAMPLES:
        result.error_samples.append(f"{kind}: {detail}")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(pipe: Connection) -> None:
    """The generator process: runs each job it is sent and answers with its result."""
    import uvloop

    with contextlib.suppress(EOFError, KeyboardInterrupt):
        while (job := pipe.recv()) is not None:
            try:
                pipe.send(uvloop.run(_run(job)))
            except Exception as exc:
                pipe.send(exc)


class LoadGenerator:
    """Handle on the generator process; ``run`` blocks until the job is done."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def run(self, job: Job) -> Result:
        self._pipe.send(job)
        if not self._pipe.poll(job.hard_seconds + REQUEST_TIMEOUT + 30):
            raise TimeoutError("the load generator did not finish its job")
        result: Result | Exception = self._pipe.recv()
        if isinstance(result, Exception):
            raise RuntimeError(f"the load generator failed: {result!r}") from result
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.send(None)
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
