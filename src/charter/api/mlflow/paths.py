"""Where the MLflow-compatible API lives: its URL prefixes (importable without the routers)."""

from __future__ import annotations

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
ARTIFACTS_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")


def is_mlflow_path(path: str) -> bool:
    return path.startswith(("/api/2.0/", "/ajax-api/2.0/", "/api/3.0/", "/ajax-api/3.0/"))
