"""The role rules, decided from the grants the request context carries.

Roles are ranked and each includes the ones before it::

    reader       read
    contributor  register models and versions, edit metadata and tags, upload artifacts, move
                 unprotected aliases and stages, request promotions, write tracking data;
                 never delete
    approver     approve or reject promotion requests
    maintainer   manage a model: delete it and its versions, its policy, the grants on it
    admin        everything: users, global grants, the global policy, break-glass

A role is held globally, on one model (by id, so it follows renames) or on a name prefix
(matching the current name). Creating a model gives its creator nothing beyond its role. With
governance off (single-user mode, ``ctx.governed`` false) nothing is enforced. A model the
caller may not read answers as if it did not exist, so refusals do not leak names.

Every check is a computation over ``ctx.grants``, loaded once per request with the caller's
credentials: no query here.
"""

from __future__ import annotations

from typing import Protocol

from charter.context import RequestContext
from charter.errors import Hidden, PermissionDenied
from charter.identity.grants import Role, effective_role


class ModelLike(Protocol):
    """A registered model as the checks see it: its row, a view, or any look-alike."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


def role_on(
    ctx: RequestContext, model: ModelLike | None = None, *, name: str | None = None
) -> Role | None:
    """The highest role the actor holds on ``model`` (or on a model to be called ``name``);
    with neither, the role it holds on the whole installation."""
    actor = ctx.actor
    model_id = model.id if model is not None else None
    model_name = model.name if model is not None else name
    return effective_role(actor.name, actor.groups, ctx.grants, model_id, model_name)


def allowed(
    ctx: RequestContext, role: Role, model: ModelLike | None = None, *, name: str | None = None
) -> bool:
    if not ctx.governed:
        return True
    held = role_on(ctx, model, name=name)
    return held is not None and held.covers(role)


def visible(ctx: RequestContext, model: ModelLike) -> bool:
    return allowed(ctx, Role.READER, model)


def require_visible(ctx: RequestContext, model: ModelLike) -> None:
    """Refuse, as not found, a model the caller may not read."""
    if not visible(ctx, model):
        raise Hidden(f"registered model {model.name!r} does not exist", model=model.name)


def require(
    ctx: RequestContext, role: Role, model: ModelLike | None = None, *, name: str | None = None
) -> None:
    """Return when the actor holds ``role`` on ``model`` (or on the name ``name`` a model is
    being created under, or globally); raise PermissionDenied if not."""
    if allowed(ctx, role, model, name=name):
        return
    if model is not None:
        require_visible(ctx, model)
    target = model.name if model is not None else name
    scope = f"model {target!r}" if target is not None else "this installation"
    raise PermissionDenied(
        f"{ctx.actor.name} needs the {role} role on {scope}", role=str(role), model=target
    )
