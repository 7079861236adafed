"""MLflow tracking endpoints: experiments, runs (and what they log) and logged models.

Mounted under ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``. GET calls carry their fields
as query parameters, as the mlflow client sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from charter.api.deps import BlobsDep, ContextDep, ReadSessionDep, SessionDep
from charter.api.mlflow.run_search import parse_filter, parse_order_by
from charter.api.routing import TransactionalRoute
from charter.tracking.artifact_store import ArtifactNamespace
from charter.tracking.experiments import ExperimentService
from charter.tracking.logged_models import LoggedModelService
from charter.tracking.responses import (
    Empty,
    ExperimentCreated,
    ExperimentResponse,
    ExperimentsPage,
    LoggedModelResponse,
    LoggedModelsPage,
    MetricsPage,
    RunArtifacts,
    RunInfoResponse,
    RunResponse,
    RunsPage,
)
from charter.tracking.run_inputs import RunInputService
from charter.tracking.runs import RunService
from charter.tracking.schemas import (
    BatchLog,
    ExperimentCreate,
    ExperimentRef,
    ExperimentSearch,
    ExperimentTagDelete,
    ExperimentTagSet,
    ExperimentUpdate,
    InputsLog,
    KeyValueLog,
    LoggedModelCreate,
    LoggedModelFinalize,
    LoggedModelParamsLog,
    LoggedModelSearch,
    LoggedModelTagsSet,
    MetricIn,
    MetricLog,
    ModelHistoryLog,
    OutputsLog,
    ParamIn,
    RunAddressed,
    RunCreate,
    RunSearch,
    RunTagDelete,
    RunUpdate,
    TagIn,
)


class ProtoJsonRoute(TransactionalRoute):
    """Answers leave out unset (None) fields, as protobuf's JSON mapping does."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        super().__init__(path, endpoint, **kwargs)


router = APIRouter(route_class=ProtoJsonRoute)


# -- experiments ------------------------------------------------------------------------------


@router.post("/experiments/create", response_model=ExperimentCreated)
def create_experiment(
    body: ExperimentCreate, session: SessionDep, ctx: ContextDep
) -> ExperimentCreated:
    experiment_id = ExperimentService(session, ctx).create(
        body.name, body.artifact_location, body.tags
    )
    return ExperimentCreated(experiment_id=experiment_id)


@router.get("/experiments/get", response_model=ExperimentResponse)
def get_experiment(experiment_id: str, session: SessionDep, ctx: ContextDep) -> ExperimentResponse:
    return ExperimentResponse(experiment=ExperimentService(session, ctx).get(experiment_id))


@router.get("/experiments/get-by-name", response_model=ExperimentResponse)
def get_experiment_by_name(
    experiment_name: str, session: SessionDep, ctx: ContextDep
) -> ExperimentResponse:
    return ExperimentResponse(
        experiment=ExperimentService(session, ctx).get_by_name(experiment_name)
    )


@router.post("/experiments/search", response_model=ExperimentsPage)
def search_experiments(
    body: ExperimentSearch, session: ReadSessionDep, ctx: ContextDep
) -> ExperimentsPage:
    page = ExperimentService(session, ctx).search(
        body.view_type,
        parse_filter(body.filter),
        parse_order_by(body.order_by),
        body.max_results,
        body.page_token,
    )
    return ExperimentsPage(experiments=page.items, next_page_token=page.next_page_token)


@router.post("/experiments/delete", response_model=Empty)
def delete_experiment(body: ExperimentRef, session: SessionDep, ctx: ContextDep) -> Empty:
    ExperimentService(session, ctx).delete(body.experiment_id)
    return Empty()


@router.post("/experiments/restore", response_model=Empty)
def restore_experiment(body: ExperimentRef, session: SessionDep, ctx: ContextDep) -> Empty:
    ExperimentService(session, ctx).restore(body.experiment_id)
    return Empty()


@router.post("/experiments/update", response_model=Empty)
def update_experiment(body: ExperimentUpdate, session: SessionDep, ctx: ContextDep) -> Empty:
    ExperimentService(session, ctx).rename(body.experiment_id, body.new_name)
    return Empty()


