"""The rules of runs: their life (create, update, delete, restore), what they log (params once,
metric points, tags) and search.

A run accepts logging only while it is active (not deleted), as in MLflow; a finished run still
accepts it. Params never change once logged.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import InvalidArgument, NotFound
from charter.pagination import Page, decode_token, page_size
from charter.tracking import limits
from charter.tracking.experiments import DEFAULT_EXPERIMENT_ID, ExperimentService, paged
from charter.tracking.filters import Condition, Order, ordering_signature
from charter.tracking.models import ACTIVE, DELETED, RUN_STATUSES, Run, RunLatestMetric
from charter.tracking.repository import RunRepository
from charter.tracking.schemas import (
    MetricIn,
    MetricRead,
    ParamIn,
    RunCreate,
    RunInfoRead,
    RunRead,
    TagIn,
)
from charter.tracking.trail import audit, may_read, may_write
from charter.tracking.views import metric_read, run_info, run_reads

RUN_NAME_TAG = "mlflow.runName"
SEARCH_DEFAULT = 1000
SEARCH_MAX = 50000
HISTORY_MAX = 100_000  # points per page of a metric's history

_ADJECTIVES = ("able", "bold", "brave", "calm", "clever", "eager", "gentle", "keen", "merry")
_NOUNS = ("bear", "crane", "fox", "hare", "lynx", "owl", "seal", "wolf", "wren")


def random_run_name() -> str:
    """A readable name for a run started without one, like MLflow's ``bold-owl-123``."""
    adjective, noun = secrets.choice(_ADJECTIVES), secrets.choice(_NOUNS)
    return f"{adjective}-{noun}-{secrets.randbelow(1000)}"


def run_status(value: str) -> str:
    status = value.upper()
    if status not in RUN_STATUSES:
        raise InvalidArgument(
            f"invalid run status {value!r}; expected one of {', '.join(RUN_STATUSES)}",
            field="status",
        )
    return status


def _latest_key(step: int, timestamp: int, value: float, nan: bool) -> tuple[int, int, float]:
    # MLflow's rule: the point with the highest step, then timestamp, then value is the latest.
    return step, timestamp, float("-inf") if nan else value


