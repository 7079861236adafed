"""Every query about experiments and runs: what runs log, their inputs and outputs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from charter.errors import InvalidArgument
from charter.pagination import KeyValue
from charter.querying import SortColumn
from charter.tracking.filters import Condition, Order
from charter.tracking.models import (
    ACTIVE,
    DELETED,
    Dataset,
    Experiment,
    ExperimentTag,
    Run,
    RunDatasetInput,
    RunDatasetInputTag,
    RunLatestMetric,
    RunMetric,
    RunModelLink,
    RunParam,
    RunTag,
)
from charter.tracking.search_sql import KeyValueTable, Searchable, compare, keyset_page


def _dataset_condition(condition: Condition) -> ColumnElement[bool]:
    """``datasets.name``, ``datasets.digest`` and ``datasets.context`` of a run's inputs."""
    used = and_(RunDatasetInput.run_id == Run.id, Dataset.id == RunDatasetInput.dataset_id)
    if condition.key == "context":
        tagged = exists().where(
            RunDatasetInputTag.run_id == Run.id,
            RunDatasetInputTag.dataset_id == Dataset.id,
            RunDatasetInputTag.key == "mlflow.data.context",
            compare(RunDatasetInputTag.value, condition, numeric=False),
        )
        return exists().where(used, tagged)
    columns = {"name": Dataset.name, "digest": Dataset.digest}
    if condition.key not in columns:
        raise InvalidArgument(
            f"cannot filter runs by datasets.{condition.key}; expected name, digest or context",
            field="filter",
        )
    return exists().where(used, compare(columns[condition.key], condition, numeric=False))


EXPERIMENTS = Searchable(
    name="experiments",
    owner_id=Experiment.id,
    attributes={
        "name": Experiment.name,
        "creation_time": Experiment.created_at,
        "last_update_time": Experiment.updated_at,
        "experiment_id": Experiment.id,
    },
    numeric=frozenset({"creation_time", "last_update_time", "experiment_id"}),
    key_values={
        "tag": KeyValueTable(ExperimentTag.experiment_id, ExperimentTag.key, ExperimentTag.value)
    },
)

RUNS = Searchable(
    name="runs",
    owner_id=Run.id,
    attributes={
        "run_id": Run.id,
        "run_name": Run.name,
        "status": Run.status,
        "user_id": Run.user_id,
        "artifact_uri": Run.artifact_uri,
        "start_time": Run.start_time,
        "created": Run.start_time,
        "Created": Run.start_time,
        "end_time": Run.end_time,
    },
    numeric=frozenset({"start_time", "created", "Created", "end_time"}),
    key_values={
        "tag": KeyValueTable(RunTag.run_id, RunTag.key, RunTag.value),
        "param": KeyValueTable(RunParam.run_id, RunParam.key, RunParam.value),
        "metric": KeyValueTable(
            RunLatestMetric.run_id, RunLatestMetric.key, RunLatestMetric.value, numeric=True
        ),
    },
    extra={"dataset": _dataset_condition},
)


def _stages(view_type: str) -> tuple[str, ...]:
    return {"ACTIVE_ONLY": (ACTIVE,), "DELETED_ONLY": (DELETED,)}.get(view_type, (ACTIVE, DELETED))


class ExperimentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, experiment: Experiment) -> Experiment:
        self.session.add(experiment)
        self.session.flush()
        return experiment

    def get(self, experiment_id: int) -> Experiment | None:
        return self.session.get(Experiment, experiment_id)

    def get_by_name(self, name: str) -> Experiment | None:
        return self.session.scalars(select(Experiment).where(Experiment.name == name)).first()

    def tags(self, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = defaultdict(dict)
        if ids:
            rows = self.session.execute(
                select(ExperimentTag.experiment_id, ExperimentTag.key, ExperimentTag.value)
                .where(ExperimentTag.experiment_id.in_(ids))
                .order_by(ExperimentTag.key)
            )
            for owner, key, value in rows:
                result[owner][key] = value
        return result

    def set_tag(self, experiment_id: int, key: str, value: str) -> None:
        tag = self.session.get(ExperimentTag, (experiment_id, key))
        if tag is None:
            self.session.add(ExperimentTag(experiment_id=experiment_id, key=key, value=value))
        else:
            tag.value = value
        self.session.flush()

    def delete_tag(self, experiment_id: int, key: str) -> bool:
        result = self.session.execute(
            delete(ExperimentTag).where(
                ExperimentTag.experiment_id == experiment_id, ExperimentTag.key == key
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_runs_stage(self, experiment_id: int, stage: str, at: int | None) -> None:
        """Delete or restore every run of an experiment along with it, as MLflow does."""
        self.session.execute(
            update(Run)
            .where(Run.experiment_id == experiment_id)
            .values(lifecycle_stage=stage, deleted_at=at)
        )

    def search(
        self,
        view_type: str,
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[tuple[Experiment, list[KeyValue]]]:
        query = select(Experiment).where(Experiment.lifecycle_stage.in_(_stages(view_type)))
        for condition in conditions:
            query = query.where(EXPERIMENTS.condition(condition))
        sorts = [s for order in orders for s in EXPERIMENTS.sort(order)]
        sorts.append(SortColumn(Experiment.id, descending=False))
        return keyset_page(self.session, query, sorts, limit, after)


class RunRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, run: Run) -> Run:
        self.session.add(run)
        self.session.flush()
        return run

    def get(self, run_id: str, *, lock: bool = False) -> Run | None:
        query = select(Run).where(Run.id == run_id)
        if lock:
            # Serialises writers of one run's latest metrics on PostgreSQL; SQLite writers are
            # serialised by BEGIN IMMEDIATE already.
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        if not run_ids:
            return []
        return list(self.session.scalars(select(Run).where(Run.id.in_(run_ids))))

    # -- params and tags ---------------------------------------------------------------------

    def params(self, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return self._key_values(RunParam, run_ids)

    def tags(self, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return self._key_values(RunTag, run_ids)

    def _key_values(
        self, table: type[RunParam] | type[RunTag], run_ids: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = defaultdict(dict)
        if run_ids:
            rows = self.session.execute(
                select(table.run_id, table.key, table.value)
                .where(table.run_id.in_(run_ids))
                .order_by(table.key)
            )
            for owner, key, value in rows:
                result[owner][key] = value
        return result

    def existing_params(self, run_id: str, keys: Sequence[str]) -> dict[str, str]:
        rows = self.session.execute(
            select(RunParam.key, RunParam.value).where(
                RunParam.run_id == run_id, RunParam.key.in_(keys)
            )
        )
        return {row.key: row.value for row in rows}

    def add_params(self, run_id: str, params: dict[str, str]) -> None:
        self.session.add_all(RunParam(run_id=run_id, key=k, value=v) for k, v in params.items())
        self.session.flush()

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            tag = self.session.get(RunTag, (run_id, key))
            if tag is None:
                self.session.add(RunTag(run_id=run_id, key=key, value=value))
            else:
                tag.value = value
        self.session.flush()

    def get_tag(self, run_id: str, key: str) -> str | None:
        tag = self.session.get(RunTag, (run_id, key))
        return tag.value if tag is not None else None

    def delete_tag(self, run_id: str, key: str) -> bool:
        result = self.session.execute(
            delete(RunTag).where(RunTag.run_id == run_id, RunTag.key == key)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- metrics -----------------------------------------------------------------------------

    def add_metric_points(self, points: Sequence[dict[str, Any]]) -> None:
        """Insert history points; a point already there (a retried request) is skipped."""
        if not points:
            return
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        self.session.execute(insert(RunMetric).values(list(points)).on_conflict_do_nothing())

    def latest_metrics(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> list[RunLatestMetric]:
        if not run_ids:
            return []
        query = select(RunLatestMetric).where(RunLatestMetric.run_id.in_(run_ids))
        if keys is not None:
            query = query.where(RunLatestMetric.key.in_(keys))
        return list(self.session.scalars(query.order_by(RunLatestMetric.key)))

    def add_latest(self, row: RunLatestMetric) -> None:
        self.session.add(row)

    def metric_history(
        self, run_id: str, key: str, limit: int, after: Sequence[KeyValue] | None
    ) -> list[tuple[RunMetric, list[KeyValue]]]:
        query = select(RunMetric).where(RunMetric.run_id == run_id, RunMetric.key == key)
        sorts = [
            SortColumn(RunMetric.step, descending=False),
            SortColumn(RunMetric.timestamp, descending=False),
            SortColumn(RunMetric.id, descending=False),
        ]
        return keyset_page(self.session, query, sorts, limit, after)

    # -- inputs and outputs ------------------------------------------------------------------

    def find_dataset(self, experiment_id: int, name: str, digest: str) -> Dataset | None:
        return self.session.scalars(
            select(Dataset).where(
                Dataset.experiment_id == experiment_id,
                Dataset.name == name,
                Dataset.digest == digest,
            )
        ).one_or_none()

    def add_dataset(self, dataset: Dataset) -> Dataset:
        self.session.add(dataset)
        self.session.flush()
        return dataset

    def add_dataset_input(self, run_id: str, dataset_id: int, tags: dict[str, str]) -> None:
        if self.session.get(RunDatasetInput, (run_id, dataset_id)) is None:
            self.session.add(RunDatasetInput(run_id=run_id, dataset_id=dataset_id))
        for key, value in tags.items():
            tag = self.session.get(RunDatasetInputTag, (run_id, dataset_id, key))
            if tag is None:
                self.session.add(
                    RunDatasetInputTag(run_id=run_id, dataset_id=dataset_id, key=key, value=value)
                )
            else:
                tag.value = value
        self.session.flush()

    def dataset_inputs(
        self, run_ids: Sequence[str]
    ) -> dict[str, list[tuple[Dataset, dict[str, str]]]]:
        result: dict[str, list[tuple[Dataset, dict[str, str]]]] = defaultdict(list)
        if not run_ids:
            return result
        rows = self.session.execute(
            select(RunDatasetInput.run_id, Dataset)
            .join(Dataset, Dataset.id == RunDatasetInput.dataset_id)
            .where(RunDatasetInput.run_id.in_(run_ids))
            .order_by(Dataset.id)
        )
        pairs = [(run_id, dataset) for run_id, dataset in rows]
        tags: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
        for run_id, dataset_id, key, value in self.session.execute(
            select(
                RunDatasetInputTag.run_id,
                RunDatasetInputTag.dataset_id,
                RunDatasetInputTag.key,
                RunDatasetInputTag.value,
            ).where(RunDatasetInputTag.run_id.in_(run_ids))
        ):
            tags[(run_id, dataset_id)][key] = value
        for run_id, dataset in pairs:
            result[run_id].append((dataset, tags[(run_id, dataset.id)]))
        return result

    def link_model(self, run_id: str, model_id: str, direction: str, step: int) -> None:
        link = self.session.get(RunModelLink, (run_id, model_id, direction))
        if link is None:
            self.session.add(
                RunModelLink(run_id=run_id, model_id=model_id, direction=direction, step=step)
            )
        else:
            link.step = step
        self.session.flush()

    def model_links(self, run_ids: Sequence[str]) -> dict[str, list[RunModelLink]]:
        result: dict[str, list[RunModelLink]] = defaultdict(list)
        if run_ids:
            rows = self.session.scalars(
                select(RunModelLink)
                .where(RunModelLink.run_id.in_(run_ids))
                .order_by(RunModelLink.model_id)
            )
            for link in rows:
                result[link.run_id].append(link)
        return result

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        experiment_ids: Sequence[int],
        view_type: str,
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[tuple[Run, list[KeyValue]]]:
        query = select(Run).where(
            Run.experiment_id.in_(experiment_ids), Run.lifecycle_stage.in_(_stages(view_type))
        )
        for condition in conditions:
            query = query.where(RUNS.condition(condition))
        sorts = [s for order in orders for s in RUNS.sort(order)]
        # MLflow's tiebreak: newest first, then by id.
        sorts += [SortColumn(Run.start_time, descending=True), SortColumn(Run.id, descending=False)]
        return keyset_page(self.session, query, sorts, limit, after)
