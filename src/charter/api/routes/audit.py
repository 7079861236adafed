"""Native routes of the audit trail: query events, the public key, signed checkpoints.

Mounting ``router`` also runs the automatic checkpoints: its lifespan makes sure the signing
key exists when the server starts (generating it on first start) and signs the chain's head
in a background thread whenever ``CHECKPOINT_EVERY`` events have been appended since the last
checkpoint. Every worker and replica runs it; the head's lock makes them sign each head once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from sqlalchemy.orm import Session

from charter.access import ModelLike
from charter.api.deps import ContextDep, SessionDep, StateDep
from charter.api.routing import TransactionalRoute
from charter.api.state import AppState
from charter.audit import CHECKPOINT_EVERY, AuditFilter, AuditService, checkpoint_if_due
from charter.audit.schemas import (
    AuditEventRead,
    AuditPage,
    CheckpointPage,
    CheckpointRead,
    PublicKeyRead,
    parse_instant,
)
from charter.audit.signing import load_signer
from charter.context import RequestContext
from charter.errors import InvalidArgument, NotFound
from charter.registry.model_service import ModelService

logger = logging.getLogger("charter.audit")
CHECKPOINT_POLL_SECONDS = 10.0


def run_checkpoints(
    state: AppState,
    stop: threading.Event,
    interval: float = CHECKPOINT_POLL_SECONDS,
    every: int = CHECKPOINT_EVERY,
) -> None:
    """Until ``stop`` is set, sign the head whenever ``every`` events have been appended."""
    while not stop.wait(interval):
        try:
            checkpoint_if_due(state.db, load_signer(state.settings), every)
        except Exception:  # a failed round must not end the loop; the next one retries
            logger.exception("automatic audit checkpoint failed")


@asynccontextmanager
async def checkpoint_schedule(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.charter
    # Fail at start, not at the first checkpoint, when CHARTER_SIGNING_KEY is unusable.
    await asyncio.to_thread(load_signer, state.settings)
    stop = threading.Event()
    worker = threading.Thread(
        target=run_checkpoints, args=(state, stop), name="charter-audit-checkpoints", daemon=True
    )
    worker.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(worker.join)


router = APIRouter(
    route_class=TransactionalRoute,
    prefix="/api/v1/audit",
    tags=["audit"],
    lifespan=checkpoint_schedule,
)


@router.get("", response_model=AuditPage)
def search_events(
    session: SessionDep,
    ctx: ContextDep,
    resource: Annotated[
        str | None, Query(description="Resource name: fraud/3, fraud@champion")
    ] = None,
    resource_type: str | None = None,
    model: Annotated[str | None, Query(description="Every event about this model")] = None,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="Exact, or a prefix: alias.*")] = None,
    outcome: Annotated[str | None, Query(description="success, denied or failure")] = None,
    since: Annotated[str | None, Query(description="ISO 8601 date or time, inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO 8601 date or time, exclusive")] = None,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> AuditPage:
    where = AuditFilter(
        resource=resource,
        resource_type=resource_type,
        model=model,
        actor=actor,
        action=action,
        outcome=outcome,
        since=parse_instant(since, field="since") if since else None,
        until=parse_instant(until, field="until", end_of_day=True) if until else None,
    )
    page = AuditService(session, ctx).search(
        where, max_results, page_token, model=_live_model(session, ctx, model)
    )
    return AuditPage(
        events=[AuditEventRead.model_validate(e) for e in page.items],
        next_page_token=page.next_page_token,
    )


def _live_model(session: Session, ctx: RequestContext, name: str | None) -> ModelLike | None:
    """The live model a query names, so its maintainers may read its trail; None when there is
    none (deleted or never created: then only admins may read its events)."""
    if name is None:
        return None
    try:
        return ModelService(session, ctx).get_row(name)
    except (NotFound, InvalidArgument):
        return None


@router.get("/public-key", response_model=PublicKeyRead)
def public_key(state: StateDep) -> PublicKeyRead:
    signer = load_signer(state.settings)
    return PublicKeyRead(fingerprint=signer.fingerprint, pem=signer.public_pem)


@router.get("/checkpoints", response_model=CheckpointPage)
def list_checkpoints(
    session: SessionDep,
    ctx: ContextDep,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> CheckpointPage:
    page = AuditService(session, ctx).checkpoints(max_results, page_token)
    return CheckpointPage(
        checkpoints=[CheckpointRead.model_validate(c) for c in page.items],
        next_page_token=page.next_page_token,
    )


@router.post("/checkpoints", response_model=CheckpointRead, status_code=201)
def create_checkpoint(session: SessionDep, ctx: ContextDep, state: StateDep) -> CheckpointRead:
    checkpoint = AuditService(session, ctx).checkpoint(load_signer(state.settings))
    return CheckpointRead.model_validate(checkpoint)
