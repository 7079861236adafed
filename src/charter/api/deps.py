"""FastAPI dependencies: the request's session (its one transaction), context and stores."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated
from uuid import uuid4

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from charter.api.state import AppState
from charter.blobs import BlobStore
from charter.config import Settings
from charter.context import SYSTEM, Actor, RequestContext
from charter.db import Database
from charter.errors import Unauthenticated
from charter.identity import tokens
from charter.identity.jwt import looks_like_jwt
from charter.identity.oidc import OidcClient, OidcConfig
from charter.identity.service import Authenticated, GrantService, IdentityService
from charter.identity.sso import SsoService, kind_of

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Trivial dependencies are async so they run on the event loop: a sync one costs a thread hop.
# The ones every request solves (session, context) read the state themselves rather than
# through StateDep: each dependency FastAPI solves costs a few microseconds more.
def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.charter
    return state


async def get_state(request: Request) -> AppState:
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_database(state: StateDep) -> Database:
    return state.db


async def get_blobs(state: StateDep) -> BlobStore:
    return state.blobs


DatabaseDep = Annotated[Database, Depends(get_database)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


async def get_session(request: Request) -> Session:
    """The request's one session; it opens a connection only when first used.

    Routes that take it are ``TransactionalRoute``s (charter.api.routing): the route commits
    it when it returns and rolls it back when it raises, on the same worker thread.
    """
    return state_of(request).db.session(write=request.method not in READ_METHODS)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_read_session(request: Request) -> Session:
    """A read-only session whatever the method: for POST routes that only read (MLflow's
    searches and get-latest-versions), which would otherwise queue behind SQLite's writer.
    """
    return state_of(request).db.session(write=False)


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


async def get_context(request: Request) -> RequestContext:
    """Who makes the request. With authentication off (single-user mode) it is ``local``;
    with it on, credentials are required and checked against the database on every request,
    so that a revoked token or a disabled account stops at once on every replica.

    A route that takes a session checks an API token or a session cookie itself, on its own
    worker thread and in its own transaction (``UnverifiedContext``); other routes, and JWTs
    (which may need the provider's keys or a new account), are checked here.
    """
    state = state_of(request)
    client = request.client
    governed = state.settings.auth
    ctx = RequestContext(
        request_id=request.headers.get("x-request-id") or uuid4().hex,
        client_address=client.host if client else None,
        user_agent=request.headers.get("user-agent"),
        governed=governed,
    )
    if not governed:
        request.state.charter_context = ctx
        return ctx
    oidc = oidc_client(request, state.settings)
    credentials = parse_credentials(
        oidc, request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
    )
    if credentials.kind != JWT and getattr(request.scope.get("route"), "checks_credentials", False):
        return UnverifiedContext(
            request_id=ctx.request_id,
            client_address=ctx.client_address,
            user_agent=ctx.user_agent,
            governed=True,
            credentials=credentials,
            database=state.db,
            request_state=request.state,
        )
    # The lookups are blocking database (and, for a new JWT key, network) calls.
    result = await run_in_threadpool(authenticate, state.db, oidc, credentials)
    return _verified(request.state, ctx, result)


ContextDep = Annotated[RequestContext, Depends(get_context)]


# -- authentication -------------------------------------------------------------------------

SESSION_COOKIE = "charter_session"
TOKEN, COOKIE, JWT = "token", "session", "jwt"


@dataclass(frozen=True)
class Credentials:
    """What the request presents, parsed without any I/O."""

    kind: str  # TOKEN | COOKIE | JWT
    secret: str
    username: str | None = None  # HTTP Basic's, which must own the token


@dataclass(frozen=True, eq=False, kw_only=True)
class UnverifiedContext(RequestContext):
    """A governed request's context before its credentials are checked.

    ``TransactionalRoute`` swaps it for ``verified(session)`` where the endpoint runs (its
    worker thread, or the event loop for a read on SQLite): one statement reads the
    credential, its owner, groups and grants, with no thread hop. A read checks them in its
    own transaction, and so does a write on the event loop (SQLite, once it holds the writers'
    lock: the lookup costs tens of microseconds there); a write on a worker thread checks them
    in a short read before its own begins, outside the lock. A process cache is not an
    option: a revoked token must stop at once on every replica.
    """

    credentials: Credentials
    database: Database
    request_state: State  # where the verified context goes (not the request: no cycle)
    # Writes that the check put off because the endpoint runs on the event loop, which must
    # never wait for SQLite's writer: the route runs them on a worker thread before answering.
    deferred: list[Callable[[], None]] = field(default_factory=list)
    checked: Authenticated | None = None  # the lookup, when ``checked_ahead`` made it

    @property
    def can_check_ahead(self) -> bool:
        return self.database.is_sqlite

    def checked_ahead(self) -> UnverifiedContext:
        """The lookup made now, in a read of its own: on SQLite the route makes it on the
        event loop before a write goes to its worker thread (a read there only costs CPU),
        and the thread then only writes."""
        with self.database.transaction(write=False) as reader:
            return replace(self, checked=check(reader, self.credentials))

    def verified(self, session: Session, *, on_loop: bool = False) -> RequestContext:
        """The context, checked in ``session`` (a read) or ahead of it (a write); ``on_loop``
        says that the caller runs on the event loop, where a write must not wait."""
        ctx = RequestContext(
            request_id=self.request_id,
            client_address=self.client_address,
            user_agent=self.user_agent,
            governed=self.governed,
        )
        writes = self.database.writes(session)
        result = self.checked
        if result is None and writes and not on_loop:
            # Not inside a write transaction on a worker thread: on SQLite that holds the one
            # writer's lock, and there the lookup shares the GIL with the loop and the other
            # threads, so every write waiting for the lock would wait for it too. On the loop
            # it costs a few tens of microseconds, less than a transaction of its own.
            with self.database.transaction(write=False) as reader:
                result = check(reader, self.credentials)
        elif result is None:
            result = check(session, self.credentials)
        if writes:
            touch_if_stale(session, result)  # with the request's own changes
        elif result.needs_touch and on_loop:
            self.deferred.append(functools.partial(touch_in_own_write, self.database, result))
        else:
            touch_in_own_write(self.database, result)
        return _verified(self.request_state, ctx, result)


def _verified(state: State, ctx: RequestContext, result: Authenticated) -> RequestContext:
    ctx = replace(ctx, actor=result.actor, grants=result.grants)
    # The error handler records a refused attempt as this actor (charter.api.refusals).
    state.charter_context = ctx
    return ctx


def parse_credentials(
    oidc: OidcClient | None, authorization: str | None, session_cookie: str | None
) -> Credentials:
    """The Authorization header's credentials, else the SSO session cookie."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            if value.startswith(tokens.TOKEN_PREFIX):
                return Credentials(TOKEN, value)
            if oidc is not None and looks_like_jwt(value):
                return Credentials(JWT, value)
            raise Unauthenticated("the token is malformed")
        if scheme.lower() == "basic" and value:
            username, password = _basic(value)
            return Credentials(TOKEN, password, username)
        raise Unauthenticated("the Authorization header must be 'Bearer <token>' or Basic")
    if session_cookie:
        return Credentials(COOKIE, session_cookie)
    raise Unauthenticated(
        "authentication required: send 'Authorization: Bearer <token>' or sign in at /auth/login"
    )


def _basic(credentials: str) -> tuple[str, str]:
    """HTTP Basic (RFC 7617): the user name and, as the password, an API token."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("the Basic credentials are malformed") from exc
    username, colon, password = decoded.partition(":")
    if not colon or not username or not password:
        raise Unauthenticated("the Basic credentials must be a user name and a token")
    return username, password


def authenticate(db: Database, oidc: OidcClient | None, credentials: Credentials) -> Authenticated:
    """Check the credentials in a read transaction of their own (JWTs: see ``_jwt``)."""
    if credentials.kind == JWT:
        if oidc is None:
            raise Unauthenticated("the token is malformed")
        return _jwt(db, oidc, credentials.secret)
    with db.transaction(write=False) as session:
        result = check(session, credentials)
    touch_in_own_write(db, result)
    return result


def check(session: Session, credentials: Credentials) -> Authenticated:
    """Check an API token or a session cookie in the caller's transaction, without writing."""
    if credentials.kind == COOKIE:
        return SsoService(session, SYSTEM).authenticate_session(credentials.secret)
    return IdentityService(session, SYSTEM).authenticate_token(
        credentials.secret, credentials.username
    )


def touch_if_stale(session: Session, result: Authenticated) -> None:
    """Record the token's use in this write transaction, at most once a minute per token."""
    token_id = result.actor.token_id
    if result.needs_touch and token_id is not None:
        IdentityService(session, SYSTEM).touch_token(int(token_id))


def touch_in_own_write(db: Database, result: Authenticated) -> None:
    """Record the token's use after a read, in a short write of its own (reads stay reads)."""
    if result.needs_touch and result.actor.token_id is not None:
        with db.transaction(write=True) as writer:
            touch_if_stale(writer, result)


def _grants(session: Session, actor: Actor) -> Authenticated:
    """The actor's grants, read in the transaction that proved who it is (one indexed query)."""
    return Authenticated(actor, GrantService(session, SYSTEM).rules_of(actor))


def _jwt(db: Database, oidc: OidcClient, token: str) -> Authenticated:
    """A JWT access token from the provider; its account is provisioned on first sight."""
    claims = oidc.verify_access_token(token)
    issuer, groups_claim = oidc.config.issuer, oidc.config.groups_claim
    with db.transaction(write=False) as session:
        actor = SsoService(session, SYSTEM).find_actor(issuer, claims, groups_claim)
        if actor is not None:
            return _grants(session, actor)
    try:
        with db.transaction(write=True) as session:
            sso = SsoService(session, SYSTEM)
            user = sso.provision(issuer, claims, groups_claim, kind=kind_of(claims))
            return _grants(session, sso.actor_of(user, claims, groups_claim, method="jwt"))
    except IntegrityError:
        # Another request provisioned the same identity first; use its account.
        with db.transaction(write=False) as session:
            actor = SsoService(session, SYSTEM).find_actor(issuer, claims, groups_claim)
            if actor is None:
                raise
            return _grants(session, actor)


def oidc_client(request: Request, settings: Settings) -> OidcClient | None:
    """The application's OpenID Connect client, made on first use; None without SSO.

    It lives on the application so its key cache outlives a request; it is rebuilt if the
    settings name another provider.
    """
    config = OidcConfig.from_settings(settings)
    if config is None:
        return None
    client: OidcClient | None = getattr(request.app.state, "charter_oidc", None)
    if client is None or client.config != config:
        client = OidcClient(config)
        request.app.state.charter_oidc = client
    return client
