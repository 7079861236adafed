"""Every query of the identity area."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Integer,
    String,
    bindparam,
    cast,
    delete,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from charter.db import Prepared
from charter.identity.grants import GrantRule
from charter.identity.models import ApiToken, Grant, LoginSession, User, UserGroup


@dataclass(frozen=True)
class CredentialRow:
    """What one authentication lookup returns: the credential's state, its owner and the
    grants the owner holds (its own and its groups')."""

    credential_id: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None
    user_id: int
    user_name: str
    user_kind: str
    disabled: bool
    groups: tuple[str, ...]
    grants: tuple[GrantRule, ...] = ()


_GRANT_COLUMNS = (
    Grant.id,
    Grant.principal_type,
    Grant.principal,
    Grant.role,
    Grant.scope,
    Grant.model_id,
    Grant.prefix,
)
_NO_GRANT = (
    cast(null(), Integer),
    cast(null(), String),
    cast(null(), String),
    cast(null(), String),
    cast(null(), String),
    cast(null(), Integer),
    cast(null(), String),
)
_OWNER_ROW, _GRANT_ROW = 0, 1


def _credential_lookup(table: type[ApiToken] | type[LoginSession]) -> CompoundSelect[Any]:
    """Every authenticated request runs this: the credential with this hash, its owner, the
    owner's groups and every grant held by the owner or one of its groups, in one statement
    (one round trip, one plan) built once with a bind parameter.

    Rows of the first branch carry the credential and one group each; rows of the other two
    carry one grant each. Each branch enters through the unique index on ``token_hash``.
    """
    token_hash = bindparam("token_hash", type_=String)
    revoked: Any = cast(null(), BigInteger)
    last_used: Any = cast(null(), BigInteger)
    if table is ApiToken:  # sessions end by being deleted (logout) or expiring, never revoked
        revoked, last_used = ApiToken.revoked_at, ApiToken.last_used_at
    no_owner: tuple[Any, ...] = (null(),) * 9
    owner = (
        select(
            literal_column(str(_OWNER_ROW)),
            table.id,
            table.expires_at,
            revoked,
            last_used,
            User.id,
            User.name,
            User.kind,
            User.disabled_at,
            UserGroup.name,
            *_NO_GRANT,
        )
        .join(User, User.id == table.user_id)
        .outerjoin(UserGroup, UserGroup.user_id == User.id)
        .where(table.token_hash == token_hash)
    )
    user_grants = (
        select(literal_column(str(_GRANT_ROW)), *no_owner, *_GRANT_COLUMNS)
        .select_from(table)
        .join(User, User.id == table.user_id)
        .join(Grant, (Grant.principal_type == "user") & (Grant.principal == User.name))
        .where(table.token_hash == token_hash)
    )
    group_grants = (
        select(literal_column(str(_GRANT_ROW)), *no_owner, *_GRANT_COLUMNS)
        .select_from(table)
        .join(UserGroup, UserGroup.user_id == table.user_id)
        .join(Grant, (Grant.principal_type == "group") & (Grant.principal == UserGroup.name))
        .where(table.token_hash == token_hash)
    )
    return union_all(owner, user_grants, group_grants)


_TOKEN_LOOKUP = Prepared(_credential_lookup(ApiToken))
_SESSION_LOOKUP = Prepared(_credential_lookup(LoginSession))


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def get_by_name(self, name: str) -> User | None:
        return self.session.scalars(select(User).where(User.name == name)).one_or_none()

    def get_by_subject(self, issuer: str, subject: str) -> User | None:
        return self.session.scalars(
            select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
        ).one_or_none()

    def list_all(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.name)))

    def groups(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        result: dict[int, list[str]] = defaultdict(list)
        if user_ids:
            rows = self.session.execute(
                select(UserGroup.user_id, UserGroup.name)
                .where(UserGroup.user_id.in_(user_ids))
                .order_by(UserGroup.name)
            )
            for user_id, name in rows:
                result[user_id].append(name)
        return result

    def set_groups(self, user_id: int, groups: Iterable[str]) -> None:
        """Replace the user's groups with ``groups``, touching only what changed."""
        wanted = set(groups)
        current = set(self.groups([user_id]).get(user_id, []))
        if current - wanted:
            self.session.execute(
                delete(UserGroup).where(
                    UserGroup.user_id == user_id, UserGroup.name.in_(current - wanted)
                )
            )
        self.session.add_all(UserGroup(user_id=user_id, name=g) for g in wanted - current)
        self.session.flush()


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token

    def get(self, token_id: int) -> ApiToken | None:
        return self.session.get(ApiToken, token_id)

    def list_with_owner(self, user_id: int | None) -> list[tuple[ApiToken, str]]:
        query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        rows = self.session.execute(query.order_by(User.name, ApiToken.id))
        return [(token, name) for token, name in rows]

    def find_credential(self, token_hash: str) -> CredentialRow | None:
        """The token with this hash, its owner, groups and grants: one statement."""
        return _credential(_TOKEN_LOOKUP.rows(self.session, {"token_hash": token_hash}))

    def touch(self, token_id: int, now: int, stale_before: int) -> None:
        """Record a use unless one was recorded since ``stale_before``.

        The condition in the UPDATE keeps replicas that race on the same token from writing
        more than once per interval between them.
        """
        self.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale_before),
            )
            .values(last_used_at=now)
        )


class SessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, login: LoginSession) -> LoginSession:
        self.session.add(login)
        self.session.flush()
        return login

    def find_credential(self, token_hash: str) -> CredentialRow | None:
        return _credential(_SESSION_LOOKUP.rows(self.session, {"token_hash": token_hash}))

    def delete_by_hash(self, token_hash: str) -> bool:
        result = self.session.execute(
            delete(LoginSession).where(LoginSession.token_hash == token_hash)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete_expired(self, user_id: int, now: int) -> None:
        self.session.execute(
            delete(LoginSession).where(
                LoginSession.user_id == user_id, LoginSession.expires_at <= now
            )
        )


class GrantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, grant: Grant) -> Grant:
        self.session.add(grant)
        self.session.flush()
        return grant

    def get(self, grant_id: int) -> Grant | None:
        return self.session.get(Grant, grant_id)

    def find(self, principal_type: str, principal: str, target: str) -> Grant | None:
        return self.session.scalars(
            select(Grant).where(
                Grant.principal_type == principal_type,
                Grant.principal == principal,
                Grant.target == target,
            )
        ).one_or_none()

    def delete(self, grant: Grant) -> None:
        self.session.delete(grant)
        self.session.flush()

    def search(
        self,
        principal_type: str | None = None,
        principal: str | None = None,
        model_id: int | None = None,
    ) -> list[Grant]:
        query = select(Grant)
        if principal_type is not None:
            query = query.where(Grant.principal_type == principal_type)
        if principal is not None:
            query = query.where(Grant.principal == principal)
        if model_id is not None:
            query = query.where(Grant.model_id == model_id)
        return list(self.session.scalars(query.order_by(Grant.id)))

    def rules_held_by(self, user: str, groups: Sequence[str]) -> list[GrantRule]:
        """``held_by`` as plain values, without ORM objects: every authenticated request
        reads these, so they cost one indexed query and no identity-map bookkeeping."""
        held = (Grant.principal_type == "user") & (Grant.principal == user)
        if groups:
            held = held | ((Grant.principal_type == "group") & Grant.principal.in_(groups))
        columns = (
            Grant.principal_type,
            Grant.principal,
            Grant.role,
            Grant.scope,
            Grant.model_id,
            Grant.prefix,
        )
        rows = self.session.execute(select(*columns).where(held).order_by(Grant.id))
        return [GrantRule(*row) for row in rows]

    def held_by(self, user: str, groups: Sequence[str]) -> list[Grant]:
        """Every grant to the user or to one of its groups: the input of ``effective_role``."""
        held = (Grant.principal_type == "user") & (Grant.principal == user)
        if groups:
            held = held | ((Grant.principal_type == "group") & Grant.principal.in_(groups))
        return list(self.session.scalars(select(Grant).where(held).order_by(Grant.id)))


def _credential(rows: Sequence[Sequence[Any]]) -> CredentialRow | None:
    """Fold the rows of one credential lookup (``_credential_lookup``) into one value."""
    owner = [row for row in rows if row[0] == _OWNER_ROW]
    if not owner:
        return None
    _, cred_id, expires, revoked, last_used, user_id, name, kind, disabled_at, _ = owner[0][:10]
    grants = sorted((row[10:] for row in rows if row[0] == _GRANT_ROW), key=lambda g: g[0])
    return CredentialRow(
        credential_id=cred_id,
        expires_at=expires,
        revoked_at=revoked,
        last_used_at=last_used,
        user_id=user_id,
        user_name=name,
        user_kind=kind,
        disabled=disabled_at is not None,
        groups=tuple(sorted({row[9] for row in owner if row[9] is not None})),
        grants=tuple(GrantRule(*grant[1:]) for grant in grants),
    )