class RunService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.runs = RunRepository(session)
        self.experiments = ExperimentService(session, ctx)

    # -- reads -------------------------------------------------------------------------------

    def get_row(self, run_id: str | None, *, lock: bool = False) -> Run:
        may_read(self.ctx)
        if not run_id:
            raise InvalidArgument("run_id is required", field="run_id")
        run = self.runs.get(run_id, lock=lock)
        if run is None:
            raise NotFound(f"Run with id={run_id} not found", run_id=run_id)
        return run

    def require_active(self, run_id: str | None, *, lock: bool = False) -> Run:
        run = self.get_row(run_id, lock=lock)
        if run.lifecycle_stage != ACTIVE:
            raise InvalidArgument(
                f"The run {run.id} must be in the 'active' state. "
                f"Current state is {run.lifecycle_stage}.",
                field="run_id",
            )
        return run

    def get(self, run_id: str | None) -> RunRead:
        return run_reads(self.session, [self.get_row(run_id)])[0]

    # -- life --------------------------------------------------------------------------------

    def create(self, request: RunCreate) -> RunRead:
        experiment_id = (
            request.experiment_id if request.experiment_id else str(DEFAULT_EXPERIMENT_ID)
        )
        may_write(self.ctx)
        experiment = self.experiments.require_active(experiment_id)
        tags = self._clean_tags(request.tags)
        name = limits.run_name(request.run_name or tags.get(RUN_NAME_TAG) or random_run_name())
        tags[RUN_NAME_TAG] = name
        run_id = uuid.uuid4().hex
        # With authentication on, the run belongs to who is signed in, not to what it claims.
        user = request.user_id if (request.user_id and not self.ctx.governed) else None
        run = self.runs.add(
            Run(
                id=run_id,
                experiment_id=experiment.id,
                name=name,
                user_id=user or self.ctx.actor.name,
                status="RUNNING",
                start_time=request.start_time if request.start_time is not None else now_ms(),
                artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
                lifecycle_stage=ACTIVE,
            )
        )
        self.runs.set_tags(run.id, tags)
        after = {"experiment_id": str(experiment.id), "name": name}
        audit(self.session, self.ctx, "run.create", run.id, after=after)
        return run_reads(self.session, [run])[0]

    def update(
        self, run_id: str | None, status: str | None, end_time: int | None, name: str | None
    ) -> RunInfoRead:
        may_write(self.ctx)
        run = self.require_active(run_id)
        if status is not None:
            run.status = run_status(status)
        if end_time is not None:
            run.end_time = end_time
        if name:
            run.name = limits.run_name(name)
            self.runs.set_tags(run.id, {RUN_NAME_TAG: run.name})
        self.session.flush()
        after = {"status": run.status, "end_time": run.end_time, "name": run.name}
        audit(self.session, self.ctx, "run.update", run.id, after=after)
        return run_info(run)

    def delete(self, run_id: str | None) -> None:
        may_write(self.ctx)
        run = self.get_row(run_id)
        run.lifecycle_stage, run.deleted_at = DELETED, now_ms()
        self.session.flush()
        audit(self.session, self.ctx, "run.delete", run.id)

    def restore(self, run_id: str | None) -> None:
        may_write(self.ctx)
        run = self.get_row(run_id)
        run.lifecycle_stage, run.deleted_at = ACTIVE, None
        self.session.flush()
        audit(self.session, self.ctx, "run.restore", run.id)

    # -- logging -----------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str | None,
        metrics: Sequence[MetricIn] = (),
        params: Sequence[ParamIn] = (),
        tags: Sequence[TagIn] = (),
    ) -> None:
        """Log all or nothing: every item is checked before anything is written."""
        may_write(self.ctx)
        limits.batch_sizes(len(metrics), len(params), len(tags))
        clean_params = self._clean_params(params)
        clean_tags = self._clean_tags(tags)
        points = [self._point(m, i) for i, m in enumerate(metrics)]
        run = self.require_active(run_id, lock=True)
        self._add_params(run, clean_params)
        self._add_metrics(run, points)
        if clean_tags:
            self.runs.set_tags(run.id, clean_tags)
            if RUN_NAME_TAG in clean_tags:
                run.name = limits.run_name(clean_tags[RUN_NAME_TAG])
        self.session.flush()
        # What was logged, not the values: metrics can be thousands of points.
        after = {"metrics": len(points), "params": sorted(clean_params), "tags": sorted(clean_tags)}
        audit(self.session, self.ctx, "run.log", run.id, after=after)

    def delete_tag(self, run_id: str | None, key: str) -> None:
        may_write(self.ctx)
        run = self.require_active(run_id)
        if not self.runs.delete_tag(run.id, key):
            raise NotFound(f"No tag with name: {key} in run with id {run.id}", key=key)
        audit(self.session, self.ctx, "run.tag.delete", run.id, before={"key": key})

    def _clean_params(self, params: Sequence[ParamIn]) -> dict[str, str]:
        result: dict[str, str] = {}
        duplicates = []
        for param in params:
            key = limits.key(param.key, "param")
            if key in result:
                duplicates.append(key)
            result[key] = limits.param_value(param.value, key)
        if duplicates:
            raise InvalidArgument(
                f"Duplicate parameter keys have been submitted: {duplicates}. Please ensure "
                "the request contains only one param value per param key.",
                field="params",
            )
        return result

    def _clean_tags(self, tags: Sequence[TagIn]) -> dict[str, str]:
        result: dict[str, str] = {}
        for tag in tags:
            key = limits.key(tag.key, "tag")
            result[key] = limits.tag_value(tag.value, key)
        return result

    def _point(self, metric: MetricIn, index: int) -> dict[str, Any]:
        key = limits.metric_point(metric.key, metric.value, metric.timestamp, f"metrics[{index}]")
        nan = limits.is_nan(metric.value)
        return {
            "key": key,
            "value": 0.0 if nan else metric.value,
            "is_nan": nan,
            "timestamp": metric.timestamp,
            "step": metric.step,
            "model_id": metric.model_id or None,
            "dataset_name": metric.dataset_name or None,
            "dataset_digest": metric.dataset_digest or None,
        }

    def _add_params(self, run: Run, params: dict[str, str]) -> None:
        if not params:
            return
        existing = self.runs.existing_params(run.id, list(params))
        changed = [
            {"key": k, "old_value": v, "new_value": params[k]}
            for k, v in existing.items()
            if params[k] != v
        ]
        if changed:
            raise InvalidArgument(
                f"Changing param values is not allowed. Params were already logged='{changed}' "
                f"for run ID='{run.id}'.",
                field="params",
            )
        self.runs.add_params(run.id, {k: v for k, v in params.items() if k not in existing})

    def _add_metrics(self, run: Run, points: list[dict[str, Any]]) -> None:
        if not points:
            return
        for point in points:
            point["run_id"] = run.id
        self.runs.add_metric_points(points)
        latest = {
            row.key: row for row in self.runs.latest_metrics([run.id], [p["key"] for p in points])
        }
        for point in points:
            new_key = _latest_key(
                point["step"], point["timestamp"], point["value"], point["is_nan"]
            )
            row = latest.get(point["key"])
            if row is None:
                row = RunLatestMetric(run_id=run.id, key=point["key"])
                self.runs.add_latest(row)
                latest[point["key"]] = row
            elif _latest_key(row.step, row.timestamp, row.value, row.is_nan) >= new_key:
                continue
            row.value, row.is_nan = point["value"], point["is_nan"]
            row.step, row.timestamp = point["step"], point["timestamp"]

    # -- history and search ------------------------------------------------------------------

    def metric_history(
        self, run_id: str | None, key: str, max_results: int | None, page_token: str | None
    ) -> Page[MetricRead]:
        run = self.get_row(run_id)
        limit = page_size(max_results, default=HISTORY_MAX, maximum=HISTORY_MAX)
        signature = f"history|{run.id}|{key}"
        rows = self.runs.metric_history(run.id, key, limit + 1, decode_token(page_token, signature))
        items, token = paged(rows, limit, signature)
        return Page([metric_read(point) for point in items], token)

    def search(
        self,
        experiment_ids: Sequence[str],
        view_type: str,
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        max_results: int | None,
        page_token: str | None,
    ) -> Page[RunRead]:
        may_read(self.ctx)
        limit = page_size(max_results, default=SEARCH_DEFAULT, maximum=SEARCH_MAX)
        ids = [limits.experiment_id(e, "experiment_ids") for e in experiment_ids]
        signature = f"runs|{view_type}|{ordering_signature(list(orders))}"
        rows = self.runs.search(
            ids, view_type, conditions, orders, limit + 1, decode_token(page_token, signature)
        )
        items, token = paged(rows, limit, signature)
        return Page(run_reads(self.session, items), token)
