"""Accounts that single sign-on brings: provisioning on first login, browser sessions, and the
actor behind a JWT access token.

An SSO account is named by its provider's (issuer, subject), never by a name it claims: a
provider user who calls itself ``admin`` does not become the local ``admin``. When the name it
would get is already another account's, the login is refused until an administrator resolves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from charter.audit import AuditService
from charter.context import Actor, RequestContext
from charter.db import now_ms
from charter.errors import Unauthenticated
from charter.identity import names, tokens
from charter.identity.models import SERVICE, USER, LoginSession, User
from charter.identity.repository import SessionRepository, UserRepository
from charter.identity.service import Authenticated, actor_for

Claims = dict[str, Any]


def kind_of(claims: Claims) -> str:
    """A client-credentials token is about the client itself: its subject is its client id."""
    return SERVICE if claims.get("client_id") == claims.get("sub") else USER


class SsoService:
    def __init__(
        self, session: Session, ctx: RequestContext, now: Callable[[], int] = now_ms
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.now = now
        self.users = UserRepository(session)
        self.sessions = SessionRepository(session)

    # -- accounts ------------------------------------------------------------------------

    def find_actor(self, issuer: str, claims: Claims, groups_claim: str) -> Actor | None:
        """The actor for verified claims if its account exists (a read, no write)."""
        user = self.users.get_by_subject(issuer, _subject(claims))
        if user is None:
            return None
        return self._actor(user, claims, groups_claim, method="jwt")

    def provision(
        self, issuer: str, claims: Claims, groups_claim: str, *, kind: str = USER
    ) -> User:
        """The account of these verified claims, created on first sight; its profile and
        groups are refreshed from the claims (a browser login does this each time)."""
        subject = _subject(claims)
        user = self.users.get_by_subject(issuer, subject)
        if user is None:
            user = self._create(issuer, subject, claims, kind)
        if user.disabled_at is not None:
            raise Unauthenticated(f"the account {user.name!r} is disabled")
        changed = False
        for field, claim in (("display_name", "name"), ("email", "email")):
            value = claims.get(claim)
            if isinstance(value, str) and value[:256] != getattr(user, field):
                setattr(user, field, value[:256])
                changed = True
        if changed:
            user.updated_at = self.now()
        groups = names.groups_from_claim(claims.get(groups_claim))
        if groups is not None:
            self.users.set_groups(user.id, groups)
        self.session.flush()
        return user

    def actor_of(self, user: User, claims: Claims, groups_claim: str, method: str) -> Actor:
        return self._actor(user, claims, groups_claim, method=method)

    def _create(self, issuer: str, subject: str, claims: Claims, kind: str) -> User:
        candidates = (
            [claims.get("client_id")]
            if kind == SERVICE
            else [claims.get("preferred_username"), claims.get("email")]
        )
        name = names.from_provider(candidates, subject)
        if self.users.get_by_name(name) is not None:
            raise Unauthenticated(
                f"the account name {name!r} already belongs to another account; "
                "an administrator must rename or remove it before this identity can sign in"
            )
        user = self.users.add(
            User(
                name=name,
                kind=kind,
                oidc_issuer=issuer,
                oidc_subject=subject,
                created_by=f"sso:{issuer}",
            )
        )
        after = {"kind": kind, "issuer": issuer, "subject": subject}
        AuditService(self.session, self.ctx).record(
            "user.provision", "user", user.id, name, after=after
        )
        return user

    def _actor(self, user: User, claims: Claims, groups_claim: str, method: str) -> Actor:
        if user.disabled_at is not None:
            raise Unauthenticated(f"the account {user.name!r} is disabled")
        groups = names.groups_from_claim(claims.get(groups_claim))
        if groups is None:
            groups = self.users.groups([user.id]).get(user.id, [])
        return Actor(
            name=user.name, kind=user.kind, user_id=user.id, groups=tuple(groups), method=method
        )

    # -- browser sessions ----------------------------------------------------------------

    def start_session(self, user: User, ttl_seconds: int) -> str:
        """A new session for ``user``; returns the cookie's secret (only its hash is kept)."""
        now = self.now()
        self.sessions.delete_expired(user.id, now)
        secret = tokens.generate(tokens.SESSION_PREFIX)
        self.sessions.add(
            LoginSession(
                user_id=user.id,
                token_hash=tokens.hash_secret(secret),
                created_at=now,
                expires_at=now + ttl_seconds * 1000,
            )
        )
        return secret

    def authenticate_session(self, secret: str) -> Authenticated:
        """The actor behind a browser session and its grants, in one lookup."""
        if not tokens.is_well_formed(secret, tokens.SESSION_PREFIX):
            raise Unauthenticated("the session cookie is malformed")
        credential = self.sessions.find_credential(tokens.hash_secret(secret))
        if credential is None:
            raise Unauthenticated("the session has ended; sign in again")
        if credential.expires_at is not None and credential.expires_at <= self.now():
            raise Unauthenticated("the session has expired; sign in again")
        if credential.disabled:
            raise Unauthenticated(f"the account {credential.user_name!r} is disabled")
        return Authenticated(actor_for(credential, "session"), credential.grants)

    def end_session(self, secret: str) -> None:
        if tokens.is_well_formed(secret, tokens.SESSION_PREFIX):
            self.sessions.delete_by_hash(tokens.hash_secret(secret))


def _subject(claims: Claims) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise Unauthenticated("the token's subject is missing or too long")
    return subject
