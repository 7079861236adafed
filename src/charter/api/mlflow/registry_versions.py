"""MLflow's model-version and alias endpoints, over the same services as the native API.

Quirks matched (checked against a real ``mlflow server``): a version created from a source is
READY at once, and when the source lies in Charter's own store (``runs:/``,
``mlflow-artifacts:/``, ``models:/m-...``) its manifest is those files and it takes the logged
model's run; the source is checked as MLflow's server checks it (see ``_check_source``); a
``models:/name/<version|stage|latest>`` or ``models:/name@alias`` source is rewritten to
``models:/name/<number>`` and lends its run id; updating without a description clears it;
transition-stage takes stages in any case and ``archive_existing_versions`` only with Staging
or Production (MLflow answers INTERNAL_ERROR otherwise; Charter INVALID_PARAMETER_VALUE); a
missing alias is INVALID_PARAMETER_VALUE and ``latest`` names the newest version; deleting a
missing tag or alias succeeds; search defaults to 200,000 results and at most 200,000, ordered
by last update, newest first. get-download-uri: a version with a manifest answers
``mlflow-artifacts:/_registry/<id>``, a read-only view of exactly its files (see
``charter.tracking.registry_view``), so a version never changes when its run's artifacts do. A
version with only an outside source (s3://...) answers it; one with neither gets 409 rather
than "", which the client would read as its working directory.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter import naming
from charter.api.deps import BlobsDep, ContextDep, SessionDep
from charter.api.mlflow import search
from charter.api.mlflow.registry_schemas import (
    AliasRef,
    AliasSet,
    DownloadUri,
    Empty,
    ModelVersionCreate,
    ModelVersionPage,
    ModelVersionRead,
    ModelVersionRef,
    ModelVersionResponse,
    ModelVersionTagDelete,
    ModelVersionTagSet,
    ModelVersionUpdate,
    SearchQuery,
    StageTransition,
    from_request,
    json_page,
    version_data,
)
from charter.api.routing import TransactionalRoute, on_event_loop
from charter.artifacts.service import ArtifactService
from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.errors import Conflict, InvalidArgument, NotFound
from charter.lineage.from_mlflow import record_registration
from charter.registry.lifecycle import LifecycleService
from charter.registry.models import READY
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService
from charter.registry.views import VersionView
from charter.tracking.artifact_store import ARTIFACTS_SCHEME
from charter.tracking.registry_view import registry_path
from charter.tracking.service import ResolvedSource, TrackingService

router: APIRouter = APIRouter(route_class=TransactionalRoute)

SEARCH_DEFAULT = 200_000  # the proto's default, which the server applies when none is sent
SEARCH_MAXIMUM = 200_000
ARCHIVING_STAGES = ("Staging", "Production")

Create = Annotated[ModelVersionCreate, Depends(from_request(ModelVersionCreate))]
Ref = Annotated[ModelVersionRef, Depends(from_request(ModelVersionRef))]
Update = Annotated[ModelVersionUpdate, Depends(from_request(ModelVersionUpdate))]
Transition = Annotated[StageTransition, Depends(from_request(StageTransition))]
Search = Annotated[SearchQuery, Depends(from_request(SearchQuery))]
TagSet = Annotated[ModelVersionTagSet, Depends(from_request(ModelVersionTagSet))]
TagDelete = Annotated[ModelVersionTagDelete, Depends(from_request(ModelVersionTagDelete))]
AliasBody = Annotated[AliasSet, Depends(from_request(AliasSet))]
Alias = Annotated[AliasRef, Depends(from_request(AliasRef))]


def _one(view: VersionView) -> ModelVersionResponse:
    return ModelVersionResponse(model_version=ModelVersionRead.of(view))


@router.post("/model-versions/create", response_model=ModelVersionResponse)
@on_event_loop  # files a version adopts are already stored: only rows are written
def create_model_version(
    body: Create, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> ModelVersionResponse:
    return _one(register_from_source(session, ctx, blobs, body))


@router.get("/model-versions/get", response_model=ModelVersionResponse)
def get_model_version(body: Ref, session: SessionDep, ctx: ContextDep) -> ModelVersionResponse:
    return _one(VersionService(session, ctx).get(body.name, body.selector()))


@router.patch("/model-versions/update", response_model=ModelVersionResponse)
def update_model_version(
    body: Update, session: SessionDep, ctx: ContextDep
) -> ModelVersionResponse:
    view = VersionService(session, ctx).update(body.name, body.selector(), body.description or "")
    return _one(view)


@router.delete("/model-versions/delete", response_model=Empty)
def delete_model_version(body: Ref, session: SessionDep, ctx: ContextDep) -> Empty:
    VersionService(session, ctx).delete(body.name, body.selector())
    return Empty()


@router.post("/model-versions/transition-stage", response_model=ModelVersionResponse)
def transition_stage(
    body: Transition, session: SessionDep, ctx: ContextDep
) -> ModelVersionResponse:
    stage = naming.stage(body.stage)
    if body.archive_existing_versions and stage not in ARCHIVING_STAGES:
        raise InvalidArgument(
            f"archive_existing_versions needs a target stage of Staging or Production, not {stage}",
            field="archive_existing_versions",
        )
    view = LifecycleService(session, ctx).transition_stage(
        body.name, body.number(), stage, archive_existing=body.archive_existing_versions
    )
    return _one(view)


@router.get("/model-versions/search", response_model=ModelVersionPage)
def search_model_versions(body: Search, session: SessionDep, ctx: ContextDep) -> Response:
    page = VersionService(session, ctx).search(
        search.version_conditions(body.filter),
        search.version_orders(body.order_by),
        SEARCH_DEFAULT if body.max_results is None else body.max_results,
        body.page_token or None,
        max_page=SEARCH_MAXIMUM,
    )
    versions = [version_data(v) for v in page.items]
    return json_page("model_versions", versions, page.next_page_token)


@router.get("/model-versions/get-download-uri", response_model=DownloadUri)
def get_download_uri(body: Ref, session: SessionDep, ctx: ContextDep) -> DownloadUri:
    view = VersionService(session, ctx).get(body.name, body.selector())
    if view.status == READY and view.manifest_digest is not None:
        # The files the version was frozen with, read-only, whatever happens to its source.
        return DownloadUri(artifact_uri=f"{ARTIFACTS_SCHEME}:/{registry_path(view.id)}")
    if not view.source:
        # An empty URI would send the client to its working directory: say what to do instead.
        raise Conflict(
            f"version {view.model}/{view.version} has no source URI and no files yet",
            model=view.model,
        )
    # A source outside Charter (s3://, ...): the client downloads it with its own repositories.
    return DownloadUri(artifact_uri=view.source)


@router.post("/model-versions/set-tag", response_model=Empty)
def set_model_version_tag(body: TagSet, session: SessionDep, ctx: ContextDep) -> Empty:
    VersionService(session, ctx).set_tag(body.name, body.selector(), body.key, body.value)
    return Empty()


@router.delete("/model-versions/delete-tag", response_model=Empty)
def delete_model_version_tag(body: TagDelete, session: SessionDep, ctx: ContextDep) -> Empty:
    VersionService(session, ctx).delete_tag(body.name, body.selector(), body.key, missing_ok=True)
    return Empty()


@router.post("/registered-models/alias", response_model=Empty)
def set_alias(body: AliasBody, session: SessionDep, ctx: ContextDep) -> Empty:
    LifecycleService(session, ctx).assign_alias(body.name, body.alias, body.number())
    return Empty()


@router.delete("/registered-models/alias", response_model=Empty)
def delete_alias(body: Alias, session: SessionDep, ctx: ContextDep) -> Empty:
    LifecycleService(session, ctx).delete_alias(body.name, body.alias, missing_ok=True)
    return Empty()


@router.get("/registered-models/alias", response_model=ModelVersionResponse)
def get_by_alias(body: Alias, session: SessionDep, ctx: ContextDep) -> ModelVersionResponse:
    versions = VersionService(session, ctx)
    if body.alias.lower() == "latest":
        return _one(_latest(versions, body.name))
    view = versions.find(body.name, VersionSelector(alias=naming.alias(body.alias)))
    if view is None:
        # MLflow answers a missing alias with INVALID_PARAMETER_VALUE, and clients rely on it.
        raise InvalidArgument(
            f"registered model alias {body.alias} not found on model {body.name!r}", field="alias"
        )
    return _one(view)


def _latest(versions: VersionService, name: str) -> VersionView:
    newest = versions.latest_in_stages(name)
    if not newest:
        raise NotFound(f"model {name!r} has no versions: no latest version", model=name)
    return max(newest, key=lambda v: v.version)


def register_from_source(
    session: Session, ctx: RequestContext, blobs: BlobStore, body: ModelVersionCreate
) -> VersionView:
    """Create a version from a source URI, READY at once; when the source lies in Charter's
    own artifact store, the version's manifest is taken from those files (nothing is copied)."""
    versions = VersionService(session, ctx)
    source, run_id = _lineage(versions, body)
    _check_source(source, run_id, body.model_id)
    resolved = _manifest_for_source(session, ctx, source, run_id, body.model_id)
    view = versions.create(
        body.name,
        source=source,
        # MLflow records the run of the logged model when the client names none.
        run_id=run_id or (resolved.run_id if resolved else None),
        run_link=body.run_link or None,
        description=body.description,
        tags=body.tag_dict(),
        await_upload=resolved is not None,
    )
    if resolved is not None:
        view = ArtifactService(session, ctx, blobs).adopt_files(
            body.name, VersionSelector(number=view.version), resolved.entries()
        )
    # The run's params, metrics, logged datasets and git commit become the version's lineage.
    record_registration(
        session,
        ctx,
        view.model,
        view.version,
        run_id=view.run_id,
        run_link=view.run_link,
        resolved=resolved,
    )
    return view


