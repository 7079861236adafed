"""The rules of the audit trail: appending events, querying them, signing checkpoints.

Appends are serialised by the database: the one ``audit_head`` row is read ``FOR UPDATE``
(PostgreSQL) inside the writing transaction, and SQLite writers already hold the write lock
(BEGIN IMMEDIATE). The lock is held until the transaction ends, so every process and replica
sees the chain grow one event at a time and a rolled-back change leaves no event behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from charter import access
from charter.access import ModelLike, Role
from charter.audit import chain
from charter.audit.chain import Row
from charter.audit.models import AuditCheckpoint
from charter.audit.repository import AuditRepository
from charter.audit.schemas import AuditEventView, AuditFilter, CheckpointView
from charter.audit.signing import Signer, checkpoint_statement
from charter.context import SYSTEM, RequestContext
from charter.db import Database, now_ms
from charter.errors import Conflict, InvalidArgument, PermissionDenied
from charter.pagination import Page, decode_token, encode_token, page_size

ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OUTCOMES = ("success", "denied", "failure")
# Resources that belong to a model; their ``resource_name`` starts with the model's name
# (``fraud``, ``fraud/3``, ``fraud@champion``), which model names cannot contain.
MODEL_SCOPED = frozenset(
    {
        "model",
        "model_version",
        "version",
        "alias",
        "stage",
        "artifact",
        "promotion_request",
        "deployment",
        "model_policy",
        "model_grant",
    }
)
CHECKPOINT_EVERY = 1000
EVENTS_ORDERING = "audit:seq:desc"
CHECKPOINTS_ORDERING = "audit-checkpoints:id:desc"
# Column widths; longer text is cut before hashing, so what is stored is what is hashed.
LIMITS = {
    "actor": 256,
    "actor_kind": 16,
    "actor_token_id": 64,
    "resource_id": 256,
    "resource_name": 1024,
    "request_id": 128,
    "client_address": 64,
    "user_agent": 512,
}


def authorize(ctx: RequestContext, operation: str, model: ModelLike | str | None = None) -> None:
    """The one place where access to the audit trail is decided.

    ``operation`` is ``read``, ``export``, ``checkpoint`` or ``verify``; ``model`` narrows a read
    or an export to one model (the live model, or only a name when there is none). Admins may
    do anything; a model's maintainers may read and export that model's events. Nothing is
    enforced without governance.
    """
    if access.allowed(ctx, Role.ADMIN):
        return
    if operation in ("read", "export") and model is not None:
        live = None if isinstance(model, str) else model
        name = model if isinstance(model, str) else None
        if access.allowed(ctx, Role.MAINTAINER, live, name=name):
            return
        target = model if isinstance(model, str) else model.name
        raise PermissionDenied(
            f"{ctx.actor.name} needs the maintainer role on model {target!r} to {operation} "
            "its audit trail",
            role=str(Role.MAINTAINER),
            model=target,
        )
    raise PermissionDenied(
        f"{ctx.actor.name} needs the admin role to {operation} the audit trail"
        + ("; a model's maintainers may read that model's events" if operation == "read" else ""),
        role=str(Role.ADMIN),
    )


class AuditService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.events = AuditRepository(session)

    def record(
        self,
        action: str,
        resource_type: str,
        resource_id: str | int | None,
        resource_name: str | None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        outcome: str = "success",
    ) -> AuditEventView:
        """Append an event in the caller's transaction; it commits or rolls back with the change."""
        row = _draft(self.ctx, action, resource_type, resource_id, resource_name, before, after)
        return _append(self.events, (*row, outcome, None))

    def search(
        self,
        where: AuditFilter,
        max_results: int | None = None,
        page_token: str | None = None,
        *,
        model: ModelLike | None = None,
    ) -> Page[AuditEventView]:
        """Events that match ``where``; ``model`` is the live model ``where.model`` names, if any
        (its maintainers may read its events)."""
        authorize(self.ctx, "read", model if model is not None else where.model)
        if where.outcome is not None and where.outcome not in OUTCOMES:
            raise InvalidArgument(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
        limit = page_size(max_results)
        after = decode_token(page_token, EVENTS_ORDERING)
        before_seq = _int_key(after)
        rows = self.events.search(where, limit + 1, before_seq)
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            token = encode_token(EVENTS_ORDERING, [rows[-1][0]])
        return Page([AuditEventView.of_row(r) for r in rows], token)

    def head(self) -> tuple[int, str]:
        return self.events.head()

    def checkpoint(self, signer: Signer) -> CheckpointView:
        """Sign the current head; signing the same head twice returns the first checkpoint."""
        authorize(self.ctx, "checkpoint")
        seq, head_hash = self.events.lock_head()
        if seq == 0:
            raise Conflict("the audit trail is empty: there is no event to checkpoint")
        existing = self.events.checkpoint_at(seq, signer.fingerprint)
        if existing is not None:
            return existing
        at = now_ms()
        statement = checkpoint_statement(seq, head_hash, at, signer.fingerprint)
        return self.events.add_checkpoint(
            AuditCheckpoint(
                seq=seq,
                hash=head_hash,
                created_at=at,
                key_fingerprint=signer.fingerprint,
                public_key=signer.public_pem,
                signature=signer.sign(statement),
            )
        )

    def checkpoints(
        self, max_results: int | None = None, page_token: str | None = None
    ) -> Page[CheckpointView]:
        authorize(self.ctx, "read")
        limit = page_size(max_results)
        before_id = _int_key(decode_token(page_token, CHECKPOINTS_ORDERING))
        found = self.events.checkpoints(limit + 1, before_id)
        token = None
        if len(found) > limit:
            found = found[:limit]
            token = encode_token(CHECKPOINTS_ORDERING, [found[-1].id])
        return Page(found, token)

    def checkpoint_due(self, every: int = CHECKPOINT_EVERY) -> bool:
        seq, _ = self.events.head()
        return seq > 0 and seq - self.events.latest_checkpoint_seq() >= every


def record_denied(
    db: Database,
    ctx: RequestContext,
    action: str,
    resource_type: str,
    resource_id: str | int | None,
    resource_name: str | None,
    reason: str,
) -> None:
    """Record a refused attempt in a short transaction of its own.

    The request's transaction is rolled back, so the event cannot ride on it. Call this once
    that transaction is over (from the error handler, after ``get_session`` rolled back) or
    before it wrote anything: a transaction of the same thread that holds SQLite's write lock
    or the head row would make this one wait for it.
    """
    row = _draft(ctx, action, resource_type, resource_id, resource_name, None, None)
    with db.transaction(write=True) as session:
        _append(AuditRepository(session), (*row, "denied", reason))


def checkpoint_if_due(
    db: Database, signer: Signer, every: int = CHECKPOINT_EVERY, ctx: RequestContext | None = None
) -> CheckpointView | None:
    """Sign the head when ``every`` events have been appended since the last checkpoint.

    Checked in a read transaction first, so the common case takes no write lock; the head's
    lock then makes concurrent callers (several workers, several replicas) sign it once.
    """
    with db.transaction(write=False) as session:
        if not AuditService(session, ctx or SYSTEM).checkpoint_due(every):
            return None
    with db.transaction(write=True) as session:
        service = AuditService(session, ctx or SYSTEM)
        return service.checkpoint(signer) if service.checkpoint_due(every) else None


def _draft(
    ctx: RequestContext,
    action: str,
    resource_type: str,
    resource_id: str | int | None,
    resource_name: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> tuple[Any, ...]:
    """An event's fields that do not depend on its place in the chain, cleaned for storage."""
    # Programming errors of the calling area, not bad input: they must fail loudly (500).
    if not ACTION.match(action) or len(action) > 64:
        raise ValueError(f"audit action {action!r} must be dotted lower case, e.g. model.create")
    if not resource_type or len(resource_type) > 64:
        raise ValueError(f"audit resource_type {resource_type!r} must be 1 to 64 characters")
    name = _clean(resource_name, "resource_name")
    actor = ctx.actor
    return (
        _clean(actor.name, "actor") or "unknown",
        _clean(actor.kind, "actor_kind"),
        _clean(actor.token_id, "actor_token_id"),
        action,
        resource_type,
        _clean(None if resource_id is None else str(resource_id), "resource_id"),
        name,
        _model_of(resource_type, name),
        _json(before),
        _json(after),
        _clean(ctx.request_id, "request_id"),
        _clean(ctx.client_address, "client_address"),
        _clean(ctx.user_agent, "user_agent"),
    )


def _append(events: AuditRepository, draft: tuple[Any, ...]) -> AuditEventView:
    """Give the drafted event the next seq under the head lock, hash it and store it."""
    (actor, kind, token, action, rtype, rid, rname, model, before, after) = draft[:10]
    (request_id, client, agent, outcome, reason) = draft[10:]
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} must be one of {OUTCOMES}")
    last_seq, last_hash = events.lock_head()
    # The time is taken under the lock, so times rise with seq (clock skew between hosts aside).
    row: Row = (
        last_seq + 1,
        now_ms(),
        actor,
        kind,
        token,
        action,
        rtype,
        rid,
        rname,
        model,
        before,
        after,
        outcome,
        reason,
        request_id,
        client,
        agent,
        last_hash,
    )
    row = (*row, chain.chain_hash(last_hash, chain.content_bytes((*row, ""))))
    events.append(row)
    return AuditEventView.of_row(row)


def _json(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    text = chain.canonical_json(chain.normalise(value))
    # Lone surrogates cannot be stored as UTF-8; replacing them first keeps stored == hashed.
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean(text: str | None, column: str) -> str | None:
    if text is None:
        return None
    # PostgreSQL text cannot hold NUL, and UTF-8 cannot hold lone surrogates.
    cleaned = text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return cleaned[: LIMITS[column]]


def _model_of(resource_type: str, resource_name: str | None) -> str | None:
    if resource_type not in MODEL_SCOPED or not resource_name:
        return None
    return re.split(r"[/@:]", resource_name, maxsplit=1)[0][:256] or None


def _int_key(key: list[Any] | None) -> int | None:
    if key is None:
        return None
    if len(key) != 1 or not isinstance(key[0], int):
        raise InvalidArgument("page_token is malformed", field="page_token")
    return key[0]
