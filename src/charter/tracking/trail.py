"""The tracking area's door to roles and to the audit trail.

Experiments, runs and logged models belong to no registered model, so their roles are the
installation's: reading needs ``reader``, writing ``contributor`` (deleting too: a run is the
author's working data, and MLflow clients delete runs as part of ordinary work).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from charter import access
from charter.access import Role
from charter.audit import AuditService
from charter.context import RequestContext


def may_read(ctx: RequestContext) -> None:
    access.require(ctx, Role.READER)


def may_write(ctx: RequestContext) -> None:
    access.require(ctx, Role.CONTRIBUTOR)


def audit(
    session: Session,
    ctx: RequestContext,
    action: str,
    resource_id: str | int,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Record a tracking change; the resource type is the action's first word."""
    kind = action.split(".", 1)[0]
    AuditService(session, ctx).record(action, kind, resource_id, str(resource_id), before, after)
