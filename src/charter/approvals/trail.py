"""The approvals area's one door to the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from charter.audit.service import AuditService
from charter.context import RequestContext


def _audit(
    session: Session,
    ctx: RequestContext,
    action: str,
    resource_type: str,
    resource_id: str,
    resource_name: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    outcome: str = "success",
) -> None:
    """Record the audit event of a change, in the change's own transaction.

    Actions: ``policy.set``, ``promotion.request``, ``promotion.approve``,
    ``promotion.reject``, ``promotion.execute``, ``promotion.force``.
    """
    AuditService(session, ctx).record(
        action, resource_type, resource_id, resource_name, before, after, outcome
    )
