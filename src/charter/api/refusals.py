"""Refused attempts on the audit trail: every 401 and 403 leaves an event, and so does a 404
that hides a model the caller may not read and a 409 that deletion protection answers.

The request's own transaction has been rolled back by then (``TransactionalRoute`` rolls back
and closes its sessions before the error reaches the handler), so the event is written in a
short transaction of its own, on a worker thread.
"""

from __future__ import annotations

import logging
import re
from uuid import uuid4

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from charter import errors
from charter.api.mlflow.paths import is_mlflow_path
from charter.api.state import AppState
from charter.audit import record_denied
from charter.context import Actor, RequestContext

logger = logging.getLogger("charter.api")

ANONYMOUS = Actor(name="anonymous", kind="user", method="none")
REFUSALS = (errors.PermissionDenied, errors.Unauthenticated, errors.Hidden, errors.Protected)


def context_of(request: Request) -> RequestContext:
    """The context the request was given, or an anonymous one when it never got that far."""
    ctx: RequestContext | None = getattr(request.state, "charter_context", None)
    if ctx is not None:
        return ctx
    client = request.client
    return RequestContext(
        actor=ANONYMOUS,
        request_id=request.headers.get("x-request-id") or uuid4().hex,
        client_address=client.host if client else None,
        user_agent=request.headers.get("user-agent"),
        governed=True,
    )


def action_of(request: Request, exc: errors.CharterError) -> str:
    """What was attempted, named after the endpoint: ``api.delete_version``,
    ``mlflow.set_registered_model_alias``; ``auth.denied`` before any endpoint was reached."""
    route = request.scope.get("route")
    name = getattr(route, "name", None) or getattr(request.scope.get("endpoint"), "__name__", "")
    surface = "mlflow" if is_mlflow_path(request.url.path) else "api"
    slug = re.sub(r"[^a-z0-9_]+", "_", str(name).lower()).strip("_")
    if not slug or not slug[0].isalpha():
        return "auth.denied" if isinstance(exc, errors.Unauthenticated) else f"{surface}.denied"
    return f"{surface}.{slug}"[:64]


async def record_refusal(request: Request, exc: errors.CharterError) -> None:
    """Write the denied event of a refused request; a failure to write it is logged, not
    raised, so the client still gets its 401 or 403."""
    state: AppState | None = getattr(request.app.state, "charter", None)
    if state is None:
        return
    model = exc.details.get("model")
    where = f"{request.method} {request.url.path}"
    resource_type, resource_name = ("model", str(model)) if model else ("endpoint", where)
    try:
        await run_in_threadpool(
            record_denied,
            state.db,
            context_of(request),
            action_of(request, exc),
            resource_type,
            None,
            resource_name,
            f"{exc.message} ({where})",
        )
    except Exception:  # the refusal stands whether or not its record could be written
        logger.exception("could not record a refused request in the audit trail")
