"""The rules of experiments: names, artifact locations, deletion with their runs, search.

Experiment "0" ("Default") exists from the first migration on, as in MLflow, because clients
log to it when no experiment is chosen; it cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import AlreadyExists, InvalidArgument, NotFound
from charter.pagination import KeyValue, Page, decode_token, encode_token, page_size
from charter.tracking import limits
from charter.tracking.artifact_store import ARTIFACTS_SCHEME, clean_path, namespace_path
from charter.tracking.filters import Condition, Order, ordering_signature
from charter.tracking.models import ACTIVE, DELETED, Experiment
from charter.tracking.repository import ExperimentRepository
from charter.tracking.schemas import ExperimentRead, TagIn
from charter.tracking.trail import audit, may_read, may_write
from charter.tracking.views import experiment_reads

DEFAULT_EXPERIMENT_ID = 0
SEARCH_DEFAULT = 1000
SEARCH_MAX = 50000

T = TypeVar("T")


def paged(
    rows: list[tuple[T, list[KeyValue]]], limit: int, signature: str
) -> tuple[list[T], str | None]:
    """The page's items, and the token of the next page when there is one (rows holds one
    row more than the page to tell)."""
    token = None
    if len(rows) > limit:
        rows = rows[:limit]
        token = encode_token(signature, rows[-1][1])
    return [row for row, _ in rows], token


def experiment_tags(tags: Sequence[TagIn]) -> dict[str, str]:
    result: dict[str, str] = {}
    for tag in tags:
        key = limits.key(tag.key, "tag")
        result[key] = limits.length(
            tag.value, limits.MAX_EXPERIMENT_TAG_VAL_LENGTH, f"value of tag {key!r}", "value"
        )
    return result


class ExperimentService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.experiments = ExperimentRepository(session)

    def get_row(self, experiment_id: str | int) -> Experiment:
        may_read(self.ctx)
        experiment = self.experiments.get(limits.experiment_id(experiment_id))
        if experiment is None:
            raise NotFound(
                f"No Experiment with id={experiment_id} exists", experiment_id=str(experiment_id)
            )
        return experiment

    def require_active(self, experiment_id: str | int) -> Experiment:
        experiment = self.get_row(experiment_id)
        if experiment.lifecycle_stage != ACTIVE:
            raise InvalidArgument(
                f"The experiment {experiment.id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}.",
                field="experiment_id",
            )
        return experiment

    def get(self, experiment_id: str | int) -> ExperimentRead:
        return experiment_reads(self.session, [self.get_row(experiment_id)])[0]

    def get_by_name(self, name: str) -> ExperimentRead:
        may_read(self.ctx)
        experiment = self.experiments.get_by_name(limits.experiment_name(name))
        if experiment is None:
            raise NotFound(f"Could not find experiment with name '{name}'", name=name)
        return experiment_reads(self.session, [experiment])[0]

    def create(
        self, name: str | None, artifact_location: str | None, tags: Sequence[TagIn] = ()
    ) -> str:
        may_write(self.ctx)
        name = limits.experiment_name(name)
        clean_tags = experiment_tags(tags)
        existing = self.experiments.get_by_name(name)
        if existing is not None:
            state = " in deleted state" if existing.lifecycle_stage == DELETED else ""
            raise AlreadyExists(
                f"Experiment(name={name}) already exists{state}.", experiment_name=name
            )
        if artifact_location is not None:
            limits.length(artifact_location, 4096, "artifact_location", "artifact_location")
            inside = namespace_path(artifact_location)
            if inside:
                # Its runs' artifacts will live below it: refuse traversal now, not at upload.
                clean_path(inside)
        # The id is known only after the insert; the default location is derived from it.
        experiment = self.experiments.add(Experiment(name=name, artifact_location=""))
        experiment.artifact_location = artifact_location or f"{ARTIFACTS_SCHEME}:/{experiment.id}"
        for key, value in clean_tags.items():
            self.experiments.set_tag(experiment.id, key, value)
        self.session.flush()
        after = {"name": name, "artifact_location": experiment.artifact_location}
        audit(self.session, self.ctx, "experiment.create", experiment.id, after=after)
        return str(experiment.id)

    def rename(self, experiment_id: str, new_name: str | None) -> None:
        may_write(self.ctx)
        experiment = self.require_active(experiment_id)
        name = limits.experiment_name(new_name)
        other = self.experiments.get_by_name(name)
        if other is not None and other.id != experiment.id:
            raise AlreadyExists(f"Experiment(name={name}) already exists.", experiment_name=name)
        before = {"name": experiment.name}
        experiment.name = name
        self._touch(experiment)
        audit(
            self.session,
            self.ctx,
            "experiment.rename",
            experiment.id,
            before=before,
            after={"name": name},
        )

    def delete(self, experiment_id: str) -> None:
        may_write(self.ctx)
        experiment = self.get_row(experiment_id)
        if experiment.id == DEFAULT_EXPERIMENT_ID:
            raise InvalidArgument(
                "Cannot delete the default experiment '0'. This is an internally reserved "
                "experiment.",
                field="experiment_id",
            )
        self._set_stage(experiment, DELETED)

    def restore(self, experiment_id: str) -> None:
        may_write(self.ctx)
        self._set_stage(self.get_row(experiment_id), ACTIVE)

    def _set_stage(self, experiment: Experiment, stage: str) -> None:
        at = now_ms() if stage == DELETED else None
        experiment.lifecycle_stage = stage
        experiment.deleted_at = at
        self.experiments.set_runs_stage(experiment.id, stage, at)
        self._touch(experiment)
        action = "experiment.delete" if stage == DELETED else "experiment.restore"
        audit(self.session, self.ctx, action, experiment.id)

    def set_tag(self, experiment_id: str, key: str, value: str) -> None:
        may_write(self.ctx)
        experiment = self.require_active(experiment_id)
        for clean_key, clean_value in experiment_tags([TagIn(key=key, value=value)]).items():
            self.experiments.set_tag(experiment.id, clean_key, clean_value)
            after = {"key": clean_key, "value": clean_value}
            audit(self.session, self.ctx, "experiment.tag.set", experiment.id, after=after)
        self._touch(experiment)

    def delete_tag(self, experiment_id: str, key: str) -> None:
        may_write(self.ctx)
        experiment = self.require_active(experiment_id)
        if not self.experiments.delete_tag(experiment.id, key):
            raise NotFound(
                f"No tag with name: {key} in experiment with id {experiment.id}", key=key
            )
        self._touch(experiment)
        audit(self.session, self.ctx, "experiment.tag.delete", experiment.id, before={"key": key})

    def _touch(self, experiment: Experiment) -> None:
        experiment.updated_at = now_ms()
        self.session.flush()

    def search(
        self,
        view_type: str,
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        max_results: int | None,
        page_token: str | None,
    ) -> Page[ExperimentRead]:
        may_read(self.ctx)
        limit = page_size(max_results, default=SEARCH_DEFAULT, maximum=SEARCH_MAX)
        signature = f"experiments|{view_type}|{ordering_signature(list(orders))}"
        rows = self.experiments.search(
            view_type, conditions, orders, limit + 1, decode_token(page_token, signature)
        )
        items, token = paged(rows, limit, signature)
        return Page(experiment_reads(self.session, items), token)
