"""Mounts the MLflow routers under each prefix MLflow clients use.

Each prefix is a sub-application mounted ahead of the native routes: one prefix check sends an
MLflow request to MLflow's own routes, where an included router would have it tried against
every native route first (over 100 µs of each MLflow request). The sub-applications share the
main application's state, error handlers and dependency overrides, so a route behaves the same
wherever it is mounted.

The model registry REST API 2.0 lives in ``registry_models`` and ``registry_versions`` (shapes
in ``registry_schemas``, the search grammar in ``search``); the tracking subset in
``tracking``; the artifact proxy in ``artifacts``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI

from charter.api import errors
from charter.api.mlflow import artifacts, registry_models, registry_versions, tracking
from charter.api.mlflow.paths import ARTIFACTS_PREFIXES, PREFIXES


def include(app: FastAPI) -> None:
    """Mount the MLflow API on ``app``; call it before the native routers are included."""
    for prefix in PREFIXES:
        # The leaf routers, busiest first: FastAPI matches an included router's routes once to
        # choose it and again to dispatch, so each level of nesting costs a second scan.
        routers = (registry_versions.router, registry_models.router, tracking.router)
        app.mount(prefix, _api(app, routers))
    for prefix in ARTIFACTS_PREFIXES:
        app.mount(prefix, _api(app, (artifacts.router,)))


def _api(app: FastAPI, routers: Iterable[APIRouter]) -> FastAPI:
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    api.state = app.state  # request.app is the sub-application: its state is the main one's
    api.dependency_overrides = app.dependency_overrides
    errors.install(api)
    for router in routers:
        api.include_router(router)
    return api
