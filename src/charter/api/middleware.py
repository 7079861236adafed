"""Pure ASGI middleware (no per-request task or body copy): body limits and metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.api.metrics import observe


def _too_large(limit: int) -> bytes:
    return json.dumps(
        {
            "error_code": "REQUEST_LIMIT_EXCEEDED",
            "message": f"request body is larger than the limit of {limit} bytes",
            "details": {"limit": limit},
        }
    ).encode()


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, except on streaming upload routes."""

    def __init__(self, app: ASGIApp, limit: int, is_stream: Callable[[str, str], bool]) -> None:
        self.app = app
        self.limit = limit
        self.is_stream = is_stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_stream(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _too_large(self.limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLargeError(Exception):
    pass


class Metrics:
    """Counts requests and their latency per route template (never per raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None)
            # Under a mounted sub-application (the MLflow API) the route's path is relative to
            # the mount: put the mount's prefix back.
            mounted = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
            template = mounted + template if template else "unmatched"
            observe(scope["method"], template, status, time.perf_counter() - start)
