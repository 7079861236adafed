"""Native routes for model versions, their tags, and version search across models.

``{version}`` accepts a number, ``@alias`` or a stage name wherever a version is expected.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from charter import naming
from charter.api.deps import ContextDep, SessionDep
from charter.api.routes.params import parse_order_by, parse_tags
from charter.api.routing import TransactionalRoute, json_answer
from charter.registry.filters import Condition
from charter.registry.references import parse_reference, parse_selector
from charter.registry.schemas import (
    TagSet,
    VersionCreate,
    VersionPage,
    VersionRead,
    VersionUpdate,
    version_read_data,
)
from charter.registry.service import VersionService

router = APIRouter(route_class=TransactionalRoute, prefix="/api/v1", tags=["versions"])


@router.post("/models/{name}/versions", response_model=VersionRead, status_code=201)
def create_version(
    name: str, body: VersionCreate, session: SessionDep, ctx: ContextDep
) -> VersionRead:
    view = VersionService(session, ctx).create(
        name,
        source=body.source,
        run_id=body.run_id,
        run_link=body.run_link,
        description=body.description,
        tags=body.tags,
        metrics=body.metrics,
        await_upload=body.await_upload,
    )
    return VersionRead.model_validate(view)


@router.get("/models/{name}/versions", response_model=VersionPage)
def list_versions(
    name: str,
    session: SessionDep,
    ctx: ContextDep,
    tag: Annotated[list[str] | None, Query()] = None,
    status: str | None = None,
    stage: str | None = None,
    alias: str | None = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> Response:
    return search_versions(
        session, ctx, name, tag, status, stage, alias, None, order_by, max_results, page_token
    )


@router.get("/versions", response_model=VersionPage)
def search_versions(
    session: SessionDep,
    ctx: ContextDep,
    model: str | None = None,
    tag: Annotated[list[str] | None, Query(description="key=value or key; repeatable")] = None,
    status: str | None = None,
    stage: str | None = None,
    alias: str | None = None,
    run_id: str | None = None,
    order_by: Annotated[list[str] | None, Query(description="field[:asc|desc]")] = None,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> Response:
    conditions = parse_tags(tag)
    if model is not None:
        conditions.append(Condition("name", "=", naming.model_name(model, "model")))
    if status is not None:
        conditions.append(Condition("status", "=", status))
    if stage is not None:
        conditions.append(Condition("stage", "=", naming.stage(stage)))
    if alias is not None:
        conditions.append(Condition("alias", "=", naming.alias(alias)))
    if run_id is not None:
        conditions.append(Condition("run_id", "=", run_id))
    page = VersionService(session, ctx).search(
        conditions, parse_order_by(order_by), max_results, page_token
    )
    versions = [version_read_data(v) for v in page.items]
    return json_answer({"versions": versions, "next_page_token": page.next_page_token})


@router.get("/resolve", response_model=VersionRead)
def resolve_reference(
    ref: Annotated[str, Query(description="name/3, name@alias or name/Stage")],
    session: SessionDep,
    ctx: ContextDep,
) -> VersionRead:
    name, selector = parse_reference(ref)
    return VersionRead.model_validate(VersionService(session, ctx).get(name, selector))


@router.get("/models/{name}/versions/{version}", response_model=VersionRead)
def get_version(name: str, version: str, session: SessionDep, ctx: ContextDep) -> VersionRead:
    view = VersionService(session, ctx).get(name, parse_selector(version))
    return VersionRead.model_validate(view)


@router.patch("/models/{name}/versions/{version}", response_model=VersionRead)
def update_version(
    name: str, version: str, body: VersionUpdate, session: SessionDep, ctx: ContextDep
) -> VersionRead:
    view = VersionService(session, ctx).update(name, parse_selector(version), body.description)
    return VersionRead.model_validate(view)


@router.delete("/models/{name}/versions/{version}", status_code=204)
def delete_version(name: str, version: str, session: SessionDep, ctx: ContextDep) -> Response:
    VersionService(session, ctx).delete(name, parse_selector(version))
    return Response(status_code=204)


@router.put("/models/{name}/versions/{version}/tags/{key}", response_model=VersionRead)
def set_version_tag(
    name: str, version: str, key: str, body: TagSet, session: SessionDep, ctx: ContextDep
) -> VersionRead:
    view = VersionService(session, ctx).set_tag(name, parse_selector(version), key, body.value)
    return VersionRead.model_validate(view)


@router.delete("/models/{name}/versions/{version}/tags/{key}", status_code=204)
def delete_version_tag(
    name: str, version: str, key: str, session: SessionDep, ctx: ContextDep
) -> Response:
    VersionService(session, ctx).delete_tag(name, parse_selector(version), key)
    return Response(status_code=204)
