"""Roles and the rule that turns grants into the role a principal holds on a model.

A grant gives a role to a user or a group, globally, on one model (bound to its id, so it
follows renames) or on every model whose current name matches a prefix such as ``fraud-*``.
The highest matching role wins. This module is pure: no database, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from charter import naming
from charter.errors import InvalidArgument


class Role(StrEnum):
    """Roles from least to most powerful; each includes what the ones before it may do."""

    READER = "reader"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    MAINTAINER = "maintainer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def covers(self, other: Role) -> bool:
        """Whether this role includes everything ``other`` may do."""
        return self.rank >= other.rank


_RANKS = {role: rank for rank, role in enumerate(Role)}


class Scope(StrEnum):
    GLOBAL = "global"
    MODEL = "model"
    PREFIX = "prefix"


class PrincipalType(StrEnum):
    USER = "user"
    GROUP = "group"


class GrantLike(Protocol):
    """What ``effective_role`` reads of a grant: the table row or any look-alike."""

    @property
    def principal_type(self) -> str: ...
    @property
    def principal(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def model_id(self) -> int | None: ...
    @property
    def prefix(self) -> str | None: ...


@dataclass(frozen=True)
class GrantRule:
    """A grant detached from its row: what a request context carries for its whole life."""

    principal_type: str
    principal: str
    role: str
    scope: str
    model_id: int | None = None
    prefix: str | None = None

    @classmethod
    def of(cls, grant: GrantLike) -> GrantRule:
        return cls(
            grant.principal_type,
            grant.principal,
            grant.role,
            grant.scope,
            grant.model_id,
            grant.prefix,
        )


def parse_role(value: str, field: str = "role") -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise InvalidArgument(f"{field} {value!r} is not one of {names}", field=field) from None


def parse_prefix(value: str, field: str = "prefix") -> str:
    """A name prefix written as ``fraud-*``: text then one trailing ``*``, nothing else."""
    pattern = naming.normalise(value)
    if not pattern.endswith("*") or "*" in pattern[:-1] or len(pattern) < 2:
        raise InvalidArgument(
            f"{field} {value!r} must be a model-name prefix followed by one '*', e.g. 'fraud-*'",
            field=field,
        )
    naming.model_name(pattern[:-1], field)
    return pattern


def _applies(grant: GrantLike, model_id: int | None, model_name: str | None) -> bool:
    if grant.scope == Scope.GLOBAL:
        return True
    if grant.scope == Scope.MODEL:
        return model_id is not None and grant.model_id == model_id
    if grant.scope == Scope.PREFIX and grant.prefix and model_name is not None:
        # Prefixes match the model's current name, case-sensitively (names are NFC already).
        return model_name.startswith(grant.prefix[:-1])
    return False


def _held_by(grant: GrantLike, principal: str, groups: frozenset[str]) -> bool:
    if grant.principal_type == PrincipalType.USER:
        return grant.principal == principal
    if grant.principal_type == PrincipalType.GROUP:
        return grant.principal in groups
    return False


def effective_role(
    principal: str,
    groups: Iterable[str],
    grants: Iterable[GrantLike],
    model_id: int | None = None,
    model_name: str | None = None,
) -> Role | None:
    """The highest role that any of ``grants`` gives ``principal`` (or one of its groups).

    With no model (``model_id`` and ``model_name`` None) only global grants count: that is the
    question "may this principal do X anywhere", e.g. create a model. Unknown roles in stored
    grants are ignored rather than trusted.
    """
    member_of = frozenset(groups)
    best: Role | None = None
    for grant in grants:
        if not _held_by(grant, principal, member_of) or not _applies(grant, model_id, model_name):
            continue
        try:
            role = Role(grant.role)
        except ValueError:
            continue
        if best is None or role.rank > best.rank:
            best = role
    return best