def _manifest_for_source(
    session: Session,
    ctx: RequestContext,
    source: str,
    run_id: str | None,
    model_id: str | None,
) -> ResolvedSource | None:
    """The files behind a source inside Charter's own store (a run's or a logged model's
    artifacts), with the run and logged model they belong to; None for a source elsewhere,
    which the version then records with an empty manifest."""
    try:
        resolved = TrackingService(session, ctx).resolve_source(source, run_id, model_id)
    except NotFound as exc:
        # MLflow's server answers a source in an unknown run or logged model as a bad source.
        raise _invalid_source(source, exc.message) from exc
    if resolved is None:
        return None
    # As MLflow's server checks that the run (or logged model) named contains the source.
    if model_id and resolved.model_id not in (None, model_id):
        raise _invalid_source(source, "the model_id request parameter must identify it")
    if run_id and not model_id and resolved.run_id not in (None, run_id):
        raise _invalid_source(source, "the run_id request parameter must identify it")
    return resolved


def _lineage(versions: VersionService, body: ModelVersionCreate) -> tuple[str, str | None]:
    """A source naming a registered version becomes ``models:/name/<number>`` and lends that
    version's run id, as MLflow's server does."""
    parsed = _parse_uri(body.source)
    run_id = body.run_id or None
    if parsed.scheme != "models" or parsed.netloc:
        return body.source, run_id
    reference = _registered_reference(parsed.path)
    if reference is None:
        return body.source, run_id  # models:/<logged model id>
    name, selector = reference
    source_version = _latest(versions, name) if selector is None else versions.get(name, selector)
    if run_id is not None and run_id != (source_version.run_id or ""):
        raise InvalidArgument(
            f"invalid model version source {body.source!r}: run_id {run_id!r} is not the run "
            f"of {name}/{source_version.version}",
            field="run_id",
        )
    return f"models:/{name}/{source_version.version}", run_id or source_version.run_id


