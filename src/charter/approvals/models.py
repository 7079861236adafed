"""Tables of the approvals area: versioned policies, promotion requests and their decisions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base

# Stored statuses. "expired" is never stored: an open or blocked request past its expiry reads
# as expired, so no background job has to sweep them.
OPEN = "open"
BLOCKED = "blocked"  # enough approvals, but a gate failed when it was to execute
EXECUTED = "executed"
REJECTED = "rejected"
EXPIRED = "expired"
PENDING_STATUSES = (OPEN, BLOCKED)
STATUSES = (OPEN, BLOCKED, EXECUTED, REJECTED, EXPIRED)

APPROVE = "approve"
REJECT = "reject"

# Where the policy a request was evaluated against came from.
SCOPE_MODEL = "model"
SCOPE_GLOBAL = "global"
SCOPE_DEFAULT = "default"  # the built-in policy, when none is stored


class PolicyRecord(Base):
    """One version of a model's policy (``model_id`` set) or of the global one (NULL).

    Rows are never updated: a change is a new version, so a request can name exactly the
    policy it was evaluated against.
    """

    __tablename__ = "approval_policies"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        # NULLs are distinct in a unique constraint: the global scope needs its own index.
        Index(
            "uq_approval_policies_global_version",
            "version",
            unique=True,
            sqlite_where=text("model_id IS NULL"),
            postgresql_where=text("model_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)  # the YAML exactly as written, comments included
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256))


class PromotionRequest(Base):
    """A request to move a version to a protected alias or stage (or a forced move's record)."""

    __tablename__ = "promotion_requests"
    __table_args__ = (
        Index("ix_promotion_requests_requested", "requested_at", "id"),
        Index("ix_promotion_requests_model", "model_id", "requested_at", "id"),
        Index("ix_promotion_requests_status", "status", "expires_at"),
        Index("ix_promotion_requests_version", "version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # alias | stage
    label: Mapped[str] = mapped_column(String(255))
    archive_existing: Mapped[bool] = mapped_column(Boolean, default=False)
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    # The latest evaluation: the policy it used, and each rule's result with the values seen.
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_policies.id", ondelete="SET NULL")
    )
    policy_scope: Mapped[str] = mapped_column(String(8))
    policy_version: Mapped[int] = mapped_column(Integer)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)
    evaluated_at: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    closed_by: Mapped[str | None] = mapped_column(String(256))
    # Break-glass: an admin moved the label without approvals; the reason is mandatory.
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    force_reason: Mapped[str | None] = mapped_column(Text)


class PromotionDecision(Base):
    """An approval or a rejection, with its comment and the decider's groups at the time."""

    __tablename__ = "promotion_decisions"
    __table_args__ = (
        # One person's approval counts once, even when two arrive at the same moment.
        UniqueConstraint("request_id", "decided_by", "decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("promotion_requests.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(8))  # approve | reject
    decided_by: Mapped[str] = mapped_column(String(256))
    groups: Mapped[list[str]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[int] = mapped_column(BigInteger)
