"""What a run used and produced: dataset inputs, logged models in and out, and MLflow 2's
model history tag. These are a registered version's lineage, so they are kept as rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.errors import InvalidArgument, NotFound
from charter.tracking import limits
from charter.tracking.model_repository import LoggedModelRepository
from charter.tracking.models import INPUT, OUTPUT, Dataset, Run
from charter.tracking.repository import RunRepository
from charter.tracking.runs import RunService
from charter.tracking.schemas import DatasetIn, DatasetInputIn, ModelInputIn, ModelOutputIn
from charter.tracking.trail import audit, may_write

MODEL_HISTORY_TAG = "mlflow.log-model.history"


def _dataset_fields(dataset: DatasetIn) -> DatasetIn:
    checks = (
        (dataset.name, limits.MAX_DATASET_NAME_SIZE, "dataset name", "name"),
        (dataset.digest, limits.MAX_DATASET_DIGEST_SIZE, "dataset digest", "digest"),
        (dataset.source, limits.MAX_DATASET_SOURCE_SIZE, "dataset source", "source"),
        (dataset.schema_ or "", limits.MAX_DATASET_SCHEMA_SIZE, "dataset schema", "schema"),
        (dataset.profile or "", limits.MAX_DATASET_PROFILE_SIZE, "dataset profile", "profile"),
    )
    for value, limit, what, field in checks:
        limits.length(value, limit, what, f"datasets.{field}")
    if not dataset.name or not dataset.digest:
        raise InvalidArgument("a dataset needs a name and a digest", field="datasets")
    return dataset


def _input_tags(item: DatasetInputIn) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in item.tags:
        limits.length(tag.key, limits.MAX_INPUT_TAG_KEY_SIZE, "input tag key", "tags.key")
        tags[tag.key] = limits.length(
            tag.value, limits.MAX_INPUT_TAG_VALUE_SIZE, "input tag value", "tags.value"
        )
    return tags


class RunInputService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.run_service = RunService(session, ctx)
        self.runs = RunRepository(session)
        self.models = LoggedModelRepository(session)

    def log_inputs(
        self,
        run_id: str | None,
        datasets: Sequence[DatasetInputIn],
        models: Sequence[ModelInputIn],
    ) -> None:
        if len(datasets) > limits.MAX_ENTITIES_PER_BATCH:
            raise InvalidArgument(
                f"A request can log at most {limits.MAX_ENTITIES_PER_BATCH} datasets",
                field="datasets",
            )
        may_write(self.ctx)
        checked = [(_dataset_fields(item.dataset), _input_tags(item)) for item in datasets]
        run = self.run_service.require_active(run_id)
        self._require_models([m.model_id for m in models])
        for dataset, tags in checked:
            row = self._dataset(run, dataset)
            self.runs.add_dataset_input(run.id, row.id, tags)
        for model in models:
            self.runs.link_model(run.id, model.model_id, INPUT, 0)
        after = {"datasets": [d.name for d, _ in checked], "models": [m.model_id for m in models]}
        audit(self.session, self.ctx, "run.inputs", run.id, after=after)

    def log_outputs(self, run_id: str | None, models: Sequence[ModelOutputIn]) -> None:
        may_write(self.ctx)
        run = self.run_service.require_active(run_id)
        self._require_models([m.model_id for m in models])
        for model in models:
            self.runs.link_model(run.id, model.model_id, OUTPUT, model.step)
        after = {"models": [m.model_id for m in models]}
        audit(self.session, self.ctx, "run.outputs", run.id, after=after)

    def record_logged_model(self, run_id: str | None, model_json: str) -> None:
        """MLflow 2's ``runs/log-model``: append the model's description to the run's
        ``mlflow.log-model.history`` tag, a JSON list."""
        try:
            model = json.loads(model_json)
        except ValueError as exc:
            raise InvalidArgument("model_json is not valid JSON", field="model_json") from exc
        may_write(self.ctx)
        run = self.run_service.require_active(run_id)
        history = json.loads(self.runs.get_tag(run.id, MODEL_HISTORY_TAG) or "[]")
        history.append(model)
        value = json.dumps(history)
        self.runs.set_tags(run.id, {MODEL_HISTORY_TAG: limits.tag_value(value, MODEL_HISTORY_TAG)})
        audit(self.session, self.ctx, "run.log_model", run.id)

    def _dataset(self, run: Run, dataset: DatasetIn) -> Dataset:
        row = self.runs.find_dataset(run.experiment_id, dataset.name, dataset.digest)
        if row is not None:
            return row
        return self.runs.add_dataset(
            Dataset(
                experiment_id=run.experiment_id,
                name=dataset.name,
                digest=dataset.digest,
                source_type=dataset.source_type,
                source=dataset.source,
                schema=dataset.schema_,
                profile=dataset.profile,
            )
        )

    def _require_models(self, model_ids: list[str]) -> None:
        for model_id in model_ids:
            if self.models.get(model_id) is None:
                raise NotFound(f"Logged model with ID '{model_id}' not found", model_id=model_id)
