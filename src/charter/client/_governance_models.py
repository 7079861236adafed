"""What the SDK returns for governance: promotion requests, policies and grants."""

from __future__ import annotations

from typing import Any

from charter.client._models import UtcDatetime, _Result


class RuleResult(_Result):
    """One rule of a policy as a request was evaluated: passed or not, and the values seen."""

    rule: str
    kind: str
    passed: bool
    message: str
    seen: dict[str, Any]


class Approvals(_Result):
    required: int
    received: int
    approvers: list[str]
    required_groups: list[str]
    missing_groups: list[str]


class Decision(_Result):
    decision: str  # approve | reject
    decided_by: str
    groups: list[str]
    comment: str
    decided_at: UtcDatetime


class Promotion(_Result):
    """A request to move a version to a protected alias or stage (or a forced move's record)."""

    id: int
    model: str
    version: int
    version_created_by: str
    kind: str  # alias | stage
    label: str
    justification: str
    status: str  # open, blocked, executed, rejected or expired
    requested_by: str
    requested_at: UtcDatetime
    expires_at: UtcDatetime
    policy_scope: str
    policy_version: int
    rules: list[RuleResult]
    rules_passed: bool
    approvals: Approvals
    decisions: list[Decision]
    closed_at: UtcDatetime | None
    closed_by: str | None
    forced: bool
    force_reason: str | None

    @property
    def target(self) -> str:
        return f"{self.kind} {self.label}"


class Policy(_Result):
    """A policy version: its YAML as written, where it applies, who wrote it."""

    scope: str  # model, global or default
    model: str | None
    version: int
    yaml: str
    policy: dict[str, Any]
    created_at: UtcDatetime | None
    created_by: str | None


class Grant(_Result):
    """A role given to a user or a group: globally, on one model, or on a name prefix."""

    id: int
    principal_type: str
    principal: str
    role: str
    scope: str
    model_id: int | None
    prefix: str | None
    created_at: UtcDatetime
    created_by: str
