"""Who may do what in the approvals area: every role check goes through ``Authorizer``.

Roles are ranked; holding one grants the ones below it::

    reader < contributor (request) < approver (approve, reject) < maintainer (edit policies)
           < admin (break-glass)

When governance is off (single-user mode, ``ctx.governed`` false) nothing is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from charter.context import RequestContext
from charter.errors import PermissionDenied


class Role(StrEnum):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    MAINTAINER = "maintainer"
    ADMIN = "admin"


RANK = {role: rank for rank, role in enumerate(Role)}
ROLE_GROUP_PREFIX = "role:"
_ROLE_NAMES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class ModelRef:
    """The model a role is asked for; None asks for a global role (e.g. the global policy)."""

    id: int
    name: str


def roles_of(ctx: RequestContext, model: ModelRef | None) -> frozenset[Role]:
    """The roles the actor holds on ``model`` (or globally when ``model`` is None).

    Interim, until the identity area's grants are connected here: a group named
    ``role:<name>`` (e.g. ``role:approver``) in ``ctx.actor.groups`` grants that role on
    every model. Tests build actors this way; nothing else in the area depends on it.
    """
    del model  # the interim grants are global; identity's grants will be per model
    return frozenset(
        Role(group.removeprefix(ROLE_GROUP_PREFIX))
        for group in ctx.actor.groups
        if group.startswith(ROLE_GROUP_PREFIX)
        and group.removeprefix(ROLE_GROUP_PREFIX) in _ROLE_NAMES
    )


def has_role(held: frozenset[Role], wanted: Role) -> bool:
    return any(RANK[role] >= RANK[wanted] for role in held)


class Authorizer(Protocol):
    def require(self, ctx: RequestContext, role: Role, model: ModelRef | None) -> None:
        """Return when the actor holds ``role`` on ``model``; raise PermissionDenied if not."""


class RoleAuthorizer:
    """The default: nothing enforced without governance, otherwise the roles of ``roles_of``."""

    def require(self, ctx: RequestContext, role: Role, model: ModelRef | None) -> None:
        if not ctx.governed or has_role(roles_of(ctx, model), role):
            return
        scope = f"model {model.name!r}" if model is not None else "this installation"
        raise PermissionDenied(
            f"{ctx.actor.name} needs the {role} role on {scope}",
            role=str(role),
            model=model.name if model is not None else None,
        )
