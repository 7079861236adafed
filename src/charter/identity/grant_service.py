"""The rules of role grants: who holds which role, globally, on a model or on a name prefix.

Services check arguments, apply changes and flush; the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter import access
from charter.audit import AuditService
from charter.context import Actor, RequestContext
from charter.db import now_ms
from charter.errors import AlreadyExists, InvalidArgument, NotFound
from charter.identity import names
from charter.identity.grants import (
    GrantRule,
    PrincipalType,
    Role,
    Scope,
    parse_prefix,
    parse_role,
)
from charter.identity.grants import effective_role as _effective_role
from charter.identity.models import Grant
from charter.identity.repository import GrantRepository
from charter.registry.model_service import ModelService
from charter.registry.models import RegisteredModel


class GrantService:
    """Stores grants; enforcement (which role may do what) is the callers' rule, not this one's."""

    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.grants = GrantRepository(session)

    def add(
        self,
        principal_type: str,
        principal: str,
        role: str | Role,
        *,
        model: str | None = None,
        prefix: str | None = None,
    ) -> Grant:
        """Grant ``role`` globally, on the model named ``model`` (bound to its id), or on a
        name ``prefix`` such as ``fraud-*``. A second grant on the same target is refused."""
        kind = _principal_type(principal_type)
        who = (
            names.user_name(principal)
            if kind == PrincipalType.USER
            else names.group_name(principal)
        )
        parsed = parse_role(role)
        if model is not None and prefix is not None:
            raise InvalidArgument("a grant is on a model or on a prefix, not both", field="model")
        row = ModelService(self.session, self.ctx).get_row(model) if model else None
        # A model's maintainers manage the grants on it; every other grant is an admin's.
        access.require(self.ctx, Role.MAINTAINER if row is not None else Role.ADMIN, row)
        model_id = row.id if row is not None else None
        pattern = parse_prefix(prefix) if prefix is not None else None
        scope, target = _target(model_id, pattern)
        existing = self.grants.find(kind, who, target)
        if existing is not None:
            raise AlreadyExists(
                f"{kind} {who!r} already holds {existing.role} on {target}",
                grant=existing.id,
            )
        grant = self.grants.add(
            Grant(
                principal_type=kind,
                principal=who,
                role=parsed,
                scope=scope,
                model_id=model_id,
                prefix=pattern,
                target=target,
                created_at=now_ms(),
                created_by=self.ctx.actor.name,
            )
        )
        self._audit("grant.add", grant, row.name if row is not None else None, after=True)
        return grant

    def remove(self, grant_id: int) -> None:
        grant = self.grants.get(grant_id)
        if grant is None:
            raise NotFound(f"grant {grant_id} does not exist", grant=grant_id)
        row = self._model_of(grant)
        access.require(self.ctx, Role.MAINTAINER if row is not None else Role.ADMIN, row)
        self._audit("grant.remove", grant, row.name if row is not None else None, after=False)
        self.grants.delete(grant)

    def revoke(
        self,
        principal_type: str,
        principal: str,
        *,
        model: str | None = None,
        prefix: str | None = None,
    ) -> Grant:
        """Remove the grant of ``principal`` on that target (global without model or prefix)."""
        kind = _principal_type(principal_type)
        model_id = ModelService(self.session, self.ctx).get_row(model).id if model else None
        _, target = _target(model_id, parse_prefix(prefix) if prefix is not None else None)
        grant = self.grants.find(kind, principal, target)
        if grant is None:
            raise NotFound(f"{kind} {principal!r} holds no grant on {target}", target=target)
        self.remove(grant.id)
        return grant

    def _model_of(self, grant: Grant) -> RegisteredModel | None:
        if grant.model_id is None:
            return None
        return self.session.get(RegisteredModel, grant.model_id)

    def _audit(self, action: str, grant: Grant, model: str | None, *, after: bool) -> None:
        """A grant on a model is named after the model, so the model's own trail shows it."""
        state = {
            "principal_type": grant.principal_type,
            "principal": grant.principal,
            "role": grant.role,
            "target": grant.target,
        }
        AuditService(self.session, self.ctx).record(
            action,
            "model_grant" if model is not None else "grant",
            grant.id,
            model if model is not None else grant.target,
            before=None if after else state,
            after=state if after else None,
        )

    def list_grants(
        self,
        principal_type: str | None = None,
        principal: str | None = None,
        model: str | None = None,
    ) -> list[Grant]:
        kind = _principal_type(principal_type) if principal_type is not None else None
        row = ModelService(self.session, self.ctx).get_row(model) if model else None
        access.require(self.ctx, Role.MAINTAINER if row is not None else Role.ADMIN, row)
        return self.grants.search(kind, principal, row.id if row is not None else None)

    def rules_of(self, actor: Actor) -> tuple[GrantRule, ...]:
        """The actor's grants as plain values, for a request context (one indexed query)."""
        return tuple(self.grants.rules_held_by(actor.name, actor.groups))

    def held_by(self, actor: Actor) -> list[Grant]:
        """Every grant to the actor or its groups: fetch once, then ask ``role_of`` freely."""
        return self.grants.held_by(actor.name, actor.groups)

    def role_of(
        self, actor: Actor, model_id: int | None = None, model_name: str | None = None
    ) -> Role | None:
        return _effective_role(actor.name, actor.groups, self.held_by(actor), model_id, model_name)


def _principal_type(value: str) -> PrincipalType:
    try:
        return PrincipalType(value)
    except ValueError:
        raise InvalidArgument(
            f"principal type {value!r} is not one of user, group", field="principal_type"
        ) from None


def _target(model_id: int | None, prefix: str | None) -> tuple[Scope, str]:
    if model_id is not None:
        return Scope.MODEL, f"model:{model_id}"
    if prefix is not None:
        return Scope.PREFIX, f"prefix:{prefix}"
    return Scope.GLOBAL, "*"
