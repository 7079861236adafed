"""Privilege escalation attempts (each refused, on record, and changing nothing), what lists
show to whom, and single-user mode, with authentication on, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from charter.api.app import create_app
from charter.api.state import AppState
from charter.audit import AuditEventView, AuditFilter, AuditService
from charter.config import Settings
from charter.context import SYSTEM
from tests.integration.access_world import World, build

ML = "/api/2.0/mlflow"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No background scans: their events (by system) would mix with the ones a test counts.
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, auth=True, scan_workers=0
    )


@pytest.fixture
def world(app: FastAPI, http: TestClient, state: AppState) -> World:
    return build(http, state)


def events(state: AppState, **where: Any) -> list[AuditEventView]:
    with state.db.transaction(write=False) as session:
        page = AuditService(session, SYSTEM).search(AuditFilter(**where), max_results=100)
    return page.items


def refused(world: World, who: str, method: str, url: str, status: int = 403, **kw: Any) -> str:
    """Send a request that must be refused; return the message after checking its record."""
    before = events(world.state)[0].seq
    response = world.call(who, method, url, **kw)
    assert response.status_code == status, response.text
    after = events(world.state)
    new = [e for e in after if e.seq > before]
    assert [(e.outcome, e.actor) for e in new] == [("denied", who)]
    assert new[0].reason is not None
    assert url.split("?")[0] in new[0].reason
    message: str = response.json()["message"]
    return message


class TestEscalation:
    def test_a_contributor_cannot_grant_itself_a_role(self, world: World) -> None:
        for grant in (
            {"principal": "contributor", "role": "admin"},
            {"principal": "contributor", "role": "maintainer", "model": "fraud"},
            {"principal": "contributor", "role": "maintainer", "prefix": "fraud*"},
            {"principal_type": "group", "principal": "everyone", "role": "approver"},
        ):
            message = refused(world, "contributor", "POST", "/api/v1/grants", json=grant)
            assert "contributor needs the" in message
        grants = world.ok("admin", "GET", "/api/v1/grants")["grants"]
        assert [g["principal"] for g in grants if g["principal"] == "contributor"] == [
            "contributor"  # its own global grant, nothing more
        ]
        (denied, *_) = events(world.state, outcome="denied")
        assert denied.action == "api.add_grant"

    def test_a_maintainer_grants_on_its_model_but_not_globally(self, world: World) -> None:
        grant = {"principal": "reader", "role": "contributor", "model": "fraud"}
        created = world.ok("maintainer", "POST", "/api/v1/grants", 201, json=grant)
        (event,) = events(world.state, action="grant.add", actor="maintainer")
        assert (event.resource_type, event.resource_name, event.model) == (
            "model_grant",
            "fraud",
            "fraud",
        )
        assert event.after is not None
        assert event.after["role"] == "contributor"
        refused(world, "maintainer", "POST", "/api/v1/grants", json=grant | {"model": None})
        world.ok("maintainer", "DELETE", f"/api/v1/grants/{created['id']}", 204)

    def test_a_requester_cannot_approve_its_own_request(self, world: World) -> None:
        ask = {"version": 3, "alias": "champion", "justification": "mine"}
        request = world.ok("approver", "POST", "/api/v1/models/fraud/promotions", 201, json=ask)
        url = f"/api/v1/promotions/{request['id']}/approve"
        message = refused(world, "approver", "POST", url, json={"comment": "lgtm"})
        assert "approver requested this promotion" in message
        current = world.ok("reader", "GET", f"/api/v1/promotions/{request['id']}")
        assert (current["status"], current["decisions"]) == ("open", [])

    def test_a_contributor_cannot_approve(self, world: World) -> None:
        url = f"/api/v1/promotions/{world.ids['request']}/approve"
        message = refused(world, "contributor", "POST", url, json={"comment": "lgtm"})
        assert message == "contributor needs the approver role on model 'fraud'"


class TestProtectedLabels:
    def test_the_mlflow_api_cannot_move_a_protected_alias(self, world: World) -> None:
        body = {"name": "fraud", "alias": "champion", "version": "1"}
        for who in ("contributor", "admin"):  # not even an admin: admins use break-glass
            message = refused(world, who, "POST", f"{ML}/registered-models/alias", json=body)
            assert message == (
                "`champion` is protected: request a promotion with "
                "`charter promote request fraud/1 --to champion --justification '...'`"
            )
        assert world.ok("reader", "GET", "/api/v1/models/fraud")["aliases"] == {"challenger": 1}

    def test_the_mlflow_api_cannot_move_a_version_to_a_protected_stage(self, world: World) -> None:
        body = {"name": "fraud", "version": "3", "stage": "Production"}
        body["archive_existing_versions"] = False  # type: ignore[assignment]
        message = refused(
            world, "maintainer", "POST", f"{ML}/model-versions/transition-stage", json=body
        )
        assert "charter promote request fraud/3 --stage Production" in message
        assert world.ok("reader", "GET", "/api/v1/models/fraud/versions/3")["stage"] == "None"

    def test_a_protected_version_is_not_deleted(self, world: World) -> None:
        force = {"version": 1, "alias": "champion", "reason": "incident 42"}
        world.ok("admin", "POST", "/api/v1/models/fraud/promotions/force", 201, json=force)
        url = "/api/v1/models/fraud/versions/1"
        assert "contributor needs the maintainer role" in refused(
            world, "contributor", "DELETE", url
        )
        mlflow = {"name": "fraud", "version": "1"}
        refused(world, "contributor", "DELETE", f"{ML}/model-versions/delete", json=mlflow)
        # A maintainer may delete versions, but not one holding a protected alias (409, as
        # every deletion protection answers), and the attempt is on record too.
        message = refused(world, "maintainer", "DELETE", url, status=409)
        assert "holds the protected alias champion" in message
        message = refused(world, "maintainer", "DELETE", "/api/v1/models/fraud", status=409)
        assert "alias champion (version 1)" in message
        assert sorted(world.ok("reader", "GET", url)["aliases"]) == ["challenger", "champion"]


class TestTrail:
    def test_an_alias_move_records_where_it_was_and_where_it_went(self, world: World) -> None:
        world.ok(
            "contributor", "PUT", "/api/v1/models/fraud/aliases/challenger", json={"version": 3}
        )
        (event, *_) = events(world.state, action="alias.set")
        assert (event.actor, event.resource_name, event.model) == (
            "contributor",
            "fraud@challenger",
            "fraud",
        )
        assert (event.before, event.after) == ({"version": 1}, {"version": 3})

    def test_every_change_of_the_setup_is_on_record(self, world: World) -> None:
        actions = {e.action for e in events(world.state, actor="admin")}
        assert {
            "model.create",
            "version.create",
            "artifact.upload",
            "version.finalize",
            "version.tag.set",
            "alias.set",
            "experiment.create",
            "run.create",
            "logged_model.create",
            "grant.add",
            "token.create",
        } <= actions

    def test_a_bad_token_is_refused_and_recorded(self, world: World) -> None:
        response = world.http.get("/api/v1/models", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        (event, *_) = events(world.state, outcome="denied")
        assert (event.actor, event.action) == ("anonymous", "api.search_models")
        assert event.reason is not None
        assert "malformed" in event.reason


class TestVisibility:
    def test_lists_show_only_what_the_caller_may_read(self, world: World) -> None:
        world.ok("admin", "POST", "/api/v1/models", 201, json={"name": "churn"})
        grant = {"principal": "nobody", "role": "reader", "model": "churn"}
        world.ok("admin", "POST", "/api/v1/grants", 201, json=grant)
        # Grants are read with the credentials: the next request sees the new one.
        names = [m["name"] for m in world.ok("nobody", "GET", "/api/v1/models")["models"]]
        assert names == ["churn"]
        search = world.ok("nobody", "GET", f"{ML}/registered-models/search")
        assert [m["name"] for m in search["registered_models"]] == ["churn"]
        assert world.ok("nobody", "GET", "/api/v1/versions")["versions"] == []
        assert world.ok("nobody", "GET", "/api/v1/promotions")["promotions"] == []
        everything = [m["name"] for m in world.ok("reader", "GET", "/api/v1/models")["models"]]
        assert everything == ["churn", "fraud"]

    def test_a_hidden_model_is_as_missing_as_a_missing_one(self, world: World) -> None:
        hidden = refused(world, "nobody", "GET", "/api/v1/models/fraud", status=404)
        missing = world.call("reader", "GET", "/api/v1/models/ghost").json()["message"]
        assert hidden.replace("fraud", "ghost") == missing


class TestSingleUserMode:
    def test_nothing_is_enforced_and_everything_is_recorded_as_local(
        self, database_url: str, tmp_path: Path
    ) -> None:
        settings = Settings(data_dir=tmp_path / "solo", database_url=database_url)
        state = AppState.open(settings)
        try:
            with TestClient(create_app(settings, state)) as http:
                assert http.post("/api/v1/models", json={"name": "fraud"}).status_code == 201
                version = {"source": "s3://b/fraud"}
                assert http.post("/api/v1/models/fraud/versions", json=version).status_code == 201
                body = {"name": "fraud", "alias": "champion", "version": "1"}
                moved = http.post(f"{ML}/registered-models/alias", json=body)
                assert moved.status_code == 200, moved.text
                assert http.delete("/api/v1/models/fraud/versions/1").status_code == 204
            trail = events(state)
        finally:
            state.close()
        assert [(e.action, e.actor) for e in reversed(trail)] == [
            ("model.create", "local"),
            ("version.create", "local"),
            ("alias.set", "local"),
            ("version.delete", "local"),
        ]
        assert trail[1].after == {"version": 1}
