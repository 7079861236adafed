"""MLflow's model registry REST API 2.0: registered models, versions, tags, aliases and stages.

Mounted under ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``. The endpoints live in
``registry_models`` and ``registry_versions``; the shapes in ``registry_schemas``; the search
grammar in ``search``.
"""

from __future__ import annotations

from fastapi import APIRouter

from charter.api.mlflow import registry_models, registry_versions
from charter.api.routing import TransactionalRoute

router: APIRouter = APIRouter(route_class=TransactionalRoute)
router.include_router(registry_models.router)
router.include_router(registry_versions.router)

__all__ = ["router"]
