"""Aliases and stages: atomic moves and a history of who held what, when."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.factories.registry import create_model, create_version


@pytest.fixture
def model(http: TestClient) -> str:
    create_model(http, "m")
    for _ in range(3):
        create_version(http, "m")
    return "m"


class TestAliases:
    def test_moving_an_alias_keeps_one_holder_and_the_history(
        self, http: TestClient, model: str
    ) -> None:
        http.put("/api/v1/models/m/aliases/champion", json={"version": 1})
        http.put("/api/v1/models/m/aliases/champion", json={"version": 2})
        assert http.get("/api/v1/models/m/aliases/champion").json()["version"] == 2
        assert http.get("/api/v1/models/m/versions/1").json()["aliases"] == []
        assert http.get("/api/v1/models/m").json()["aliases"] == {"champion": 2}
        history = http.get(
            "/api/v1/models/m/history", params={"kind": "alias", "label": "champion"}
        ).json()["history"]
        assert [(h["version"], h["ended_at"] is None) for h in history] == [(2, True), (1, False)]
        assert history[1]["end_reason"] == "alias moved"
        assert history[1]["started_by"] == "local"

    def test_setting_the_same_holder_twice_adds_no_history(
        self, http: TestClient, model: str
    ) -> None:
        http.put("/api/v1/models/m/aliases/champion", json={"version": 1})
        http.put("/api/v1/models/m/aliases/champion", json={"version": 1})
        assert len(http.get("/api/v1/models/m/history").json()["history"]) == 1

    def test_delete(self, http: TestClient, model: str) -> None:
        http.put("/api/v1/models/m/aliases/champion", json={"version": 1})
        assert http.delete("/api/v1/models/m/aliases/champion").status_code == 204
        assert http.delete("/api/v1/models/m/aliases/champion").status_code == 404
        history = http.get("/api/v1/models/m/history").json()["history"]
        assert history[0]["end_reason"] == "alias deleted"

    @pytest.mark.parametrize(
        ("alias", "fragment"),
        [
            ("latest", "reserved"),
            ("v3", "reserved"),
            ("V12", "reserved"),
            ("1abc", "invalid"),
            ("has space", "invalid"),
            ("a" * 256, "limit"),
        ],
    )
    def test_bad_alias_names(self, http: TestClient, model: str, alias: str, fragment: str) -> None:
        response = http.put(f"/api/v1/models/m/aliases/{alias}", json={"version": 1})
        assert response.status_code == 400
        assert fragment in response.json()["message"]
        assert http.get("/api/v1/models/m").json()["aliases"] == {}

    def test_alias_to_a_missing_version_is_404(self, http: TestClient, model: str) -> None:
        response = http.put("/api/v1/models/m/aliases/champion", json={"version": 9})
        assert response.status_code == 404

    def test_alias_to_a_pending_version_is_409(self, http: TestClient, model: str) -> None:
        create_version(http, "m", source=None)
        response = http.put("/api/v1/models/m/aliases/champion", json={"version": 4})
        assert response.status_code == 409
        assert "PENDING_REGISTRATION" in response.json()["message"]


class TestStages:
    def test_archive_existing_leaves_one_in_production(self, http: TestClient, model: str) -> None:
        http.post("/api/v1/models/m/versions/1/stage", json={"stage": "Production"})
        http.post("/api/v1/models/m/versions/2/stage", json={"stage": "Production"})
        moved = http.post(
            "/api/v1/models/m/versions/3/stage",
            json={"stage": "Production", "archive_existing": True},
        ).json()
        assert moved["stage"] == "Production"
        stages = {
            v["version"]: v["stage"]
            for v in http.get("/api/v1/models/m/versions").json()["versions"]
        }
        assert stages == {1: "Archived", 2: "Archived", 3: "Production"}
        history = http.get(
            "/api/v1/models/m/history", params={"kind": "stage", "label": "Production"}
        ).json()["history"]
        assert {h["version"] for h in history} == {1, 2, 3}
        assert [h["version"] for h in history if h["ended_at"] is None] == [3]

    def test_without_archive_existing_both_stay(self, http: TestClient, model: str) -> None:
        http.post("/api/v1/models/m/versions/1/stage", json={"stage": "Staging"})
        http.post("/api/v1/models/m/versions/2/stage", json={"stage": "Staging"})
        staged = http.get("/api/v1/versions", params={"stage": "Staging"}).json()["versions"]
        assert len(staged) == 2

    def test_unknown_stage_is_400(self, http: TestClient, model: str) -> None:
        response = http.post("/api/v1/models/m/versions/1/stage", json={"stage": "Prod"})
        assert response.status_code == 400
        assert "Production" in response.json()["message"]
        assert http.get("/api/v1/models/m/versions/1").json()["stage"] == "None"

    def test_history_kind_must_be_alias_or_stage(self, http: TestClient, model: str) -> None:
        response = http.get("/api/v1/models/m/history", params={"kind": "colour"})
        assert response.status_code == 400
