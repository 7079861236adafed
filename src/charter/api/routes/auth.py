"""Browser sign-in through OpenID Connect: login, callback, logout.

``/auth/login`` sends the browser to the provider with a fresh state, nonce and PKCE (S256)
verifier, which ride back in a short-lived HttpOnly cookie scoped to the callback: no server
state, so any replica can finish a login another one started, and the cookie binds the login
to the browser that started it (login CSRF). The callback checks the state, trades the code
for tokens, verifies the ID token, provisions the account and opens a server-side session
whose secret is the session cookie. These endpoints need no credentials.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from charter.api.deps import SESSION_COOKIE, DatabaseDep, StateDep, oidc_client
from charter.api.routing import TransactionalRoute
from charter.api.state import AppState
from charter.context import SYSTEM
from charter.errors import NotFound, Unauthenticated
from charter.identity.oidc import LoginRequest, OidcClient
from charter.identity.sso import SsoService

router = APIRouter(route_class=TransactionalRoute, prefix="/auth", tags=["auth"])

LOGIN_COOKIE = "charter_login"
CALLBACK_PATH = "/auth/callback"
LOGIN_SECONDS = 600


@router.get("/login", response_class=RedirectResponse, status_code=303)
def login(
    request: Request,
    state: StateDep,
    next_path: Annotated[str, Query(alias="next", description="Where to go after")] = "/",
) -> RedirectResponse:
    client = _client(request, state)
    attempt = LoginRequest.new()
    target = client.authorization_url(attempt, _redirect_uri(request, client))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        LOGIN_COOKIE,
        _pack(attempt, _local_path(next_path)),
        max_age=LOGIN_SECONDS,
        path=CALLBACK_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/callback", name="oidc_callback", response_class=RedirectResponse, status_code=303)
async def callback(
    request: Request,
    state: StateDep,
    code: str | None = None,
    returned_state: Annotated[str | None, Query(alias="state")] = None,
    iss: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    client = _client(request, state)
    if error is not None:
        raise Unauthenticated(f"the identity provider refused the login: {error[:100]}")
    attempt, next_path = _unpack(request.cookies.get(LOGIN_COOKIE))
    if returned_state is None or not hmac.compare_digest(returned_state, attempt.state):
        raise Unauthenticated("the login's state does not match; start again at /auth/login")
    # RFC 9207: a response that names another issuer is a mix-up attack.
    if iss is not None and iss != client.config.issuer:
        raise Unauthenticated("the login response comes from another issuer")
    if not code:
        raise Unauthenticated("the identity provider returned no authorization code")
    secret = await run_in_threadpool(
        _finish_login, state, client, code, attempt, _redirect_uri(request, client)
    )
    response = RedirectResponse(next_path, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path=CALLBACK_PATH)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=state.settings.session_ttl_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", status_code=204)
def logout(request: Request, db: DatabaseDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        with db.transaction(write=True) as session:
            SsoService(session, SYSTEM).end_session(secret)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _finish_login(
    state: AppState, client: OidcClient, code: str, attempt: LoginRequest, redirect_uri: str
) -> str:
    """Network first (no transaction open while the provider answers), then one write."""
    claims = client.exchange_code(code, attempt, redirect_uri)
    config = client.config
    with state.db.transaction(write=True) as session:
        sso = SsoService(session, SYSTEM)
        user = sso.provision(config.issuer, claims, config.groups_claim)
        return sso.start_session(user, state.settings.session_ttl_seconds)


def _client(request: Request, state: AppState) -> OidcClient:
    client = oidc_client(request, state.settings)
    if client is None or not state.settings.auth:
        raise NotFound("single sign-on is not configured on this server")
    return client


def _redirect_uri(request: Request, client: OidcClient) -> str:
    return client.config.redirect_url or str(request.url_for("oidc_callback"))


def _local_path(value: str) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _pack(attempt: LoginRequest, next_path: str) -> str:
    encoded_next = base64.urlsafe_b64encode(next_path.encode()).decode().rstrip("=")
    return ".".join((attempt.state, attempt.nonce, attempt.code_verifier, encoded_next))


def _unpack(value: str | None) -> tuple[LoginRequest, str]:
    parts = (value or "").split(".")
    if len(parts) != 4 or not all(parts[:3]):
        raise Unauthenticated(
            "no login is in progress in this browser (or it expired); start at /auth/login"
        )
    try:
        next_path = base64.urlsafe_b64decode(parts[3] + "=" * (-len(parts[3]) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        next_path = "/"
    return LoginRequest(parts[0], parts[1], parts[2]), _local_path(next_path)