@router.post("/experiments/set-experiment-tag", response_model=Empty)
def set_experiment_tag(body: ExperimentTagSet, session: SessionDep, ctx: ContextDep) -> Empty:
    ExperimentService(session, ctx).set_tag(body.experiment_id, body.key, body.value)
    return Empty()


@router.post("/experiments/delete-experiment-tag", response_model=Empty)
def delete_experiment_tag(body: ExperimentTagDelete, session: SessionDep, ctx: ContextDep) -> Empty:
    ExperimentService(session, ctx).delete_tag(body.experiment_id, body.key)
    return Empty()


# -- runs -------------------------------------------------------------------------------------


@router.post("/runs/create", response_model=RunResponse)
def create_run(body: RunCreate, session: SessionDep, ctx: ContextDep) -> RunResponse:
    return RunResponse(run=RunService(session, ctx).create(body))


@router.get("/runs/get", response_model=RunResponse)
def get_run(
    session: SessionDep, ctx: ContextDep, run_id: str | None = None, run_uuid: str | None = None
) -> RunResponse:
    return RunResponse(run=RunService(session, ctx).get(run_id or run_uuid))


@router.post("/runs/update", response_model=RunInfoResponse)
def update_run(body: RunUpdate, session: SessionDep, ctx: ContextDep) -> RunInfoResponse:
    info = RunService(session, ctx).update(body.id, body.status, body.end_time, body.run_name)
    return RunInfoResponse(run_info=info)


@router.post("/runs/delete", response_model=Empty)
def delete_run(body: RunAddressed, session: SessionDep, ctx: ContextDep) -> Empty:
    RunService(session, ctx).delete(body.id)
    return Empty()


@router.post("/runs/restore", response_model=Empty)
def restore_run(body: RunAddressed, session: SessionDep, ctx: ContextDep) -> Empty:
    RunService(session, ctx).restore(body.id)
    return Empty()


@router.post("/runs/log-batch", response_model=Empty)
def log_batch(body: BatchLog, session: SessionDep, ctx: ContextDep) -> Empty:
    RunService(session, ctx).log_batch(body.id, body.metrics, body.params, body.tags)
    return Empty()


@router.post("/runs/log-metric", response_model=Empty)
def log_metric(body: MetricLog, session: SessionDep, ctx: ContextDep) -> Empty:
    metric = MetricIn.model_validate(body.model_dump(exclude={"run_id", "run_uuid"}))
    RunService(session, ctx).log_batch(body.id, metrics=[metric])
    return Empty()


@router.post("/runs/log-parameter", response_model=Empty)
def log_param(body: KeyValueLog, session: SessionDep, ctx: ContextDep) -> Empty:
    RunService(session, ctx).log_batch(body.id, params=[ParamIn(key=body.key, value=body.value)])
    return Empty()


@router.post("/runs/set-tag", response_model=Empty)
def set_tag(body: KeyValueLog, session: SessionDep, ctx: ContextDep) -> Empty:
    RunService(session, ctx).log_batch(body.id, tags=[TagIn(key=body.key, value=body.value)])
    return Empty()


@router.post("/runs/delete-tag", response_model=Empty)
def delete_tag(body: RunTagDelete, session: SessionDep, ctx: ContextDep) -> Empty:
    RunService(session, ctx).delete_tag(body.id, body.key)
    return Empty()


@router.post("/runs/log-inputs", response_model=Empty)
def log_inputs(body: InputsLog, session: SessionDep, ctx: ContextDep) -> Empty:
    RunInputService(session, ctx).log_inputs(body.id, body.datasets, body.models)
    return Empty()


@router.post("/runs/outputs", response_model=Empty)
def log_outputs(body: OutputsLog, session: SessionDep, ctx: ContextDep) -> Empty:
    RunInputService(session, ctx).log_outputs(body.id, body.models)
    return Empty()


@router.post("/runs/log-model", response_model=Empty)
def log_model(body: ModelHistoryLog, session: SessionDep, ctx: ContextDep) -> Empty:
    RunInputService(session, ctx).record_logged_model(body.id, body.model_json)
    return Empty()


