"""Every query about logged models (MLflow 3): their tags, params and metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from charter.pagination import KeyValue
from charter.querying import SortColumn
from charter.tracking.filters import Condition, Order
from charter.tracking.models import LoggedModel, LoggedModelParam, LoggedModelTag, RunMetric
from charter.tracking.search_sql import KeyValueTable, Searchable, keyset_page

KeyValueRow = TypeVar("KeyValueRow", LoggedModelTag, LoggedModelParam)

LOGGED_MODELS = Searchable(
    name="logged models",
    owner_id=LoggedModel.id,
    attributes={
        "name": LoggedModel.name,
        "model_id": LoggedModel.id,
        "source_run_id": LoggedModel.source_run_id,
        "status": LoggedModel.status,
        "model_type": LoggedModel.model_type,
        "creation_timestamp": LoggedModel.created_at,
        "creation_time": LoggedModel.created_at,
        "last_updated_timestamp": LoggedModel.updated_at,
    },
    numeric=frozenset({"creation_timestamp", "creation_time", "last_updated_timestamp"}),
    key_values={
        "tag": KeyValueTable(LoggedModelTag.model_id, LoggedModelTag.key, LoggedModelTag.value),
        "param": KeyValueTable(
            LoggedModelParam.model_id, LoggedModelParam.key, LoggedModelParam.value
        ),
        "metric": KeyValueTable(
            RunMetric.model_id,
            RunMetric.key,
            RunMetric.value,
            numeric=True,
            newest_first=(RunMetric.step, RunMetric.timestamp),
        ),
    },
)


class LoggedModelRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, model: LoggedModel) -> LoggedModel:
        self.session.add(model)
        self.session.flush()
        return model

    def get(self, model_id: str) -> LoggedModel | None:
        return self.session.get(LoggedModel, model_id)

    def by_run_and_name(self, run_id: str, name: str) -> list[LoggedModel]:
        """Live logged models a run produced under a name, newest first."""
        return list(
            self.session.scalars(
                select(LoggedModel)
                .where(
                    LoggedModel.source_run_id == run_id,
                    LoggedModel.name == name,
                    LoggedModel.deleted_at.is_(None),
                )
                .order_by(LoggedModel.created_at.desc(), LoggedModel.id)
            )
        )

    def tags(self, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return self._key_values(LoggedModelTag, ids)

    def params(self, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return self._key_values(LoggedModelParam, ids)

    def _key_values(
        self, table: type[LoggedModelTag] | type[LoggedModelParam], ids: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = defaultdict(dict)
        if ids:
            rows = self.session.execute(
                select(table.model_id, table.key, table.value)
                .where(table.model_id.in_(ids))
                .order_by(table.key)
            )
            for owner, key, value in rows:
                result[owner][key] = value
        return result

    def metrics(self, ids: Sequence[str]) -> dict[str, list[RunMetric]]:
        result: dict[str, list[RunMetric]] = defaultdict(list)
        if ids:
            rows = self.session.scalars(
                select(RunMetric)
                .where(RunMetric.model_id.in_(ids))
                .order_by(RunMetric.key, RunMetric.step, RunMetric.timestamp, RunMetric.id)
            )
            for point in rows:
                if point.model_id is not None:
                    result[point.model_id].append(point)
        return result

    def set_tags(self, model_id: str, tags: dict[str, str]) -> None:
        self._put(LoggedModelTag, model_id, tags)

    def set_params(self, model_id: str, params: dict[str, str]) -> None:
        self._put(LoggedModelParam, model_id, params)

    def _put(
        self,
        table: type[KeyValueRow],
        model_id: str,
        values: dict[str, str],
    ) -> None:
        existing = {
            row.key: row
            for row in self.session.scalars(
                select(table).where(table.model_id == model_id, table.key.in_(list(values)))
            )
        }
        for key, value in values.items():
            if key in existing:
                existing[key].value = value
            else:
                self.session.add(table(model_id=model_id, key=key, value=value))
        self.session.flush()

    def delete_tag(self, model_id: str, key: str) -> bool:
        result = self.session.execute(
            delete(LoggedModelTag).where(
                LoggedModelTag.model_id == model_id, LoggedModelTag.key == key
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def search(
        self,
        experiment_ids: Sequence[int],
        conditions: Sequence[Condition],
        orders: Sequence[Order],
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[tuple[LoggedModel, list[KeyValue]]]:
        query = select(LoggedModel).where(
            LoggedModel.experiment_id.in_(experiment_ids), LoggedModel.deleted_at.is_(None)
        )
        for condition in conditions:
            query = query.where(LOGGED_MODELS.condition(condition))
        sorts = [s for order in orders for s in LOGGED_MODELS.sort(order)]
        # MLflow lists the newest models first when no ordering is asked for.
        sorts += [
            SortColumn(LoggedModel.created_at, descending=True),
            SortColumn(LoggedModel.id, descending=False),
        ]
        return keyset_page(self.session, query, sorts, limit, after)
