"""Native routes for lineage: a version's lineage (read, add to, replace while pending), what
it depends on upstream, impact analysis downstream, and OpenLineage exports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from charter.api.deps import ContextDep, SessionDep
from charter.api.routing import TransactionalRoute, on_worker_thread
from charter.lineage.export import OpenLineageExport
from charter.lineage.impact import ImpactQuery, ImpactService
from charter.lineage.schemas import (
    ImpactPage,
    LineageIn,
    LineageRead,
    OpenLineagePage,
    UpstreamRead,
)
from charter.lineage.service import LineageService
from charter.registry.references import parse_selector

router = APIRouter(route_class=TransactionalRoute, prefix="/api/v1", tags=["lineage"])

VERSION = "/models/{name}/versions/{version}/lineage"
MaxResults = Annotated[int | None, Query(ge=1, le=1000)]
Namespace = Annotated[
    str | None, Query(description="OpenLineage namespace of the job and model (default charter).")
]


@router.get(VERSION, response_model=LineageRead)
def get_lineage(name: str, version: str, session: SessionDep, ctx: ContextDep) -> LineageRead:
    return LineageService(session, ctx).get(name, parse_selector(version))


@router.post(VERSION, response_model=LineageRead)
def add_lineage(
    name: str, version: str, body: LineageIn, session: SessionDep, ctx: ContextDep
) -> LineageRead:
    """Add to a version's lineage; once the version is READY, what is recorded cannot change."""
    return LineageService(session, ctx).add(name, parse_selector(version), body)


@router.put(VERSION, response_model=LineageRead)
def replace_lineage(
    name: str, version: str, body: LineageIn, session: SessionDep, ctx: ContextDep
) -> LineageRead:
    """Replace the whole lineage of a PENDING_REGISTRATION version (409 afterwards)."""
    return LineageService(session, ctx).replace(name, parse_selector(version), body)


@router.get(f"{VERSION}/upstream", response_model=UpstreamRead)
@on_worker_thread  # walks the lineage graph: may take tens of milliseconds
def get_upstream(
    name: str,
    version: str,
    session: SessionDep,
    ctx: ContextDep,
    max_depth: Annotated[int | None, Query(ge=0)] = None,
) -> UpstreamRead:
    return LineageService(session, ctx).upstream(name, parse_selector(version), max_depth)


@router.get(f"{VERSION}/openlineage")
@on_worker_thread  # walks the lineage graph: may take tens of milliseconds
def export_version(
    name: str, version: str, session: SessionDep, ctx: ContextDep, namespace: Namespace = None
) -> dict[str, Any]:
    """The version as one OpenLineage RunEvent (COMPLETE), ready to send to a lineage tool."""
    return OpenLineageExport(session, ctx).version(name, parse_selector(version), namespace)


@router.get("/models/{name}/lineage/openlineage", response_model=OpenLineagePage)
@on_worker_thread  # walks the lineage graph: may take tens of milliseconds
def export_model(
    name: str,
    session: SessionDep,
    ctx: ContextDep,
    namespace: Namespace = None,
    max_results: MaxResults = None,
    page_token: str | None = None,
) -> OpenLineagePage:
    page = OpenLineageExport(session, ctx).model(name, namespace, max_results, page_token)
    return OpenLineagePage(events=page.items, next_page_token=page.next_page_token)


@router.get("/lineage/impact", response_model=ImpactPage)
@on_worker_thread  # walks the lineage graph: may take tens of milliseconds
def impact(
    session: SessionDep,
    ctx: ContextDep,
    dataset: Annotated[str | None, Query(description="Dataset URI.")] = None,
    snapshot: Annotated[str | None, Query(description="Only this snapshot of it.")] = None,
    commit: Annotated[str | None, Query(description="Commit SHA.")] = None,
    repo: Annotated[str | None, Query(description="Only commits of this repository.")] = None,
    feature: Annotated[str | None, Query(description="Feature view (or set) name.")] = None,
    feature_store: str | None = None,
    feature_version: str | None = None,
    parent: Annotated[str | None, Query(description="name/3, name@alias or name/Stage")] = None,
    live_only: Annotated[
        bool, Query(description="Only versions holding an alias or stage.")
    ] = False,
    transitive: Annotated[bool, Query(description="Follow parent edges downstream.")] = True,
    max_results: MaxResults = None,
    page_token: str | None = None,
) -> ImpactPage:
    """Which versions were built from a dataset, commit, feature view or parent version."""
    query = ImpactQuery(
        dataset=dataset,
        snapshot=snapshot,
        commit=commit,
        repo=repo,
        feature=feature,
        feature_store=feature_store,
        feature_version=feature_version,
        parent=parent,
    )
    page = ImpactService(session, ctx).impact(
        query,
        live_only=live_only,
        transitive=transitive,
        max_results=max_results,
        page_token=page_token,
    )
    return ImpactPage(versions=page.items, next_page_token=page.next_page_token)
