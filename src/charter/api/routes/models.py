"""Native routes for registered models and their tags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from charter.api.deps import ContextDep, SessionDep
from charter.api.routes.params import parse_order_by, parse_tags
from charter.api.routing import TransactionalRoute
from charter.registry.filters import Condition
from charter.registry.model_service import ModelService
from charter.registry.schemas import ModelCreate, ModelPage, ModelRead, ModelUpdate, TagSet

router = APIRouter(route_class=TransactionalRoute, prefix="/api/v1/models", tags=["models"])


@router.post("", response_model=ModelRead, status_code=201)
def create_model(body: ModelCreate, session: SessionDep, ctx: ContextDep) -> ModelRead:
    view = ModelService(session, ctx).create(body.name, body.description, body.tags)
    return ModelRead.model_validate(view)


@router.get("", response_model=ModelPage)
def search_models(
    session: SessionDep,
    ctx: ContextDep,
    name: str | None = None,
    name_like: Annotated[str | None, Query(description="SQL LIKE pattern, case-sensitive")] = None,
    name_ilike: Annotated[str | None, Query(description="SQL LIKE pattern, any case")] = None,
    tag: Annotated[list[str] | None, Query(description="key=value or key; repeatable")] = None,
    order_by: Annotated[list[str] | None, Query(description="field[:asc|desc]")] = None,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> ModelPage:
    conditions = parse_tags(tag)
    if name is not None:
        conditions.append(Condition("name", "=", name))
    if name_like is not None:
        conditions.append(Condition("name", "LIKE", name_like))
    if name_ilike is not None:
        conditions.append(Condition("name", "ILIKE", name_ilike))
    page = ModelService(session, ctx).search(
        conditions, parse_order_by(order_by), max_results, page_token
    )
    return ModelPage(
        models=[ModelRead.model_validate(m) for m in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/{name}", response_model=ModelRead)
def get_model(name: str, session: SessionDep, ctx: ContextDep) -> ModelRead:
    return ModelRead.model_validate(ModelService(session, ctx).get(name))


@router.patch("/{name}", response_model=ModelRead)
def update_model(name: str, body: ModelUpdate, session: SessionDep, ctx: ContextDep) -> ModelRead:
    view = ModelService(session, ctx).update(name, new_name=body.name, description=body.description)
    return ModelRead.model_validate(view)


@router.delete("/{name}", status_code=204)
def delete_model(name: str, session: SessionDep, ctx: ContextDep) -> Response:
    ModelService(session, ctx).delete(name)
    return Response(status_code=204)


@router.put("/{name}/tags/{key}", response_model=ModelRead)
def set_model_tag(
    name: str, key: str, body: TagSet, session: SessionDep, ctx: ContextDep
) -> ModelRead:
    return ModelRead.model_validate(ModelService(session, ctx).set_tag(name, key, body.value))


@router.delete("/{name}/tags/{key}", status_code=204)
def delete_model_tag(name: str, key: str, session: SessionDep, ctx: ContextDep) -> Response:
    ModelService(session, ctx).delete_tag(name, key)
    return Response(status_code=204)
