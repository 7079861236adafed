"""Authentication with API tokens through the native API, on SQLite and PostgreSQL.

The app is built with authentication on (``Settings(auth=True)``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.testclient import TestClient

from charter.api.app import create_app
from charter.api.state import AppState
from charter.config import Settings
from charter.context import Actor, RequestContext
from charter.db import now_ms
from charter.errors import AlreadyExists, InvalidArgument, NotFound
from charter.identity import tokens
from charter.identity.grants import Role
from charter.identity.models import ApiToken
from charter.identity.service import GrantService, IdentityService
from tests.factories.registry import create_model

ADMIN = RequestContext(actor=Actor(name="test-admin", kind="system", method="system"))
CHALLENGE = 'Bearer, Basic realm="charter"'


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, auth=True)


@pytest.fixture
def app(settings: Settings, state: AppState) -> FastAPI:
    return create_app(settings, state)


def create_user(state: AppState, name: str, **options: Any) -> str:
    with state.db.transaction() as session:
        _, issued = IdentityService(session, ADMIN).create_user(name, **options)
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def stored_token(state: AppState, token_id: int) -> ApiToken:
    with state.db.transaction(write=False) as session:
        row = session.scalars(select(ApiToken).where(ApiToken.id == token_id)).one()
        session.expunge(row)
        return row


def set_last_used(state: AppState, token_id: int, value: int) -> None:
    with state.db.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=value))


def assert_refused(response: Any, fragment: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_code"] == "UNAUTHENTICATED"
    assert fragment in body["message"]
    assert response.headers["www-authenticate"] == CHALLENGE


class TestValidToken:
    def test_me_names_the_account_behind_the_token(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice", role="contributor", groups=["ml", "risk"])
        response = http.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["name"] == "alice"
        assert me["kind"] == "user"
        assert me["groups"] == ["ml", "risk"]
        assert me["method"] == "token"
        assert me["authentication"] is True
        assert me["token_id"] is not None
        assert isinstance(me["user_id"], int)

    def test_the_actor_is_recorded_by_the_services(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice", role="contributor")
        http.headers.update(bearer(token))
        assert create_model(http, "fraud")["owner"] == "alice"

    def test_service_account(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "ci-bot", kind="service")
        assert http.get("/api/v1/me", headers=bearer(token)).json()["kind"] == "service"

    def test_basic_auth_with_the_token_as_password(self, http: TestClient, state: AppState) -> None:
        """What MLflow clients send with MLFLOW_TRACKING_USERNAME and _PASSWORD."""
        token = create_user(state, "alice")
        response = http.get("/api/v1/me", headers=basic("alice", token))
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "alice"


class TestRefused:
    def test_no_credentials(self, http: TestClient) -> None:
        assert_refused(http.get("/api/v1/models"), "authentication required")
        assert_refused(http.post("/api/v1/models", json={"name": "x"}), "authentication required")

    def test_nothing_is_written_by_a_refused_request(
        self, http: TestClient, state: AppState
    ) -> None:
        token = create_user(state, "alice")
        assert_refused(http.post("/api/v1/models", json={"name": "fraud"}), "authentication")
        assert http.get("/api/v1/models", headers=bearer(token)).json()["models"] == []

    @pytest.mark.parametrize(
        ("header", "fragment"),
        [
            ("Bearer", "must be 'Bearer <token>'"),
            ("Bearer ", "must be 'Bearer <token>'"),
            ("Token abc", "must be 'Bearer <token>'"),
            ("Digest username=x", "must be 'Bearer <token>'"),
            ("Bearer garbage", "malformed"),
            ("Bearer chr_short", "malformed"),
            ("Bearer chr_" + "!" * 43, "malformed"),
            ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.", "malformed"),
            ("Basic !!!notbase64", "Basic credentials are malformed"),
            ("Basic " + base64.b64encode(b"no-colon").decode(), "user name and a token"),
            ("Basic " + base64.b64encode(b"alice:").decode(), "user name and a token"),
        ],
    )
    def test_malformed(self, http: TestClient, header: str, fragment: str) -> None:
        assert_refused(http.get("/api/v1/me", headers={"Authorization": header}), fragment)

    def test_forged_token_never_issued(self, http: TestClient, state: AppState) -> None:
        create_user(state, "alice")
        assert_refused(http.get("/api/v1/me", headers=bearer(tokens.generate())), "not valid")

    def test_expired(self, http: TestClient, state: AppState) -> None:
        create_user(state, "alice")
        an_hour_ago = now_ms() - 3_600_000
        with state.db.transaction() as session:
            issued = IdentityService(session, ADMIN, now=lambda: an_hour_ago).create_token(
                "alice", "short", expires_in_seconds=60
            )
        assert_refused(http.get("/api/v1/me", headers=bearer(issued.token)), "expired")

    def test_revoked(self, http: TestClient, state: AppState) -> None:
        create_user(state, "alice")
        with state.db.transaction() as session:
            service = IdentityService(session, ADMIN)
            issued = service.create_token("alice", "doomed")
            service.revoke_token(issued.id)
        assert_refused(http.get("/api/v1/me", headers=bearer(issued.token)), "revoked")

    def test_disabled_account(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        with state.db.transaction() as session:
            IdentityService(session, ADMIN).disable_user("alice")
        assert_refused(http.get("/api/v1/me", headers=bearer(token)), "disabled")

    def test_basic_auth_with_another_users_name(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        create_user(state, "bob")
        assert_refused(http.get("/api/v1/me", headers=basic("bob", token)), "does not belong")

    def test_jwt_when_no_provider_is_configured(self, http: TestClient) -> None:
        token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln"
        assert_refused(http.get("/api/v1/me", headers=bearer(token)), "malformed")


class TestRevocationIsImmediate:
    def test_on_every_replica(self, settings: Settings, state: AppState) -> None:
        """Two servers on one database: a token revoked through one fails at once on the other."""
        token = create_user(state, "alice")
        other_state = AppState.open(settings)
        try:
            replica_a = TestClient(create_app(settings, state))
            replica_b = TestClient(create_app(settings, other_state))
            with replica_a, replica_b:
                me = replica_b.get("/api/v1/me", headers=bearer(token))
                assert me.status_code == 200
                token_id = me.json()["token_id"]
                revoked = replica_a.delete(f"/api/v1/tokens/{token_id}", headers=bearer(token))
                assert revoked.status_code == 204, revoked.text
                assert_refused(replica_b.get("/api/v1/me", headers=bearer(token)), "revoked")
                assert_refused(replica_a.get("/api/v1/me", headers=bearer(token)), "revoked")
        finally:
            other_state.close()


class TestLastUsed:
    def test_recorded_at_first_use_then_at_most_once_a_minute(
        self, http: TestClient, state: AppState
    ) -> None:
        token = create_user(state, "alice")
        token_id = int(http.get("/api/v1/me", headers=bearer(token)).json()["token_id"])
        first = stored_token(state, token_id).last_used_at
        assert first is not None

        # Used 30 s ago: another request within the minute does not write.
        recent = now_ms() - 30_000
        set_last_used(state, token_id, recent)
        assert http.get("/api/v1/me", headers=bearer(token)).status_code == 200
        assert stored_token(state, token_id).last_used_at == recent

        # Used over a minute ago: the next request records the use.
        old = now_ms() - 61_000
        set_last_used(state, token_id, old)
        assert http.get("/api/v1/me", headers=bearer(token)).status_code == 200
        updated = stored_token(state, token_id).last_used_at
        assert updated is not None
        assert updated > old

    def test_a_get_request_records_it_too(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        response = http.get("/api/v1/models", headers=bearer(token))
        assert response.status_code == 200
        listed = http.get("/api/v1/tokens", headers=bearer(token)).json()["tokens"]
        assert listed[0]["last_used_at"] is not None

    def test_a_read_records_a_stale_use_before_it_answers(
        self, http: TestClient, state: AppState
    ) -> None:
        # On SQLite a read runs on the event loop, which never waits for the writer: the use
        # is recorded on a worker thread, still before the answer goes out.
        token = create_user(state, "alice")
        token_id = int(http.get("/api/v1/me", headers=bearer(token)).json()["token_id"])
        old = now_ms() - 61_000
        set_last_used(state, token_id, old)
        assert http.get("/api/v1/models", headers=bearer(token)).status_code == 200
        updated = stored_token(state, token_id).last_used_at
        assert updated is not None
        assert updated > old

    def test_a_write_request_records_it_in_its_own_transaction(
        self, http: TestClient, state: AppState
    ) -> None:
        # A write checks its token in the transaction that makes its change (SQLite admits one
        # writer at a time, so the use must not need a second write transaction).
        token = create_user(state, "alice", role="contributor")
        token_id = int(http.get("/api/v1/me", headers=bearer(token)).json()["token_id"])
        old = now_ms() - 61_000
        set_last_used(state, token_id, old)
        created = http.post("/api/v1/models", json={"name": "touched"}, headers=bearer(token))
        assert created.status_code == 201, created.text
        updated = stored_token(state, token_id).last_used_at
        assert updated is not None
        assert updated > old
        assert http.get("/api/v1/models/touched", headers=bearer(token)).status_code == 200


class TestSelfService:
    def test_create_use_list_and_revoke_own_tokens(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        created = http.post(
            "/api/v1/tokens", json={"name": "laptop", "expires_in": "7d"}, headers=bearer(token)
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["name"] == "laptop"
        assert body["user"] == "alice"
        assert body["created_by"] == "alice"
        assert body["expires_at"].endswith("Z")
        second = body["token"]
        assert tokens.is_well_formed(second)

        me = http.get("/api/v1/me", headers=bearer(second)).json()
        assert me["name"] == "alice"
        assert me["token_id"] == str(body["id"])

        listed = http.get("/api/v1/tokens", headers=bearer(second))
        assert listed.status_code == 200
        names = [t["name"] for t in listed.json()["tokens"]]
        assert names == ["initial", "laptop"]
        assert all("token" not in t for t in listed.json()["tokens"])
        assert second not in listed.text

        assert http.delete(f"/api/v1/tokens/{body['id']}", headers=bearer(token)).status_code == 204
        assert_refused(http.get("/api/v1/me", headers=bearer(second)), "revoked")
        revoked = http.get("/api/v1/tokens", headers=bearer(token)).json()["tokens"]
        assert revoked[1]["revoked_at"] is not None

    def test_defaults_to_ninety_days(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        before = now_ms()
        issued = http.post("/api/v1/tokens", json={}, headers=bearer(token)).json()
        row = stored_token(state, issued["id"])
        assert row.expires_at is not None
        assert row.expires_at - before >= 90 * 86_400_000 - 60_000

    def test_only_the_secrets_hash_is_stored(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        issued = http.post("/api/v1/tokens", json={"name": "x"}, headers=bearer(token)).json()
        row = stored_token(state, issued["id"])
        assert row.token_hash == tokens.hash_secret(issued["token"])
        assert issued["token"] not in {row.token_hash, row.name}

    def test_others_tokens_are_invisible_and_untouchable(
        self, http: TestClient, state: AppState
    ) -> None:
        alice = create_user(state, "alice")
        bob = create_user(state, "bob")
        bob_token_id = http.get("/api/v1/me", headers=bearer(bob)).json()["token_id"]
        listed = http.get("/api/v1/tokens", headers=bearer(alice)).json()["tokens"]
        assert [t["user"] for t in listed] == ["alice"]
        response = http.delete(f"/api/v1/tokens/{bob_token_id}", headers=bearer(alice))
        assert response.status_code == 404
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert http.get("/api/v1/me", headers=bearer(bob)).status_code == 200

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"expires_in": "forever"}, "expires_in"),
            ({"expires_in": "0d"}, "expires_in"),
            ({"name": ""}, "name"),
            ({"name": "x" * 129}, "name"),
            ({"unknown": 1}, "unknown"),
        ],
    )
    def test_bad_input_is_400_and_creates_nothing(
        self, http: TestClient, state: AppState, body: dict[str, Any], fragment: str
    ) -> None:
        token = create_user(state, "alice")
        response = http.post("/api/v1/tokens", json=body, headers=bearer(token))
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert fragment in response.json()["message"]
        assert len(http.get("/api/v1/tokens", headers=bearer(token)).json()["tokens"]) == 1

    def test_revoking_a_missing_token_is_404(self, http: TestClient, state: AppState) -> None:
        token = create_user(state, "alice")
        assert http.delete("/api/v1/tokens/99999", headers=bearer(token)).status_code == 404


class TestPublicEndpoints:
    @pytest.mark.parametrize("path", ["/health", "/ready", "/docs", "/api/v1/openapi.json"])
    def test_need_no_credentials(self, http: TestClient, path: str) -> None:
        assert http.get(path).status_code == 200

    def test_login_needs_no_credentials_and_says_when_sso_is_off(self, http: TestClient) -> None:
        response = http.get("/auth/login", follow_redirects=False)
        assert response.status_code == 404
        assert "single sign-on is not configured" in response.json()["message"]


class TestSingleUserMode:
    @pytest.fixture
    def app(self, database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
        settings = Settings(data_dir=tmp_path / "off", database_url=database_url, auth=False)
        state = AppState.open(settings)
        yield create_app(settings, state)
        state.close()

    def test_everyone_is_local_and_credentials_are_ignored(self, http: TestClient) -> None:
        me = http.get("/api/v1/me", headers=bearer("garbage"))
        assert me.status_code == 200
        assert me.json() == {
            "name": "local",
            "kind": "user",
            "user_id": None,
            "groups": [],
            "method": "local",
            "token_id": None,
            "authentication": False,
        }

    def test_tokens_cannot_be_made_without_an_account(self, http: TestClient) -> None:
        response = http.post("/api/v1/tokens", json={"name": "x"})
        assert response.status_code == 409
        assert "authentication is off" in response.json()["message"]


class TestAccounts:
    def test_duplicate_name_is_refused(self, state: AppState) -> None:
        create_user(state, "alice")
        with pytest.raises(AlreadyExists), state.db.transaction() as session:
            IdentityService(session, ADMIN).create_user("alice")

    @pytest.mark.parametrize("name", ["", "a:b", "a b", "a/b", "x" * 257, "tab\t"])
    def test_bad_names_are_refused_and_nothing_is_created(self, state: AppState, name: str) -> None:
        with pytest.raises(InvalidArgument, match="name"), state.db.transaction() as session:
            IdentityService(session, ADMIN).create_user(name, role="reader")
        with state.db.transaction() as session:
            assert IdentityService(session, ADMIN).list_users() == []
            assert GrantService(session, ADMIN).list_grants() == []

    def test_bad_role_creates_nothing(self, state: AppState) -> None:
        with pytest.raises(InvalidArgument, match="role"), state.db.transaction() as session:
            IdentityService(session, ADMIN).create_user("alice", role="owner")
        with state.db.transaction() as session:
            assert IdentityService(session, ADMIN).list_users() == []

    def test_role_becomes_a_global_grant(self, state: AppState) -> None:
        create_user(state, "alice", role="approver")
        with state.db.transaction() as session:
            (grant,) = GrantService(session, ADMIN).list_grants(principal="alice")
        assert (grant.principal_type, grant.role, grant.scope) == ("user", "approver", "global")


class TestGrants:
    def test_model_grant_follows_the_model_through_a_rename(
        self, http: TestClient, state: AppState
    ) -> None:
        token = create_user(state, "alice", role="contributor")
        http.headers.update(bearer(token))
        model_id = create_model(http, "fraud")["id"]
        with state.db.transaction() as session:
            grants = GrantService(session, ADMIN)
            grants.add("user", "bob", Role.MAINTAINER, model="fraud")
            grants.add("group", "ml", "contributor", prefix="fraud-*")
            grants.add("group", "ml", "reader")
        renamed = http.patch("/api/v1/models/fraud", json={"name": "fraud-eu"})
        assert renamed.status_code == 200, renamed.text
        bob = Actor(name="bob", groups=("ml",))
        with state.db.transaction(write=False) as session:
            grants = GrantService(session, ADMIN)
            assert grants.role_of(bob, model_id, "fraud-eu") is Role.MAINTAINER
            assert grants.role_of(Actor(name="carol", groups=("ml",)), model_id, "fraud-eu") is (
                Role.CONTRIBUTOR
            )
            assert grants.role_of(Actor(name="carol", groups=("ml",))) is Role.READER
            assert grants.role_of(Actor(name="dave")) is None
            (model_grant,) = grants.list_grants(model="fraud-eu")
            assert model_grant.model_id == model_id

    def test_duplicates_and_bad_grants_are_refused(self, http: TestClient, state: AppState) -> None:
        with state.db.transaction() as session:
            GrantService(session, ADMIN).add("user", "alice", "reader")
        cases: list[tuple[dict[str, Any], type[Exception], str]] = [
            (
                {"principal_type": "user", "principal": "alice", "role": "admin"},
                AlreadyExists,
                "already holds reader",
            ),
            (
                {"principal_type": "team", "principal": "x", "role": "reader"},
                InvalidArgument,
                "principal type",
            ),
            (
                {"principal_type": "user", "principal": "x", "role": "boss"},
                InvalidArgument,
                "role",
            ),
            (
                {"principal_type": "user", "principal": "x", "role": "reader", "prefix": "fr"},
                InvalidArgument,
                "prefix",
            ),
            (
                {"principal_type": "user", "principal": "x", "role": "reader", "model": "nope"},
                NotFound,
                "nope",
            ),
        ]
        for arguments, error, fragment in cases:
            with pytest.raises(error, match=fragment), state.db.transaction() as session:
                GrantService(session, ADMIN).add(**arguments)
        with state.db.transaction() as session:
            assert len(GrantService(session, ADMIN).list_grants()) == 1

    def test_remove(self, state: AppState) -> None:
        with state.db.transaction() as session:
            grant_id = GrantService(session, ADMIN).add("group", "ml", "reader").id
        with state.db.transaction() as session:
            GrantService(session, ADMIN).remove(grant_id)
        with state.db.transaction() as session:
            assert GrantService(session, ADMIN).list_grants() == []
            with pytest.raises(NotFound):
                GrantService(session, ADMIN).remove(grant_id)
