"""Reading and changing policies: every change is a new version, audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter import access
from charter.approvals.authorization import Authorizer, ModelRef, Role, RoleAuthorizer
from charter.approvals.models import SCOPE_GLOBAL, SCOPE_MODEL, PolicyRecord
from charter.approvals.policy import parse_policy
from charter.approvals.protection import effective_policy
from charter.approvals.repository import PolicyRepository
from charter.approvals.trail import _audit
from charter.approvals.views import PolicyView, policy_view, record_view
from charter.context import RequestContext
from charter.db import now_ms
from charter.pagination import Page, decode_token, encode_token, page_size
from charter.registry.model_service import ModelService
from charter.registry.models import RegisteredModel

HISTORY_ORDERING = "version:d,id:d"


class PolicyService:
    """Policies of one model (``name``) or of the installation (``name`` None)."""

    def __init__(
        self, session: Session, ctx: RequestContext, *, authorizer: Authorizer | None = None
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.models = ModelService(session, ctx)
        self.policies = PolicyRepository(session)
        self.authorizer = authorizer or RoleAuthorizer()

    def get(self, name: str | None) -> PolicyView:
        """The policy that applies: a model's own, else the global one, else the default."""
        model = self._readable(name)
        return policy_view(effective_policy(self.session, _id(model)), _name(model))

    def set(self, name: str | None, document: str) -> PolicyView:
        """Store ``document`` as the next version; the same text as the current one is no change."""
        model = self.models.get_row(name, lock=True) if name is not None else None
        ref = ModelRef(model.id, model.name) if model is not None else None
        self.authorizer.require(self.ctx, Role.MAINTAINER, ref)
        parse_policy(document)  # refuses an invalid document before anything is written
        current = self.policies.current(_id(model))
        scope = SCOPE_MODEL if model is not None else SCOPE_GLOBAL
        if current is not None and current.document == document:
            return record_view(current, scope, _name(model))
        record = self.policies.add(
            PolicyRecord(
                model_id=_id(model),
                version=self.policies.latest_version(_id(model)) + 1,
                document=document,
                created_at=now_ms(),
                created_by=self.ctx.actor.name,
            )
        )
        # A model's policy is named after the model, so the model's trail includes it.
        _audit(
            self.session,
            self.ctx,
            "policy.set",
            "model_policy" if model is not None else "global_policy",
            str(model.id) if model is not None else "global",
            model.name if model is not None else "global",
            before=_state(current),
            after=_state(record),
        )
        return record_view(record, scope, _name(model))

    def history(
        self, name: str | None, *, max_results: int | None = None, page_token: str | None = None
    ) -> Page[PolicyView]:
        """The stored versions of one scope, newest first (the built-in default is not stored)."""
        model = self._readable(name)
        scope = SCOPE_MODEL if model is not None else SCOPE_GLOBAL
        limit = page_size(max_results)
        rows = self.policies.history(
            _id(model), limit + 1, decode_token(page_token, HISTORY_ORDERING)
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            token = encode_token(HISTORY_ORDERING, [rows[-1].version, rows[-1].id])
        return Page([record_view(r, scope, _name(model)) for r in rows], token)

    def _readable(self, name: str | None) -> RegisteredModel | None:
        """The model (hidden when the caller may not read it), or None for the global policy,
        which readers of the whole installation may see."""
        if name is None:
            access.require(self.ctx, Role.READER)
            return None
        return self.models.get_row(name)


def _id(model: RegisteredModel | None) -> int | None:
    return model.id if model is not None else None


def _name(model: RegisteredModel | None) -> str | None:
    return model.name if model is not None else None


def _state(record: PolicyRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {"version": record.version, "document": record.document}
