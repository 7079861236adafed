"""Who may do what in the approvals area: every role check goes through ``Authorizer``.

The default, ``RoleAuthorizer``, asks ``charter.access`` (roles from identity's grants)::

    reader < contributor (request) < approver (approve, reject) < maintainer (edit policies)
           < admin (break-glass)

When governance is off (single-user mode, ``ctx.governed`` false) nothing is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from charter import access
from charter.context import RequestContext
from charter.identity.grants import Role

__all__ = ["Authorizer", "ModelRef", "Role", "RoleAuthorizer"]


@dataclass(frozen=True)
class ModelRef:
    """The model a role is asked for; None asks for a global role (e.g. the global policy)."""

    id: int
    name: str


class Authorizer(Protocol):
    def require(self, ctx: RequestContext, role: Role, model: ModelRef | None) -> None:
        """Return when the actor holds ``role`` on ``model``; raise PermissionDenied if not."""


class RoleAuthorizer:
    """The default: the roles identity's grants give the actor (nothing without governance)."""

    def require(self, ctx: RequestContext, role: Role, model: ModelRef | None) -> None:
        access.require(ctx, role, model)
