"""Request and response shapes of the approvals area (the native API's view of it)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from charter.approvals.rules import Target
from charter.registry.models import ALIAS, STAGE
from charter.registry.schemas import Strict, Timestamp


class _Move(Strict):
    version: int = Field(ge=1)
    alias: str | None = None
    stage: str | None = None
    archive_existing: bool = Field(
        default=False, description="For a stage: archive the versions that hold it now"
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.alias is None) == (self.stage is None):
            raise ValueError("give exactly one of alias and stage")
        if self.archive_existing and self.alias is not None:
            raise ValueError("archive_existing applies to a stage, not to an alias")
        return self

    @property
    def target(self) -> Target:
        if self.alias is not None:
            return Target(ALIAS, self.alias)
        return Target(STAGE, self.stage or "")


# What a contributor sends to ask for a version to take a protected alias or stage.
class PromotionCreate(_Move):
    justification: str = Field(min_length=1, max_length=10_000)


# What an admin sends to move a protected label at once (break-glass); the reason is required.
class PromotionForce(_Move):
    reason: str = Field(min_length=1, max_length=10_000)


# An approval's or a rejection's comment (required).
class DecisionCreate(Strict):
    comment: str = Field(min_length=1, max_length=10_000)


# A policy sent as JSON rather than as a text/yaml body.
class PolicyDocument(Strict):
    yaml: str


# One rule's result, with the values it saw.
class RuleResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule: str
    kind: str
    passed: bool
    message: str
    seen: dict[str, Any]


# Where a request stands on approvals, under the policy of its latest evaluation.
class ApprovalsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    required: int
    received: int
    approvers: list[str]
    required_groups: list[str]
    missing_groups: list[str]


# One approval or rejection.
class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    decision: str
    decided_by: str
    groups: list[str]
    comment: str
    decided_at: Timestamp


# A promotion request (or a forced move's record) as the API returns it.
class PromotionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model: str
    version: int
    version_created_by: str
    kind: str
    label: str
    archive_existing: bool
    justification: str
    status: str = Field(description="open, blocked, executed, rejected or expired")
    requested_by: str
    requested_at: Timestamp
    expires_at: Timestamp
    policy_scope: str = Field(description="model, global or default: where the policy came from")
    policy_version: int
    evaluated_at: Timestamp
    rules: list[RuleResultRead]
    rules_passed: bool
    approvals: ApprovalsRead
    decisions: list[DecisionRead]
    closed_at: Timestamp | None
    closed_by: str | None
    forced: bool
    force_reason: str | None


class PromotionPage(BaseModel):
    promotions: list[PromotionRead]
    next_page_token: str | None


# A policy version: the YAML as written and what it was read as.
class PolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    scope: str = Field(description="model, global or default (built in, version 0)")
    model: str | None
    version: int
    yaml: str = Field(validation_alias="document")
    policy: dict[str, Any]
    created_at: Timestamp | None
    created_by: str | None


class PolicyPage(BaseModel):
    policies: list[PolicyRead]
    next_page_token: str | None
