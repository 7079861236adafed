"""Single sign-on against a real OpenID Connect provider (npm ``oidc-provider`` on loopback).

A browser login (authorization code + PKCE) is driven with httpx through the provider's
login and consent forms; machine clients present the provider's JWT access tokens.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from charter.api.state import AppState
from charter.config import Settings
from charter.context import SYSTEM
from charter.identity.service import GrantService, IdentityService
from tests.support.oidc_provider import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    EXPIRED_RESOURCE,
    OTHER_RESOURCE,
    OidcProvider,
    sign_in,
)
from tests.support.ports import free_port
from tests.support.server import CharterServer

pytestmark = pytest.mark.e2e


def settings_env(issuer: str, callback: str) -> dict[str, str]:
    return {
        "CHARTER_AUTH": "on",
        "CHARTER_OIDC_ISSUER": issuer,
        "CHARTER_OIDC_CLIENT_ID": CLIENT_ID,
        "CHARTER_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CHARTER_OIDC_AUDIENCE": AUDIENCE,
        "CHARTER_OIDC_REDIRECT_URL": callback,
    }


@contextmanager
def charter_serve(data_dir: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """A real ``charter serve`` configured by ``env``, as an operator would run it."""
    with CharterServer(data_dir, port=port, env=env) as server:
        yield server.url


class Stack:
    """A provider and a Charter that trusts it, each on its own loopback port."""

    def __init__(self, provider: OidcProvider, charter_url: str, data_dir: Path) -> None:
        self.provider = provider
        self.url = charter_url
        self.data_dir = data_dir

    @property
    def callback(self) -> str:
        return f"{self.url}/auth/callback"

    def accounts(self) -> dict[str, dict[str, object]]:
        """The accounts as stored, read straight from the installation's database."""
        state = AppState.open(Settings(data_dir=self.data_dir))
        try:
            with state.db.transaction(write=False) as session:
                users = IdentityService(session, SYSTEM).list_users()
        finally:
            state.close()
        return {u.name: vars(u) for u in users}

    def grant_group(self, group: str, role: str) -> None:
        """A global role for every member of a provider group (groups come from the claim)."""
        state = AppState.open(Settings(data_dir=self.data_dir))
        try:
            with state.db.transaction() as session:
                GrantService(session, SYSTEM).add("group", group, role)
        finally:
            state.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/auth/callback"
    with OidcProvider(callback, tmp_path) as provider:
        data_dir = tmp_path / "data"
        env = settings_env(provider.issuer, callback)
        with charter_serve(data_dir, port, env) as url:
            yield Stack(provider, url, data_dir)


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=10.0) as client:
        yield client


