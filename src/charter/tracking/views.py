"""Experiments, runs and logged models as MLflow returns them, loaded in batches (no N+1)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from charter.tracking.model_repository import LoggedModelRepository
from charter.tracking.models import (
    INPUT,
    OUTPUT,
    Dataset,
    Experiment,
    LoggedModel,
    Run,
    RunLatestMetric,
    RunMetric,
)
from charter.tracking.repository import ExperimentRepository, RunRepository
from charter.tracking.schemas import (
    DatasetInputRead,
    DatasetRead,
    ExperimentRead,
    LoggedModelDataRead,
    LoggedModelInfoRead,
    LoggedModelRead,
    MetricRead,
    ModelInputRead,
    ModelOutputRead,
    ParamRead,
    RunDataRead,
    RunInfoRead,
    RunInputsRead,
    RunOutputsRead,
    RunRead,
    TagRead,
)

# Logged-model statuses as stored, and as MLflow's proto spells them.
MODEL_STATUS_NAMES = {
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
}


def _tags(values: dict[str, str]) -> list[TagRead]:
    return [TagRead(key=k, value=v) for k, v in values.items()]


def _params(values: dict[str, str]) -> list[ParamRead]:
    return [ParamRead(key=k, value=v) for k, v in values.items()]


def metric_read(row: RunMetric | RunLatestMetric) -> MetricRead:
    value = float("nan") if row.is_nan else row.value
    if isinstance(row, RunMetric):
        return MetricRead(
            key=row.key,
            value=value,
            timestamp=row.timestamp,
            step=row.step,
            model_id=row.model_id,
            dataset_name=row.dataset_name,
            dataset_digest=row.dataset_digest,
            run_id=row.run_id,
        )
    return MetricRead(key=row.key, value=value, timestamp=row.timestamp, step=row.step)


def experiment_reads(session: Session, experiments: Sequence[Experiment]) -> list[ExperimentRead]:
    tags = ExperimentRepository(session).tags([e.id for e in experiments])
    return [
        ExperimentRead(
            experiment_id=str(e.id),
            name=e.name,
            artifact_location=e.artifact_location,
            lifecycle_stage=e.lifecycle_stage,
            creation_time=e.created_at,
            last_update_time=e.updated_at,
            tags=_tags(tags.get(e.id, {})),
        )
        for e in experiments
    ]


def run_info(run: Run) -> RunInfoRead:
    return RunInfoRead(
        run_id=run.id,
        run_uuid=run.id,
        run_name=run.name,
        experiment_id=str(run.experiment_id),
        user_id=run.user_id,
        status=run.status,
        start_time=run.start_time,
        end_time=run.end_time,
        artifact_uri=run.artifact_uri,
        lifecycle_stage=run.lifecycle_stage,
    )


def _dataset_read(dataset: Dataset) -> DatasetRead:
    return DatasetRead(
        name=dataset.name,
        digest=dataset.digest,
        source_type=dataset.source_type,
        source=dataset.source,
        schema_=dataset.schema,
        profile=dataset.profile,
    )


def run_reads(session: Session, runs: Sequence[Run]) -> list[RunRead]:
    repo = RunRepository(session)
    ids = [r.id for r in runs]
    params, tags = repo.params(ids), repo.tags(ids)
    metrics: dict[str, list[MetricRead]] = {}
    for row in repo.latest_metrics(ids):
        metrics.setdefault(row.run_id, []).append(metric_read(row))
    inputs, links = repo.dataset_inputs(ids), repo.model_links(ids)
    reads = []
    for run in runs:
        run_links = links.get(run.id, [])
        reads.append(
            RunRead(
                info=run_info(run),
                data=RunDataRead(
                    metrics=metrics.get(run.id, []),
                    params=_params(params.get(run.id, {})),
                    tags=_tags(tags.get(run.id, {})),
                ),
                inputs=RunInputsRead(
                    dataset_inputs=[
                        DatasetInputRead(tags=_tags(t), dataset=_dataset_read(d))
                        for d, t in inputs.get(run.id, [])
                    ],
                    model_inputs=[
                        ModelInputRead(model_id=link.model_id)
                        for link in run_links
                        if link.direction == INPUT
                    ],
                ),
                outputs=RunOutputsRead(
                    model_outputs=[
                        ModelOutputRead(model_id=link.model_id, step=link.step)
                        for link in run_links
                        if link.direction == OUTPUT
                    ]
                ),
            )
        )
    return reads


def logged_model_reads(session: Session, models: Sequence[LoggedModel]) -> list[LoggedModelRead]:
    repo = LoggedModelRepository(session)
    ids = [m.id for m in models]
    tags, params, metrics = repo.tags(ids), repo.params(ids), repo.metrics(ids)
    return [
        LoggedModelRead(
            info=LoggedModelInfoRead(
                model_id=m.id,
                experiment_id=str(m.experiment_id),
                name=m.name,
                creation_timestamp_ms=m.created_at,
                last_updated_timestamp_ms=m.updated_at,
                artifact_uri=m.artifact_location,
                status=MODEL_STATUS_NAMES.get(m.status, m.status),
                model_type=m.model_type,
                source_run_id=m.source_run_id,
                status_message=m.status_message,
                tags=_tags(tags.get(m.id, {})),
            ),
            data=LoggedModelDataRead(
                params=_params(params.get(m.id, {})),
                metrics=[metric_read(p) for p in metrics.get(m.id, [])],
            ),
        )
        for m in models
    ]
