"""FastAPI dependencies: the request's session (its one transaction), context and stores."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from uuid import uuid4

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from charter.api.state import AppState
from charter.blobs import BlobStore
from charter.config import Settings
from charter.context import SYSTEM, Actor, RequestContext
from charter.db import Database
from charter.errors import Unauthenticated
from charter.identity import tokens
from charter.identity.grants import GrantRule
from charter.identity.jwt import looks_like_jwt
from charter.identity.oidc import OidcClient, OidcConfig
from charter.identity.service import GrantService, IdentityService
from charter.identity.sso import SsoService, kind_of

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Trivial dependencies are async so they run on the event loop: a sync one costs a thread hop.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.charter
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_database(state: StateDep) -> Database:
    return state.db


async def get_blobs(state: StateDep) -> BlobStore:
    return state.blobs


DatabaseDep = Annotated[Database, Depends(get_database)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


async def get_session(request: Request, db: DatabaseDep) -> Session:
    """The request's one session; it opens a connection only when first used.

    Routes that take it are ``TransactionalRoute``s (charter.api.routing): the route commits
    it when it returns and rolls it back when it raises, on the same worker thread.
    """
    return db.session(write=request.method not in READ_METHODS)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_read_session(db: DatabaseDep) -> Session:
    """A read-only session whatever the method: for POST routes that only read (MLflow's
    searches and get-latest-versions), which would otherwise queue behind SQLite's writer.
    """
    return db.session(write=False)


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


async def get_context(request: Request, state: StateDep) -> RequestContext:
    """Who makes the request. With authentication off (single-user mode) it is ``local``;
    with it on, credentials are required and checked against the database on every request,
    so that a revoked token or a disabled account stops at once on every replica.
    """
    client = request.client
    governed = state.settings.auth
    actor, grants = LOCAL_ACTOR, NO_GRANTS
    if governed:
        # The lookups are blocking database (and, for a new JWT key, network) calls.
        actor, grants = await run_in_threadpool(
            authenticate,
            state,
            oidc_client(request, state.settings),
            request.headers.get("authorization"),
            request.cookies.get(SESSION_COOKIE),
        )
    ctx = RequestContext(
        actor=actor,
        request_id=request.headers.get("x-request-id") or uuid4().hex,
        client_address=client.host if client else None,
        user_agent=request.headers.get("user-agent"),
        governed=governed,
        grants=grants,
    )
    # The error handler records a refused attempt as this actor (charter.api.refusals).
    request.state.charter_context = ctx
    return ctx


ContextDep = Annotated[RequestContext, Depends(get_context)]


# -- authentication -------------------------------------------------------------------------

LOCAL_ACTOR = Actor()
SESSION_COOKIE = "charter_session"
NO_GRANTS: tuple[GrantRule, ...] = ()
Authenticated = tuple[Actor, tuple[GrantRule, ...]]


def grants_of(session: Session, actor: Actor) -> tuple[GrantRule, ...]:
    """The actor's grants, read in the transaction that proved who it is (one indexed query)."""
    return GrantService(session, SYSTEM).rules_of(actor)


def authenticate(
    state: AppState,
    oidc: OidcClient | None,
    authorization: str | None,
    session_cookie: str | None,
) -> Authenticated:
    """The actor proven by the Authorization header, else by the SSO session cookie, and the
    grants it holds."""
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return _bearer(state, oidc, credentials)
        if scheme.lower() == "basic" and credentials:
            username, password = _basic(credentials)
            return _api_token(state, password, username)
        raise Unauthenticated("the Authorization header must be 'Bearer <token>' or Basic")
    if session_cookie:
        with state.db.transaction(write=False) as session:
            actor = SsoService(session, SYSTEM).authenticate_session(session_cookie)
            return actor, grants_of(session, actor)
    raise Unauthenticated(
        "authentication required: send 'Authorization: Bearer <token>' or sign in at /auth/login"
    )


def _bearer(state: AppState, oidc: OidcClient | None, credentials: str) -> Authenticated:
    if credentials.startswith(tokens.TOKEN_PREFIX):
        return _api_token(state, credentials, None)
    if oidc is not None and looks_like_jwt(credentials):
        return _jwt(state, oidc, credentials)
    raise Unauthenticated("the token is malformed")


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


def _api_token(state: AppState, secret: str, username: str | None) -> Authenticated:
    with state.db.transaction(write=False) as session:
        result = IdentityService(session, SYSTEM).authenticate_token(secret, username)
        grants = grants_of(session, result.actor)
    if result.needs_touch and result.actor.token_id is not None:
        # Its own short write, at most once a minute per token: reads stay reads.
        with state.db.transaction(write=True) as session:
            IdentityService(session, SYSTEM).touch_token(int(result.actor.token_id))
    return result.actor, grants


def _jwt(state: AppState, oidc: OidcClient, token: str) -> Authenticated:
    """A JWT access token from the provider; its account is provisioned on first sight."""
    claims = oidc.verify_access_token(token)
    issuer, groups_claim = oidc.config.issuer, oidc.config.groups_claim
    with state.db.transaction(write=False) as session:
        actor = SsoService(session, SYSTEM).find_actor(issuer, claims, groups_claim)
        if actor is not None:
            return actor, grants_of(session, actor)
    try:
        with state.db.transaction(write=True) as session:
            sso = SsoService(session, SYSTEM)
            user = sso.provision(issuer, claims, groups_claim, kind=kind_of(claims))
            actor = sso.actor_of(user, claims, groups_claim, method="jwt")
            return actor, grants_of(session, actor)
    except IntegrityError:
        # Another request provisioned the same identity first; use its account.
        with state.db.transaction(write=False) as session:
            actor = SsoService(session, SYSTEM).find_actor(issuer, claims, groups_claim)
            if actor is None:
                raise
            return actor, grants_of(session, actor)


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
