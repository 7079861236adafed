"""Who is acting and through which request: passed to services, recorded with every change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import uuid4

if TYPE_CHECKING:
    from charter.identity.grants import GrantLike


@dataclass(frozen=True)
class Actor:
    """The principal behind a call; ``local`` in single-user mode."""

    name: str = "local"
    kind: str = "user"  # user | service | system
    token_id: str | None = None
    user_id: int | None = None  # None for ``local`` and ``system``, which have no account
    groups: tuple[str, ...] = ()
    method: str = "local"  # how it proved who it is: local | token | session | jwt | system


@dataclass(frozen=True)
class RequestContext:
    actor: Actor = field(default_factory=Actor)
    request_id: str = field(default_factory=lambda: uuid4().hex)
    client_address: str | None = None
    user_agent: str | None = None
    # True when authentication is on: roles, protected aliases/stages and approvals are enforced.
    governed: bool = False
    # Every grant the actor holds (its own and its groups'), loaded once with its credentials
    # so that each role check of the request is a computation, not a query.
    grants: tuple[GrantLike, ...] = ()


SYSTEM = RequestContext(actor=Actor(name="system", kind="system", method="system"))
