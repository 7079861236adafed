"""The MLflow-compatible API: another view over the same services and tables.

Served under ``/api/2.0/mlflow``, ``/ajax-api/2.0/mlflow`` and ``/api/2.0/mlflow-artifacts``
with MLflow's field names, types, defaults and error statuses, so the official ``mlflow``
client works unchanged.
"""

from __future__ import annotations

from fastapi import FastAPI

from charter.api.mlflow import artifacts, registry, tracking

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
ARTIFACTS_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")


def is_mlflow_path(path: str) -> bool:
    return path.startswith(("/api/2.0/", "/ajax-api/2.0/", "/api/3.0/", "/ajax-api/3.0/"))


def include(app: FastAPI) -> None:
    """Mount every MLflow router under each prefix MLflow clients use."""
    for prefix in PREFIXES:
        app.include_router(registry.router, prefix=prefix, include_in_schema=False)
        app.include_router(tracking.router, prefix=prefix, include_in_schema=False)
    for prefix in ARTIFACTS_PREFIXES:
        app.include_router(artifacts.router, prefix=prefix, include_in_schema=False)
