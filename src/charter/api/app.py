"""The ASGI application: ``create_app(settings)`` wires routes, errors and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from charter import __version__
from charter.api import errors
from charter.api.middleware import BodyLimit, Metrics
from charter.api.mlflow import mount as mlflow_mount
from charter.api.mlflow.paths import ARTIFACTS_PREFIXES
from charter.api.routes import (
    approvals,
    artifacts,
    audit,
    auth,
    health,
    identity,
    inspection,
    lifecycle,
    lineage,
    modelcards,
    models,
    signatures,
    versions,
)
from charter.api.state import AppState
from charter.config import Settings, get_settings


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = state or AppState.open(settings)
        app.state.charter = opened
        yield
        if state is None:
            opened.close()

    app = FastAPI(
        title="Charter",
        version=__version__,
        description="An open-source model registry with governance built in.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    if state is not None:
        app.state.charter = state
    errors.install(app)
    mlflow_mount.include(app)  # first: a request to MLflow's prefixes skips the native routes
    # Routes are matched one by one in this order: the busiest routers come first.
    for router in (
        versions.router,
        models.router,
        lifecycle.router,
        health.router,
        auth.router,
        identity.router,
        artifacts.router,
        signatures.router,
        modelcards.router,
        approvals.router,
        audit.router,
        lineage.router,
        inspection.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, is_stream=is_stream_upload)
    app.add_middleware(Metrics)
    return app


def is_stream_upload(method: str, path: str) -> bool:
    """Requests whose body is a file streamed to the blob store, exempt from the JSON limit."""
    return artifacts.is_upload(method, path) or (
        method == "PUT" and path.startswith(ARTIFACTS_PREFIXES)
    )


def create_app_from_env() -> FastAPI:
    """Entry point of each server worker process (uvicorn factory)."""
    return create_app(get_settings())
