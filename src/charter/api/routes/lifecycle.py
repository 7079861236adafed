"""Native routes for aliases, stages and their history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from charter.api.deps import ContextDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.registry.lifecycle import LifecycleService
from charter.registry.references import parse_selector
from charter.registry.schemas import AliasSet, HoldingPage, HoldingRead, StageSet, VersionRead

router = APIRouter(
    route_class=TransactionalRoute, prefix="/api/v1/models/{name}", tags=["lifecycle"]
)


@router.put("/aliases/{alias}", response_model=VersionRead)
def set_alias(
    name: str, alias: str, body: AliasSet, session: SessionDep, ctx: ContextDep
) -> VersionRead:
    view = LifecycleService(session, ctx).set_alias(name, alias, body.version)
    return VersionRead.model_validate(view)


@router.get("/aliases/{alias}", response_model=VersionRead)
def get_alias(name: str, alias: str, session: SessionDep, ctx: ContextDep) -> VersionRead:
    view = LifecycleService(session, ctx).resolve(name, parse_selector(f"@{alias}"))
    return VersionRead.model_validate(view)


@router.delete("/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, session: SessionDep, ctx: ContextDep) -> Response:
    LifecycleService(session, ctx).delete_alias(name, alias)
    return Response(status_code=204)


@router.post("/versions/{version}/stage", response_model=VersionRead)
def set_stage(
    name: str, version: int, body: StageSet, session: SessionDep, ctx: ContextDep
) -> VersionRead:
    view = LifecycleService(session, ctx).transition_stage(
        name, version, body.stage, archive_existing=body.archive_existing
    )
    return VersionRead.model_validate(view)


@router.get("/history", response_model=HoldingPage)
def lifecycle_history(
    name: str,
    session: SessionDep,
    ctx: ContextDep,
    kind: Annotated[str | None, Query(pattern="^(alias|stage)$")] = None,
    label: Annotated[str | None, Query(description="an alias or a stage name")] = None,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> HoldingPage:
    page = LifecycleService(session, ctx).history(
        name, kind=kind, label=label, max_results=max_results, page_token=page_token
    )
    return HoldingPage(
        history=[HoldingRead.model_validate(h) for h in page.items],
        next_page_token=page.next_page_token,
    )
