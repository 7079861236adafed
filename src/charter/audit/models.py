"""Tables of the audit trail: the events, the head of their chain, and signed checkpoints.

All three refuse UPDATE and DELETE in the database itself (triggers, created by the migration),
except the head, which may only move forward.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base

HEAD_ROW_ID = 1


class AuditEvent(Base):
    """One audit event, hash-chained to the one before it (``charter.audit.chain``)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # Each filter of the query API reads newest first along one of these.
        Index("ix_audit_events_model", "model", "seq"),
        Index("ix_audit_events_actor", "actor", "seq"),
        Index("ix_audit_events_resource", "resource_name", "seq"),
        Index("ix_audit_events_action", "action", "seq"),
        Index("ix_audit_events_time", "occurred_at", "seq"),
    )

    # Assigned from ``audit_head`` under its lock, never by the database: 1, 2, 3 … no gaps.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(256))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_token_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(256))
    resource_name: Mapped[str | None] = mapped_column(String(1024))
    model: Mapped[str | None] = mapped_column(String(256))
    # Canonical JSON text, so that verification can hash it as stored.
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The one row holding the chain's last seq and hash; locking it serialises appends."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement that the chain's event ``seq`` had hash ``hash`` at ``created_at``."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (UniqueConstraint("seq", "key_fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    key_fingerprint: Mapped[str] = mapped_column(String(80))
    # The public half of the signing key, kept so that old checkpoints stay checkable after a
    # key rotation; a verifier still decides which keys it trusts.
    public_key: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
