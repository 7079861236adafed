"""Mounts every MLflow router under each prefix MLflow clients use."""

from __future__ import annotations

from fastapi import FastAPI

from charter.api.mlflow import artifacts, registry, tracking
from charter.api.mlflow.paths import ARTIFACTS_PREFIXES, PREFIXES


def include(app: FastAPI) -> None:
    for prefix in PREFIXES:
        app.include_router(registry.router, prefix=prefix, include_in_schema=False)
        app.include_router(tracking.router, prefix=prefix, include_in_schema=False)
    for prefix in ARTIFACTS_PREFIXES:
        app.include_router(artifacts.router, prefix=prefix, include_in_schema=False)