@router.post("/runs/search", response_model=RunsPage)
def search_runs(body: RunSearch, session: ReadSessionDep, ctx: ContextDep) -> RunsPage:
    page = RunService(session, ctx).search(
        body.experiment_ids,
        body.run_view_type,
        parse_filter(body.filter),
        parse_order_by(body.order_by),
        body.max_results,
        body.page_token,
    )
    return RunsPage(runs=page.items, next_page_token=page.next_page_token)


@router.get("/metrics/get-history", response_model=MetricsPage)
def get_metric_history(
    metric_key: str,
    session: SessionDep,
    ctx: ContextDep,
    run_id: str | None = None,
    run_uuid: str | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> MetricsPage:
    page = RunService(session, ctx).metric_history(
        run_id or run_uuid, metric_key, max_results, page_token
    )
    return MetricsPage(metrics=page.items, next_page_token=page.next_page_token)


@router.get("/artifacts/list", response_model=RunArtifacts)
def list_run_artifacts(
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
    run_id: str | None = None,
    run_uuid: str | None = None,
    path: str | None = None,
) -> RunArtifacts:
    return ArtifactNamespace(session, ctx, blobs).list_run(run_id or run_uuid, path)


# -- logged models ----------------------------------------------------------------------------


@router.post("/logged-models", response_model=LoggedModelResponse)
def create_logged_model(
    body: LoggedModelCreate, session: SessionDep, ctx: ContextDep
) -> LoggedModelResponse:
    return LoggedModelResponse(model=LoggedModelService(session, ctx).create(body))


@router.post("/logged-models/search", response_model=LoggedModelsPage)
def search_logged_models(
    body: LoggedModelSearch, session: ReadSessionDep, ctx: ContextDep
) -> LoggedModelsPage:
    orders = parse_order_by(
        [f"{o.field_name} {'ASC' if o.ascending else 'DESC'}" for o in body.order_by]
    )
    page = LoggedModelService(session, ctx).search(
        body.experiment_ids, parse_filter(body.filter), orders, body.max_results, body.page_token
    )
    return LoggedModelsPage(models=page.items, next_page_token=page.next_page_token)


@router.get("/logged-models/{model_id}", response_model=LoggedModelResponse)
def get_logged_model(
    model_id: str, session: SessionDep, ctx: ContextDep, allow_deleted: bool = False
) -> LoggedModelResponse:
    model = LoggedModelService(session, ctx).get(model_id, allow_deleted=allow_deleted)
    return LoggedModelResponse(model=model)


@router.patch("/logged-models/{model_id}", response_model=LoggedModelResponse)
def finalize_logged_model(
    model_id: str, body: LoggedModelFinalize, session: SessionDep, ctx: ContextDep
) -> LoggedModelResponse:
    return LoggedModelResponse(
        model=LoggedModelService(session, ctx).finalize(model_id, body.status)
    )


@router.delete("/logged-models/{model_id}", response_model=Empty)
def delete_logged_model(model_id: str, session: SessionDep, ctx: ContextDep) -> Empty:
    LoggedModelService(session, ctx).delete(model_id)
    return Empty()


@router.patch("/logged-models/{model_id}/tags", response_model=Empty)
def set_logged_model_tags(
    model_id: str, body: LoggedModelTagsSet, session: SessionDep, ctx: ContextDep
) -> Empty:
    LoggedModelService(session, ctx).set_tags(model_id, body.tags)
    return Empty()


@router.delete("/logged-models/{model_id}/tags/{tag_key:path}", response_model=Empty)
def delete_logged_model_tag(
    model_id: str, tag_key: str, session: SessionDep, ctx: ContextDep
) -> Empty:
    LoggedModelService(session, ctx).delete_tag(model_id, tag_key)
    return Empty()


@router.post("/logged-models/{model_id}/params", response_model=Empty)
def log_logged_model_params(
    model_id: str, body: LoggedModelParamsLog, session: SessionDep, ctx: ContextDep
) -> Empty:
    LoggedModelService(session, ctx).log_params(model_id, body.params)
    return Empty()
