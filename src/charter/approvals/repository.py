"""Every query of the approvals area."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from charter.approvals.models import (
    EXPIRED,
    PENDING_STATUSES,
    PolicyRecord,
    PromotionDecision,
    PromotionRequest,
)
from charter.pagination import KeyValue
from charter.querying import SortColumn, after_key, order_clauses
from charter.registry.models import ModelVersion, RegisteredModel

# Newest first, by id as the tie-break: both lists below page on (time, id).
_POLICY_SORTS = [
    SortColumn(PolicyRecord.version, descending=True),
    SortColumn(PolicyRecord.id, descending=True),
]
_REQUEST_SORTS = [
    SortColumn(PromotionRequest.requested_at, descending=True),
    SortColumn(PromotionRequest.id, descending=True),
]

# A request row with the names a reader needs: its model's name and its version's number.
RequestRow = tuple[PromotionRequest, str, int, str]


class PolicyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, model_id: int | None) -> PolicyRecord | None:
        """The newest policy of a model, or of the global scope when ``model_id`` is None."""
        return self.session.scalars(
            select(PolicyRecord)
            .where(_scope(model_id))
            .order_by(PolicyRecord.version.desc())
            .limit(1)
        ).one_or_none()

    def effective(self, model_id: int) -> PolicyRecord | None:
        """The model's newest policy, else the newest global one: one statement, built once,
        since every governed alias or stage move reads it."""
        return self.session.scalars(_EFFECTIVE, {"model_id": model_id}).one_or_none()

    def latest_version(self, model_id: int | None) -> int:
        value = self.session.scalar(select(func.max(PolicyRecord.version)).where(_scope(model_id)))
        return int(value or 0)

    def add(self, record: PolicyRecord) -> PolicyRecord:
        self.session.add(record)
        self.session.flush()
        return record

    def history(
        self, model_id: int | None, limit: int, after: Sequence[KeyValue] | None
    ) -> list[PolicyRecord]:
        query = select(PolicyRecord).where(_scope(model_id))
        if after is not None:
            query = query.where(after_key(_POLICY_SORTS, after))
        return list(
            self.session.scalars(query.order_by(*order_clauses(_POLICY_SORTS)).limit(limit))
        )


_EFFECTIVE = (
    select(PolicyRecord)
    .where(or_(PolicyRecord.model_id == bindparam("model_id"), PolicyRecord.model_id.is_(None)))
    .order_by(PolicyRecord.model_id.is_(None), PolicyRecord.version.desc())
    .limit(1)
)


def _scope(model_id: int | None) -> ColumnElement[bool]:
    if model_id is None:
        return PolicyRecord.model_id.is_(None)
    return PolicyRecord.model_id == model_id


class PromotionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: PromotionRequest) -> PromotionRequest:
        self.session.add(request)
        self.session.flush()
        return request

    def get(self, request_id: int, *, lock: bool = False) -> RequestRow | None:
        query = _with_names().where(PromotionRequest.id == request_id)
        if lock:
            # Two approvals of one request must not both see "one more needed" and both execute.
            query = query.with_for_update(of=PromotionRequest)
        row = self.session.execute(query).one_or_none()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def pending_for(self, version_id: int, kind: str, label: str, now: int) -> int | None:
        """The id of an unexpired open or blocked request for the same move, if there is one."""
        return self.session.scalar(
            select(PromotionRequest.id).where(
                PromotionRequest.version_id == version_id,
                PromotionRequest.kind == kind,
                PromotionRequest.label == label,
                PromotionRequest.status.in_(PENDING_STATUSES),
                PromotionRequest.expires_at > now,
            )
        )

    def search(
        self,
        *,
        model_id: int | None,
        status: str | None,
        now: int,
        limit: int,
        after: Sequence[KeyValue] | None,
    ) -> list[RequestRow]:
        query = _with_names()
        if model_id is not None:
            query = query.where(PromotionRequest.model_id == model_id)
        if status is not None:
            query = query.where(_status_is(status, now))
        if after is not None:
            query = query.where(after_key(_REQUEST_SORTS, after))
        rows = self.session.execute(query.order_by(*order_clauses(_REQUEST_SORTS)).limit(limit))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def add_decision(self, decision: PromotionDecision) -> None:
        self.session.add(decision)
        self.session.flush()

    def decisions(self, request_ids: Sequence[int]) -> dict[int, list[PromotionDecision]]:
        result: dict[int, list[PromotionDecision]] = defaultdict(list)
        if request_ids:
            rows = self.session.scalars(
                select(PromotionDecision)
                .where(PromotionDecision.request_id.in_(request_ids))
                .order_by(PromotionDecision.decided_at, PromotionDecision.id)
            )
            for row in rows:
                result[row.request_id].append(row)
        return result


def _with_names() -> Select[PromotionRequest, str, int, str]:
    return (
        select(
            PromotionRequest, RegisteredModel.name, ModelVersion.version, ModelVersion.created_by
        )
        .join(RegisteredModel, RegisteredModel.id == PromotionRequest.model_id)
        .join(ModelVersion, ModelVersion.id == PromotionRequest.version_id)
    )


def _status_is(status: str, now: int) -> ColumnElement[bool]:
    """Expiry is computed, not stored: see the statuses in models.py."""
    if status == EXPIRED:
        return and_(
            PromotionRequest.status.in_(PENDING_STATUSES), PromotionRequest.expires_at <= now
        )
    if status in PENDING_STATUSES:
        return and_(PromotionRequest.status == status, PromotionRequest.expires_at > now)
    return PromotionRequest.status == status
