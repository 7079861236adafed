"""The rules of logged models (MLflow 3): a model's own artifact location under its experiment,
its status from PENDING to READY (or FAILED), its tags and params, and search.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import InvalidArgument, NotFound
from charter.pagination import Page, decode_token, page_size
from charter.tracking import limits
from charter.tracking.experiments import ExperimentService, paged
from charter.tracking.filters import Condition, Order, ordering_signature
from charter.tracking.model_repository import LoggedModelRepository
from charter.tracking.models import MODEL_FAILED, MODEL_PENDING, MODEL_READY, LoggedModel
from charter.tracking.repository import RunRepository
from charter.tracking.runs import random_run_name
from charter.tracking.schemas import LoggedModelCreate, LoggedModelRead, ParamIn, TagIn
from charter.tracking.trail import audit, may_read, may_write
from charter.tracking.views import logged_model_reads

SEARCH_DEFAULT = 50  # MLflow's default page of logged models
SEARCH_MAX = 50000
MODEL_ID_PREFIX = "m-"

# What a client may send as a final status, and how it is stored.
FINAL_STATUSES = {
    "LOGGED_MODEL_READY": MODEL_READY,
    "READY": MODEL_READY,
    "LOGGED_MODEL_UPLOAD_FAILED": MODEL_FAILED,
    "UPLOAD_FAILED": MODEL_FAILED,
    "FAILED": MODEL_FAILED,
}


def _clean(items: Sequence[ParamIn | TagIn], what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        key = limits.key(item.key, what)
        if what == "param":
            result[key] = limits.param_value(item.value, key)
        else:
            result[key] = limits.tag_value(item.value, key)
    return result


class LoggedModelService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.models = LoggedModelRepository(session)
        self.experiments = ExperimentService(session, ctx)

    def get_row(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        may_read(self.ctx)
        model = self.models.get(model_id)
        if model is None or (model.deleted_at is not None and not allow_deleted):
            raise NotFound(f"Logged model with ID '{model_id}' not found", model_id=model_id)
        return model

    def get(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModelRead:
        model = self.get_row(model_id, allow_deleted=allow_deleted)
        return logged_model_reads(self.session, [model])[0]

    def create(self, request: LoggedModelCreate) -> LoggedModelRead:
        may_write(self.ctx)
        experiment = self.experiments.require_active(request.experiment_id)
        params, tags = _clean(request.params, "param"), _clean(request.tags, "tag")
        if request.source_run_id and RunRepository(self.session).get(request.source_run_id) is None:
            raise NotFound(
                f"Run with id={request.source_run_id} not found", run_id=request.source_run_id
            )
        model_id = f"{MODEL_ID_PREFIX}{uuid.uuid4().hex}"
        location = experiment.artifact_location.rstrip("/")
        model = self.models.add(
            LoggedModel(
                id=model_id,
                experiment_id=experiment.id,
                name=limits.length(request.name or random_run_name(), 500, "model name", "name"),
                model_type=request.model_type or None,
                source_run_id=request.source_run_id or None,
                status=MODEL_PENDING,
                artifact_location=f"{location}/models/{model_id}/artifacts",
                creator=self.ctx.actor.name,
            )
        )
        self.models.set_params(model.id, params)
        self.models.set_tags(model.id, tags)
        after = {
            "experiment_id": str(experiment.id),
            "name": model.name,
            "run_id": model.source_run_id,
        }
        audit(self.session, self.ctx, "logged_model.create", model.id, after=after)
        return logged_model_reads(self.session, [model])[0]

    def finalize(self, model_id: str, status: str) -> LoggedModelRead:
        stored = FINAL_STATUSES.get(status.upper())
        if stored is None:
            raise InvalidArgument(
                f"invalid final status {status!r}; expected LOGGED_MODEL_READY or "
                "LOGGED_MODEL_UPLOAD_FAILED",
                field="status",
            )
        may_write(self.ctx)
        model = self.get_row(model_id)
        model.status = stored
        self._touch(model)
        audit(self.session, self.ctx, "logged_model.finalize", model.id, after={"status": stored})
        return logged_model_reads(self.session, [model])[0]

    def delete(self, model_id: str) -> None:
        may_write(self.ctx)
        model = self.get_row(model_id)
        model.deleted_at = now_ms()
        self._touch(model)
        audit(self.session, self.ctx, "logged_model.delete", model.id)

    def set_tags(self, model_id: str, tags: Sequence[TagIn]) -> None:
        may_write(self.ctx)
        model = self.get_row(model_id)
        clean = _clean(tags, "tag")
        self.models.set_tags(model.id, clean)
        self._touch(model)
        audit(self.session, self.ctx, "logged_model.tag.set", model.id, after=clean)

    def delete_tag(self, model_id: str, key: str) -> None:
        may_write(self.ctx)
        model = self.get_row(model_id)
        if not self.models.delete_tag(model.id, key):
            raise NotFound(f"No tag with key {key!r} on logged model {model_id}", key=key)
        self._touch(model)
        audit(self.session, self.ctx, "logged_model.tag.delete", model.id, before={"key": key})

    def log_params(self, model_id: str, params: Sequence[ParamIn]) -> None:
        may_write(self.ctx)
        model = self.get_row(model_id)
        clean = _clean(params, "param")
        self.models.set_params(model.id, clean)
        self._touch(model)
        audit(
            self.session, self.ctx, "logged_model.params", model.id, after={"params": sorted(clean)}
        )

    def _touch(self, model: LoggedModel) -> None:
        model.updated_at = now_ms()
        self.session.flush()

    def search(
        self,
        experiment_ids: Sequence[str],
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        max_results: int | None,
        page_token: str | None,
    ) -> Page[LoggedModelRead]:
        may_read(self.ctx)
        limit = page_size(max_results, default=SEARCH_DEFAULT, maximum=SEARCH_MAX)
        ids = [limits.experiment_id(e, "experiment_ids") for e in experiment_ids]
        signature = f"logged-models|{ordering_signature(list(orders))}"
        rows = self.models.search(
            ids, conditions, orders, limit + 1, decode_token(page_token, signature)
        )
        items, token = paged(rows, limit, signature)
        return Page(logged_model_reads(self.session, items), token)
