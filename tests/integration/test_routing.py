"""Every route that takes a database session commits it on its own thread (no deadlocks)."""

from __future__ import annotations

from fastapi.routing import APIRoute

from charter.api.mlflow import artifacts as mlflow_artifacts
from charter.api.mlflow import registry_models, registry_versions
from charter.api.mlflow import tracking as mlflow_tracking
from charter.api.routes import (
    approvals,
    artifacts,
    audit,
    auth,
    health,
    identity,
    inspection,
    lifecycle,
    models,
    versions,
)
from charter.api.routing import TransactionalRoute, _takes_session

ROUTERS = [
    approvals.router,
    artifacts.router,
    audit.router,
    auth.router,
    health.router,
    identity.router,
    inspection.router,
    lifecycle.router,
    models.router,
    versions.router,
    mlflow_artifacts.router,
    registry_models.router,
    registry_versions.router,
    mlflow_tracking.router,
]


def test_routes_with_a_session_are_transactional() -> None:
    plain = [
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and not isinstance(route, TransactionalRoute)
        and _takes_session(getattr(route.endpoint, "__wrapped__", route.endpoint))
    ]
    assert plain == []


def test_there_are_transactional_routes_in_every_api() -> None:
    for router in (models.router, mlflow_tracking.router, registry_models.router):
        assert any(isinstance(r, TransactionalRoute) for r in router.routes)
