"""Who is acting and through which request: passed to services, recorded with every change."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4


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


SYSTEM = RequestContext(actor=Actor(name="system", kind="system", method="system"))
