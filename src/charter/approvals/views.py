"""What the approvals services return: plain values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from charter.approvals.models import (
    APPROVE,
    EXPIRED,
    PENDING_STATUSES,
    PolicyRecord,
    PromotionDecision,
    PromotionRequest,
)
from charter.approvals.policy import ApprovalRequirement, parse_policy
from charter.approvals.protection import EffectivePolicy
from charter.approvals.repository import PromotionRepository, RequestRow
from charter.approvals.rules import Approval, RuleResult, tally


@dataclass(frozen=True)
class PolicyView:
    scope: str  # model | global | default
    model: str | None
    version: int
    document: str
    policy: dict[str, Any]  # the parsed document, as JSON
    created_at: int | None
    created_by: str | None


def policy_view(effective: EffectivePolicy, model: str | None) -> PolicyView:
    record = effective.record
    return PolicyView(
        scope=effective.scope,
        model=model,
        version=effective.version,
        document=effective.document,
        policy=effective.policy.model_dump(mode="json"),
        created_at=record.created_at if record is not None else None,
        created_by=record.created_by if record is not None else None,
    )


def record_view(record: PolicyRecord, scope: str, model: str | None) -> PolicyView:
    return PolicyView(
        scope=scope,
        model=model,
        version=record.version,
        document=record.document,
        policy=parse_policy(record.document).model_dump(mode="json"),
        created_at=record.created_at,
        created_by=record.created_by,
    )


@dataclass(frozen=True)
class DecisionView:
    decision: str
    decided_by: str
    groups: list[str]
    comment: str
    decided_at: int


@dataclass(frozen=True)
class ApprovalsView:
    required: int
    received: int
    approvers: list[str]
    required_groups: list[str]
    missing_groups: list[str]


@dataclass(frozen=True)
class PromotionView:
    id: int
    model: str
    version: int
    version_created_by: str
    kind: str
    label: str
    archive_existing: bool
    justification: str
    status: str
    requested_by: str
    requested_at: int
    expires_at: int
    policy_scope: str
    policy_version: int
    evaluated_at: int
    rules: list[RuleResult]
    rules_passed: bool
    approvals: ApprovalsView
    decisions: list[DecisionView]
    closed_at: int | None
    closed_by: str | None
    forced: bool
    force_reason: str | None


def status_at(request: PromotionRequest, now: int) -> str:
    """The stored status, or ``expired`` for a pending request past its time."""
    if request.status in PENDING_STATUSES and request.expires_at <= now:
        return EXPIRED
    return request.status


def evaluation_document(
    results: list[RuleResult], requirement: ApprovalRequirement
) -> dict[str, Any]:
    """How an evaluation is stored: the rule results and the approvals the policy asked for."""
    return {
        "rules": [r.as_dict() for r in results],
        "approvals": requirement.model_dump(mode="json"),
    }


def promotion_views(session: Session, rows: list[RequestRow], now: int) -> list[PromotionView]:
    """Views of many requests, with their decisions fetched in one query."""
    decisions = PromotionRepository(session).decisions([row[0].id for row in rows])
    return [_view(row, decisions.get(row[0].id, []), now) for row in rows]


def _view(row: RequestRow, decisions: list[PromotionDecision], now: int) -> PromotionView:
    request, model, number, created_by = row
    results = [RuleResult.from_dict(r) for r in request.evaluation.get("rules", [])]
    requirement = ApprovalRequirement.model_validate(request.evaluation.get("approvals", {}))
    approvals = [
        Approval(d.decided_by, tuple(d.groups)) for d in decisions if d.decision == APPROVE
    ]
    counted = tally(approvals, requirement)
    return PromotionView(
        id=request.id,
        model=model,
        version=number,
        version_created_by=created_by,
        kind=request.kind,
        label=request.label,
        archive_existing=request.archive_existing,
        justification=request.justification,
        status=status_at(request, now),
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        expires_at=request.expires_at,
        policy_scope=request.policy_scope,
        policy_version=request.policy_version,
        evaluated_at=request.evaluated_at,
        rules=results,
        rules_passed=all(r.passed for r in results),
        approvals=ApprovalsView(
            required=counted.required,
            received=counted.received,
            approvers=list(counted.approvers),
            required_groups=list(requirement.groups),
            missing_groups=list(counted.missing_groups),
        ),
        decisions=[
            DecisionView(d.decision, d.decided_by, list(d.groups), d.comment, d.decided_at)
            for d in decisions
        ],
        closed_at=request.closed_at,
        closed_by=request.closed_by,
        forced=request.forced,
        force_reason=request.force_reason,
    )
