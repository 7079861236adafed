"""MLflow's registered-model endpoints: create, get, rename, update, delete, search,
get-latest-versions and tags, over the same services as the native API.

Quirks matched: ``latest_versions`` holds the newest version in each stage; updating without a
description clears it; deleting a tag that is not there succeeds; get-latest-versions takes
stages in any case, and no stages means every stage; ``max_results`` defaults to 100, at most
1,000 (MLflow answers nonsense for 0 or less; Charter refuses it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.api.deps import ContextDep, ReadSessionDep, SessionDep
from charter.api.mlflow import search
from charter.api.mlflow.registry_schemas import (
    Empty,
    LatestVersionsQuery,
    ModelVersionList,
    RegisteredModelCreate,
    RegisteredModelPage,
    RegisteredModelRead,
    RegisteredModelRef,
    RegisteredModelRename,
    RegisteredModelResponse,
    RegisteredModelTagDelete,
    RegisteredModelTagSet,
    RegisteredModelUpdate,
    SearchQuery,
    from_request,
    json_page,
    model_data,
    version_data,
)
from charter.api.routing import TransactionalRoute
from charter.context import RequestContext
from charter.registry.model_service import ModelService
from charter.registry.service import VersionService
from charter.registry.views import ModelView

router: APIRouter = APIRouter(route_class=TransactionalRoute)

SEARCH_DEFAULT = 100
SEARCH_MAXIMUM = 1000

Create = Annotated[RegisteredModelCreate, Depends(from_request(RegisteredModelCreate))]
Ref = Annotated[RegisteredModelRef, Depends(from_request(RegisteredModelRef))]
Rename = Annotated[RegisteredModelRename, Depends(from_request(RegisteredModelRename))]
Update = Annotated[RegisteredModelUpdate, Depends(from_request(RegisteredModelUpdate))]
Search = Annotated[SearchQuery, Depends(from_request(SearchQuery))]
Latest = Annotated[LatestVersionsQuery, Depends(from_request(LatestVersionsQuery))]
TagSet = Annotated[RegisteredModelTagSet, Depends(from_request(RegisteredModelTagSet))]
TagDelete = Annotated[RegisteredModelTagDelete, Depends(from_request(RegisteredModelTagDelete))]


def registered_models(
    session: Session, ctx: RequestContext, views: list[ModelView]
) -> list[dict[str, Any]]:
    """Models in MLflow's form, with their latest versions fetched in one batch."""
    latest = VersionService(session, ctx).latest_by_stage([v.id for v in views])
    return [model_data(view, latest[view.id]) for view in views]


def _one(session: Session, ctx: RequestContext, view: ModelView) -> RegisteredModelResponse:
    model = RegisteredModelRead.model_validate(registered_models(session, ctx, [view])[0])
    return RegisteredModelResponse(registered_model=model)


@router.post("/registered-models/create", response_model=RegisteredModelResponse)
def create_registered_model(
    body: Create, session: SessionDep, ctx: ContextDep
) -> RegisteredModelResponse:
    view = ModelService(session, ctx).create(body.name, body.description, body.tag_dict())
    return RegisteredModelResponse(registered_model=RegisteredModelRead.of(view, []))


@router.get("/registered-models/get", response_model=RegisteredModelResponse)
def get_registered_model(
    body: Ref, session: SessionDep, ctx: ContextDep
) -> RegisteredModelResponse:
    return _one(session, ctx, ModelService(session, ctx).get(body.name))


@router.post("/registered-models/rename", response_model=RegisteredModelResponse)
def rename_registered_model(
    body: Rename, session: SessionDep, ctx: ContextDep
) -> RegisteredModelResponse:
    view = ModelService(session, ctx).update(body.name, new_name=body.new_name)
    return _one(session, ctx, view)


@router.patch("/registered-models/update", response_model=RegisteredModelResponse)
def update_registered_model(
    body: Update, session: SessionDep, ctx: ContextDep
) -> RegisteredModelResponse:
    view = ModelService(session, ctx).update(body.name, description=body.description or "")
    return _one(session, ctx, view)


@router.delete("/registered-models/delete", response_model=Empty)
def delete_registered_model(body: Ref, session: SessionDep, ctx: ContextDep) -> Empty:
    ModelService(session, ctx).delete(body.name)
    return Empty()


@router.get("/registered-models/search", response_model=RegisteredModelPage)
def search_registered_models(body: Search, session: SessionDep, ctx: ContextDep) -> Response:
    page = ModelService(session, ctx).search(
        search.model_conditions(body.filter),
        search.model_orders(body.order_by),
        SEARCH_DEFAULT if body.max_results is None else body.max_results,
        body.page_token or None,
        max_page=SEARCH_MAXIMUM,
    )
    models = registered_models(session, ctx, page.items)
    return json_page("registered_models", models, page.next_page_token)


@router.post("/registered-models/get-latest-versions", response_model=ModelVersionList)
@router.get("/registered-models/get-latest-versions", response_model=ModelVersionList)
def get_latest_versions(body: Latest, session: ReadSessionDep, ctx: ContextDep) -> Response:
    views = VersionService(session, ctx).latest_in_stages(body.name, body.stages)
    return json_page("model_versions", [version_data(v) for v in views])


@router.post("/registered-models/set-tag", response_model=Empty)
def set_registered_model_tag(body: TagSet, session: SessionDep, ctx: ContextDep) -> Empty:
    ModelService(session, ctx).set_tag(body.name, body.key, body.value)
    return Empty()


@router.delete("/registered-models/delete-tag", response_model=Empty)
def delete_registered_model_tag(body: TagDelete, session: SessionDep, ctx: ContextDep) -> Empty:
    ModelService(session, ctx).delete_tag(body.name, body.key, missing_ok=True)
    return Empty()
