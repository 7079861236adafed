"""The rules of accounts and their API tokens, and of role grants.

Services check arguments, apply changes and flush; the caller owns the transaction.
Authentication lookups only read: recording a token's last use is a separate, throttled
write that the caller makes in its own short transaction (``touch_token``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from charter import access
from charter.audit import AuditService
from charter.context import Actor, RequestContext
from charter.db import now_ms
from charter.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, Unauthenticated
from charter.identity import names, tokens
from charter.identity.grant_service import GrantService
from charter.identity.grants import GrantRule, PrincipalType, Role, parse_role
from charter.identity.models import SERVICE, USER, USER_KINDS, ApiToken, User
from charter.identity.repository import (
    CredentialRow,
    TokenRepository,
    UserRepository,
)

# A token's last use is written at most this often: never a write on every request.
TOUCH_INTERVAL_MS = 60_000
# Tokens that users make for themselves through the API expire unless they say otherwise.
SELF_SERVICE_DEFAULT_SECONDS = 90 * 86400


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    kind: str
    display_name: str | None
    email: str | None
    groups: list[str]
    sso: bool
    disabled: bool
    created_at: int


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    user: str
    created_at: int
    created_by: str
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None


@dataclass(frozen=True)
class IssuedToken(TokenView):
    token: str  # the secret: returned once, never stored


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    grants: tuple[GrantRule, ...]  # every grant the actor holds, read with its credential
    needs_touch: bool = False  # the last recorded use is older than TOUCH_INTERVAL_MS


def actor_for(credential: CredentialRow, method: str, token_id: str | None = None) -> Actor:
    return Actor(
        name=credential.user_name,
        kind=credential.user_kind,
        token_id=token_id,
        user_id=credential.user_id,
        groups=credential.groups,
        method=method,
    )


class IdentityService:
    def __init__(
        self, session: Session, ctx: RequestContext, now: Callable[[], int] = now_ms
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.now = now
        self.users = UserRepository(session)
        self.tokens = TokenRepository(session)

    # -- accounts ------------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        *,
        kind: str = USER,
        groups: Iterable[str] = (),
        role: str | None = None,
        token_name: str = "initial",  # noqa: S107 - the token's label, not a secret
        expires_in_seconds: int | None = None,
    ) -> tuple[UserView, IssuedToken]:
        """A new account with its first token (and a global grant when ``role`` is given)."""
        access.require(self.ctx, Role.ADMIN)
        name = names.user_name(name)
        if kind not in USER_KINDS:
            raise InvalidArgument(f"kind {kind!r} is not one of user, service", field="kind")
        clean_groups = names.group_names(groups)
        parsed_role = parse_role(role) if role is not None else None
        if self.users.get_by_name(name) is not None:
            raise AlreadyExists(f"user {name!r} already exists", user=name)
        user = self.users.add(User(name=name, kind=kind, created_by=self.ctx.actor.name))
        self.users.set_groups(user.id, clean_groups)
        after = {"kind": kind, "groups": clean_groups, "role": parsed_role}
        self._audit("user.create", "user", user.id, name, after=after)
        if parsed_role is not None:
            GrantService(self.session, self.ctx).add(PrincipalType.USER, name, parsed_role)
        issued = self._issue(user, token_name, expires_in_seconds)
        return self.get_user(name), issued

    def get_user_row(self, name: str) -> User:
        user = self.users.get_by_name(names.user_name(name))
        if user is None:
            raise NotFound(f"user {name!r} does not exist", user=name)
        return user

    def get_user(self, name: str) -> UserView:
        return self._views([self.get_user_row(name)])[0]

    def list_users(self) -> list[UserView]:
        access.require(self.ctx, Role.ADMIN)
        return self._views(self.users.list_all())

    def disable_user(self, name: str) -> UserView:
        """Stops every token and session of the account at once; its grants stay."""
        access.require(self.ctx, Role.ADMIN)
        user = self.get_user_row(name)
        if user.disabled_at is None:
            user.disabled_at = self.now()
            user.updated_at = user.disabled_at
            self.session.flush()
            self._audit("user.disable", "user", user.id, user.name)
        return self._views([user])[0]

    def set_groups(self, name: str, groups: Iterable[str]) -> UserView:
        access.require(self.ctx, Role.ADMIN)
        user = self.get_user_row(name)
        clean = names.group_names(groups)
        self.users.set_groups(user.id, clean)
        self._audit("user.groups.set", "user", user.id, user.name, after={"groups": clean})
        return self._views([user])[0]

    def _views(self, users: Sequence[User]) -> list[UserView]:
        groups = self.users.groups([u.id for u in users])
        return [
            UserView(
                id=u.id,
                name=u.name,
                kind=u.kind,
                display_name=u.display_name,
                email=u.email,
                groups=groups.get(u.id, []),
                sso=u.oidc_subject is not None,
                disabled=u.disabled_at is not None,
                created_at=u.created_at,
            )
            for u in users
        ]

    # -- tokens --------------------------------------------------------------------------

    def create_token(
        self, user_name: str, name: str = "api", expires_in_seconds: int | None = None
    ) -> IssuedToken:
        access.require(self.ctx, Role.ADMIN)
        user = self.get_user_row(user_name)
        if user.disabled_at is not None:
            raise Conflict(f"user {user.name!r} is disabled", user=user.name)
        return self._issue(user, name, expires_in_seconds)

    def create_own_token(self, name: str, expires_in: str | None) -> IssuedToken:
        seconds = (
            tokens.parse_duration(expires_in)
            if expires_in is not None
            else SELF_SERVICE_DEFAULT_SECONDS
        )
        user = self._own_account()
        return self._issue(user, name, seconds)

    def list_tokens(self, user_name: str | None = None) -> list[TokenView]:
        access.require(self.ctx, Role.ADMIN)
        user_id = self.get_user_row(user_name).id if user_name is not None else None
        return [_token_view(t, owner) for t, owner in self.tokens.list_with_owner(user_id)]

    def list_own_tokens(self) -> list[TokenView]:
        user = self._own_account()
        return [_token_view(t, owner) for t, owner in self.tokens.list_with_owner(user.id)]

    def revoke_token(self, token_id: int) -> TokenView:
        access.require(self.ctx, Role.ADMIN)
        return self._revoke(token_id, owner_id=None)

    def revoke_own_token(self, token_id: int) -> TokenView:
        return self._revoke(token_id, owner_id=self._own_account().id)

    def _revoke(self, token_id: int, owner_id: int | None) -> TokenView:
        token = self.tokens.get(token_id)
        # Someone else's token is reported missing, so ids of others' tokens are not revealed.
        if token is None or (owner_id is not None and token.user_id != owner_id):
            raise NotFound(f"token {token_id} does not exist", token=token_id)
        if token.revoked_at is None:
            token.revoked_at = self.now()
            token.revoked_by = self.ctx.actor.name
            self.session.flush()
            owner = self.session.get(User, token.user_id)
            label = f"{owner.name if owner else token.user_id}/{token.name}"
            self._audit("token.revoke", "token", token.id, label)
        owner = self.session.get(User, token.user_id)
        return _token_view(token, owner.name if owner else "")

    def _own_account(self) -> User:
        user_id = self.ctx.actor.user_id
        user = self.session.get(User, user_id) if user_id is not None else None
        if user is None:
            raise Conflict(
                "the caller has no account (authentication is off); "
                "use `charter tokens create` to make tokens",
            )
        return user

    def _issue(self, user: User, name: str, expires_in_seconds: int | None) -> IssuedToken:
        name = names.token_name(name)
        secret = tokens.generate(tokens.TOKEN_PREFIX)
        now = self.now()
        expires_at = now + expires_in_seconds * 1000 if expires_in_seconds is not None else None
        row = self.tokens.add(
            ApiToken(
                user_id=user.id,
                name=name,
                token_hash=tokens.hash_secret(secret),
                created_at=now,
                created_by=self.ctx.actor.name,
                expires_at=expires_at,
            )
        )
        view = _token_view(row, user.name)
        after = {"user": user.name, "name": name, "expires_at": expires_at}
        self._audit("token.create", "token", row.id, f"{user.name}/{name}", after=after)
        return IssuedToken(**vars(view), token=secret)

    def _audit(
        self,
        action: str,
        resource_type: str,
        resource_id: int,
        resource_name: str,
        after: Mapping[str, object] | None = None,
    ) -> None:
        AuditService(self.session, self.ctx).record(
            action, resource_type, resource_id, resource_name, after=after
        )

    # -- authentication ------------------------------------------------------------------

    def authenticate_token(self, secret: str, username: str | None = None) -> Authenticated:
        """The actor behind an API token; ``username`` is Basic auth's, which must match."""
        if not tokens.is_well_formed(secret, tokens.TOKEN_PREFIX):
            raise Unauthenticated("the token is malformed")
        credential = self.tokens.find_credential(tokens.hash_secret(secret))
        if credential is None:
            raise Unauthenticated("the token is not valid")
        now = self.now()
        _require_usable(credential, now, "token")
        if username is not None and username != credential.user_name:
            raise Unauthenticated("the token does not belong to that user name")
        stale = credential.last_used_at is None or (
            credential.last_used_at < now - TOUCH_INTERVAL_MS
        )
        actor = actor_for(credential, "token", token_id=str(credential.credential_id))
        return Authenticated(actor, credential.grants, needs_touch=stale)

    def touch_token(self, token_id: int) -> None:
        now = self.now()
        self.tokens.touch(token_id, now, now - TOUCH_INTERVAL_MS)


def _require_usable(credential: CredentialRow, now: int, what: str) -> None:
    if credential.revoked_at is not None:
        raise Unauthenticated(f"the {what} has been revoked")
    if credential.expires_at is not None and credential.expires_at <= now:
        raise Unauthenticated(f"the {what} has expired")
    if credential.disabled:
        raise Unauthenticated(f"the account {credential.user_name!r} is disabled")


def _token_view(token: ApiToken, owner: str) -> TokenView:
    return TokenView(
        id=token.id,
        name=token.name,
        user=owner,
        created_at=token.created_at,
        created_by=token.created_by,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


__all__ = [
    "SERVICE",
    "USER",
    "Authenticated",
    "GrantService",
    "IdentityService",
    "IssuedToken",
    "TokenView",
    "UserView",
]