def _registered_reference(path: str) -> tuple[str, VersionSelector | None] | None:
    """``/name/3``, ``/name/Stage``, ``/name/latest`` or ``/name@alias``; None for ``/<id>``."""
    parts = path.lstrip("/").split("/")
    if len(parts) == 2 and parts[0] and parts[1]:
        name, suffix = parts
        if suffix.isdigit():
            return name, VersionSelector(number=naming.version_number(suffix))
        if suffix.lower() == "latest":
            return name, None
        return name, VersionSelector(stage=naming.stage(suffix))
    if len(parts) == 1 and "@" in parts[0]:
        name, _, alias = parts[0].rpartition("@")
        return name, VersionSelector(alias=naming.alias(alias))
    if len(parts) == 1 and parts[0]:
        return None
    raise InvalidArgument(
        f"invalid model version source 'models:{path}': expected models:/name/version, "
        "models:/name@alias or models:/<model id>",
        field="source",
    )


def _check_source(source: str, run_id: str | None, model_id: str | None) -> None:
    """MLflow's server checks (``_validate_source_run``/``_validate_source_model``): no local
    paths, no relative segments, and a runs:/, models:/<id> or mlflow-artifacts source must be
    named by the run_id or model_id that contains it."""
    parsed = _parse_uri(source)
    scheme = parsed.scheme.lower()
    owner = "model_id" if model_id else "run_id"
    if scheme in ("", "file"):
        # Charter serves a run's artifacts itself, never from a path on its own disk, so no
        # run or logged model can contain a local path: MLflow with proxied artifacts agrees.
        if not run_id and not model_id:
            raise _invalid_source(
                source,
                "a local path needs the run_id of the run whose artifact directory contains it",
            )
        raise _invalid_source(source, f"the {owner} request parameter must identify it")
    _check_relative_parts(source)
    if scheme == "runs":
        runs_id = parsed.path.lstrip("/").split("/")[0]
        if parsed.netloc or model_id or not run_id or runs_id != run_id:
            raise _invalid_source(source, f"the {owner} request parameter must identify it")
    elif scheme == "models":
        logged = parsed.path.lstrip("/")
        if parsed.netloc or ("/" not in logged and "@" not in logged and logged != model_id):
            raise _invalid_source(source, "the model_id request parameter must identify it")
    elif _is_mlflow_artifacts(parsed) and not (run_id or model_id):
        raise _invalid_source(source, "the run_id request parameter must identify it")


def _parse_uri(source: str) -> urllib.parse.ParseResult:
    try:
        return urllib.parse.urlparse(source, allow_fragments=False)
    except ValueError as exc:  # an unbalanced [ in the host, for one
        raise _invalid_source(source, f"it is not a valid URI ({exc})") from exc


def _check_relative_parts(source: str) -> None:
    unquoted = source
    while (next_round := urllib.parse.unquote_plus(unquoted)) != unquoted:
        unquoted = next_round
    path = _parse_uri(unquoted).path
    if "\x00" in unquoted or any(part in (".", "..") for part in path.split("/")):
        raise _invalid_source(source, "an absolute path without relative references is needed")


def _is_mlflow_artifacts(parsed: urllib.parse.ParseResult) -> bool:
    if parsed.scheme.lower() == "mlflow-artifacts":
        return True
    route = "/api/2.0/mlflow-artifacts/artifacts/"
    return parsed.scheme.lower() in ("http", "https") and route in f"{parsed.path}/"


def _invalid_source(source: str, reason: str) -> InvalidArgument:
    shown = source if len(source) <= 200 else source[:200] + "..."
    return InvalidArgument(f"invalid model version source {shown!r}: {reason}", field="source")
