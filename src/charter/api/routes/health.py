"""Liveness, readiness and metrics: the endpoints a load balancer and Prometheus use."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from charter.api import metrics
from charter.api.deps import StateDep
from charter.api.routing import TransactionalRoute
from charter.errors import Unavailable

router = APIRouter(route_class=TransactionalRoute, tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, check in (("database", state.db.ping), ("blob_store", state.blobs.check)):
        try:
            await run_in_threadpool(check)
            checks[name] = "ok"
        except Unavailable as exc:
            checks[name] = exc.message
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
