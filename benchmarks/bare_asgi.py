"""The machine's ceiling: a raw ASGI app answering 200 "ok", under uvicorn like Charter.

Same uvicorn settings as ``charter serve`` (workers, uvloop, httptools with TCP_NODELAY, no
access log), so the only difference from Charter is the application itself.

    python benchmarks/bare_asgi.py --port 8099 --workers 2
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

BODY = b"ok"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    # Drain a request body so kept-alive connections stay in step.
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    import uvicorn

    from charter.api.server import BalancedHttpProtocol

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run(
        "bare_asgi:app",
        app_dir=str(Path(__file__).parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=BalancedHttpProtocol,
        loop="uvloop",
        log_level="info",  # the harness counts worker start-ups in the log
        access_log=False,
        timeout_keep_alive=30,
        server_header=False,
    )


if __name__ == "__main__":
    main()