def jwt_part(token: str, index: int) -> dict[str, object]:
    segment = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(segment + "=" * 4))
    return decoded


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_refused(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    assert fragment in response.json()["message"]
    assert "Bearer" in response.headers["www-authenticate"]


class TestBrowserLogin:
    def test_code_flow_with_pkce_opens_a_session_and_provisions_the_user(
        self, stack: Stack, browser: httpx.Client
    ) -> None:
        start = browser.get(f"{stack.url}/auth/login", params={"next": "/api/v1/me"})
        assert start.status_code == 303
        authorize = urlsplit(start.headers["location"])
        assert f"{authorize.scheme}://{authorize.netloc}" == stack.provider.issuer
        query = parse_qs(authorize.query)
        assert query["response_type"] == ["code"]
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["code_challenge"][0]) == 43
        assert query["state"][0]
        assert query["nonce"][0]
        assert query["redirect_uri"] == [stack.callback]
        login_cookie = start.headers["set-cookie"]
        assert "charter_login=" in login_cookie
        assert "HttpOnly" in login_cookie
        assert "Path=/auth/callback" in login_cookie

        done = sign_in(browser, start.headers["location"], "alice", stop_at=stack.callback)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/api/v1/me"
        session_cookie = next(
            c for c in done.headers.get_list("set-cookie") if c.startswith("charter_session=")
        )
        assert "HttpOnly" in session_cookie
        assert "SameSite=lax" in session_cookie or "SameSite=Lax" in session_cookie
        assert "Secure" not in session_cookie  # plain http on loopback

        me = browser.get(f"{stack.url}/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["name"] == "alice"
        assert me.json()["method"] == "session"
        assert me.json()["groups"] == ["ml-team", "risk-approvers"]

        alice = stack.accounts()["alice"]
        assert alice["sso"] is True
        assert alice["kind"] == "user"
        assert alice["email"] == "alice@example.com"
        assert alice["display_name"] == "Alice"
        assert alice["groups"] == ["ml-team", "risk-approvers"]

    def test_the_session_acts_on_the_registry_as_the_user(
        self, stack: Stack, browser: httpx.Client
    ) -> None:
        stack.grant_group("ml-team", "contributor")
        sign_in(browser, f"{stack.url}/auth/login", "bob", stop_at=stack.callback)
        created = browser.post(f"{stack.url}/api/v1/models", json={"name": "fraud"})
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == "bob"
        assert stack.accounts()["bob"]["groups"] == ["ml-team"]

    def test_logout_ends_the_session_on_the_server(
        self, stack: Stack, browser: httpx.Client
    ) -> None:
        sign_in(browser, f"{stack.url}/auth/login", "alice", stop_at=stack.callback)
        secret = browser.cookies["charter_session"]
        assert browser.post(f"{stack.url}/auth/logout").status_code == 204
        assert "charter_session" not in browser.cookies
        # The old cookie, replayed, no longer opens anything.
        replay = httpx.get(f"{stack.url}/api/v1/me", cookies={"charter_session": secret})
        assert_refused(replay, "session has ended")

    def test_a_forged_state_is_refused_and_no_session_opens(
        self, stack: Stack, browser: httpx.Client
    ) -> None:
        start = browser.get(f"{stack.url}/auth/login")
        real_state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        response = browser.get(
            stack.callback, params={"code": "anything", "state": real_state[::-1]}
        )
        assert_refused(response, "state does not match")
        assert "charter_session" not in browser.cookies

    def test_a_callback_without_the_login_cookie_is_refused(
        self, stack: Stack, browser: httpx.Client
    ) -> None:
        """Login CSRF: a code obtained in another browser cannot be planted in this one."""
        start = browser.get(f"{stack.url}/auth/login")
        done = sign_in(browser, start.headers["location"], "mallory", stop_at=stack.callback)
        code_url = str(done.url)
        with httpx.Client(follow_redirects=False) as victim:
            assert_refused(victim.get(code_url), "no login is in progress")
            assert "charter_session" not in victim.cookies

    def test_a_code_is_good_once(self, stack: Stack, browser: httpx.Client) -> None:
        start = browser.get(f"{stack.url}/auth/login")
        login_cookie = browser.cookies["charter_login"]
        done = sign_in(browser, start.headers["location"], "alice", stop_at=stack.callback)
        assert done.status_code == 303
        replay = httpx.get(str(done.url), cookies={"charter_login": login_cookie})
        assert_refused(replay, "refused the login")


class TestJwtAccessTokens:
    def test_client_credentials_token_is_accepted_and_its_account_provisioned_once(
        self, stack: Stack
    ) -> None:
        token = stack.provider.client_credentials_token()
        assert jwt_part(token, 1)["aud"] == AUDIENCE
        headers = {"Authorization": f"Bearer {token}"}
        first = httpx.get(f"{stack.url}/api/v1/me", headers=headers)
        assert first.status_code == 200, first.text
        me = first.json()
        assert me["name"] == CLIENT_ID
        assert me["kind"] == "service"
        assert me["method"] == "jwt"
        assert me["groups"] == ["pipelines"]
        again = httpx.get(f"{stack.url}/api/v1/me", headers=headers).json()
        assert again["user_id"] == me["user_id"]
        assert stack.accounts()[CLIENT_ID]["sso"] is True

    def test_tampered_token_is_refused(self, stack: Stack) -> None:
        token = stack.provider.client_credentials_token()
        head, _, signature = token.split(".")
        claims = jwt_part(token, 1)
        claims["sub"] = "someone-else"
        forged = f"{head}.{b64(claims)}.{signature}"
        response = httpx.get(
            f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {forged}"}
        )
        assert_refused(response, "signature")

    def test_expired_token_is_refused(self, stack: Stack) -> None:
        token = stack.provider.client_credentials_token(EXPIRED_RESOURCE)
        assert int(str(jwt_part(token, 1)["exp"])) < time.time()
        response = httpx.get(f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert_refused(response, "expired")

    def test_token_for_another_audience_is_refused(self, stack: Stack) -> None:
        token = stack.provider.client_credentials_token(OTHER_RESOURCE)
        assert jwt_part(token, 1)["aud"] == "other-api"
        response = httpx.get(f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert_refused(response, "audience")

    def test_alg_none_with_the_providers_claims_is_refused(self, stack: Stack) -> None:
        token = stack.provider.client_credentials_token()
        header = {**jwt_part(token, 0), "alg": "none"}
        unsigned = f"{b64(header)}.{token.split('.')[1]}."
        response = httpx.get(
            f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {unsigned}"}
        )
        assert_refused(response, "'none' is not accepted")

    def test_an_id_token_is_not_an_access_token(self, stack: Stack) -> None:
        id_token = stack.provider.code_flow_tokens("alice")["id_token"]
        assert jwt_part(id_token, 1)["aud"] == CLIENT_ID
        response = httpx.get(
            f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {id_token}"}
        )
        assert_refused(response, "audience")
        assert "alice" not in stack.accounts()

    def test_a_disabled_account_is_refused_at_once(self, stack: Stack) -> None:
        token = stack.provider.client_credentials_token()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{stack.url}/api/v1/me", headers=headers).status_code == 200
        state = AppState.open(Settings(data_dir=stack.data_dir))
        try:
            with state.db.transaction() as session:
                IdentityService(session, SYSTEM).disable_user(CLIENT_ID)
        finally:
            state.close()
        assert_refused(httpx.get(f"{stack.url}/api/v1/me", headers=headers), "disabled")
