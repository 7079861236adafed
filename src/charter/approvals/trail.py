"""The approvals area's one door to the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from charter.context import RequestContext


def _audit(
    session: Session,
    ctx: RequestContext,
    action: str,
    resource_type: str,
    resource_id: str,
    resource_name: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "success",
) -> None:
    """Record the audit event of a change, in the change's own transaction.

    Actions: ``policy.set``, ``promotion.request``, ``promotion.approve``,
    ``promotion.reject``, ``promotion.execute``, ``promotion.force``. This is wired to
    ``charter.audit.service.AuditService(session, ctx).record(...)`` when the audit area
    lands; until then it records nothing, and every caller already passes what it will need.
    """
    del session, ctx, action, resource_type, resource_id, resource_name, before, after, outcome
