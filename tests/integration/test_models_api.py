"""Registered models through the native API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.factories.registry import create_model, create_version


class TestCreate:
    def test_returns_the_model(self, http: TestClient) -> None:
        model = create_model(http, "fraud", description="Fraud scores", tags={"team": "risk"})
        assert model["name"] == "fraud"
        assert model["description"] == "Fraud scores"
        assert model["tags"] == {"team": "risk"}
        assert model["owner"] == "local"
        assert model["latest_version"] is None
        assert model["created_at"].endswith("Z")

    def test_duplicate_is_409_and_keeps_the_first(self, http: TestClient) -> None:
        create_model(http, "fraud", description="first")
        response = http.post("/api/v1/models", json={"name": "fraud", "description": "second"})
        assert response.status_code == 409
        assert response.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
        assert "fraud" in response.json()["message"]
        assert http.get("/api/v1/models/fraud").json()["description"] == "first"

    def test_names_are_case_sensitive_and_nfc_normalised(self, http: TestClient) -> None:
        create_model(http, "Fraud")
        create_model(http, "fraud")
        create_model(http, "caf\u00e9")  # precomposed é
        response = http.post("/api/v1/models", json={"name": "cafe\u0301"})  # e + combining acute
        assert response.status_code == 409

    @pytest.mark.parametrize(
        ("name", "fragment"),
        [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            (" padded", "whitespace"),
            ("a" * 257, "limit is 256"),
            ("with/slash", "forbidden character"),
            ("with@at", "forbidden character"),
            ("nul\x00byte", "forbidden character"),
        ],
    )
    def test_bad_names_are_400_naming_the_field(
        self, http: TestClient, name: str, fragment: str
    ) -> None:
        response = http.post("/api/v1/models", json={"name": name})
        assert response.status_code == 400
        body = response.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert fragment in body["message"]
        assert "name" in body["message"]
        assert http.get("/api/v1/models").json()["models"] == []

    def test_bad_tags_are_400_and_nothing_is_created(self, http: TestClient) -> None:
        for tags, fragment in (
            ({"k" * 251: "v"}, "limit is 250"),
            ({"k": "v" * 5001}, "limit is 5000"),
            ({"": "v"}, "must not be empty"),
        ):
            response = http.post("/api/v1/models", json={"name": "m", "tags": tags})
            assert response.status_code == 400, response.text
            assert fragment in response.json()["message"]
        assert http.get("/api/v1/models/m").status_code == 404

    def test_description_over_64_kib_is_400(self, http: TestClient) -> None:
        response = http.post("/api/v1/models", json={"name": "m", "description": "x" * 65537})
        assert response.status_code == 400
        assert "description" in response.json()["message"]

    def test_unknown_fields_and_wrong_types_are_400(self, http: TestClient) -> None:
        response = http.post("/api/v1/models", json={"name": "m", "colour": "red"})
        assert response.status_code == 400
        assert "colour" in response.json()["message"]
        response = http.post("/api/v1/models", json={"name": 12})
        assert response.status_code == 400
        assert "name" in response.json()["message"]

    def test_malformed_json_is_400(self, http: TestClient) -> None:
        response = http.post(
            "/api/v1/models", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    def test_body_over_the_limit_is_413(self, http: TestClient) -> None:
        response = http.post("/api/v1/models", json={"name": "m", "description": "x" * (2 << 20)})
        assert response.status_code == 413
        assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        assert http.get("/api/v1/models/m").status_code == 404


class TestUpdate:
    def test_rename_keeps_id_and_versions(self, http: TestClient) -> None:
        model = create_model(http, "old")
        create_version(http, "old")
        renamed = http.patch("/api/v1/models/old", json={"name": "new"}).json()
        assert renamed["id"] == model["id"]
        assert renamed["name"] == "new"
        assert http.get("/api/v1/models/old").status_code == 404
        assert http.get("/api/v1/models/new/versions/1").json()["model"] == "new"

    def test_rename_onto_an_existing_name_is_409(self, http: TestClient) -> None:
        create_model(http, "a")
        create_model(http, "b")
        response = http.patch("/api/v1/models/a", json={"name": "b"})
        assert response.status_code == 409
        assert http.get("/api/v1/models/a").status_code == 200

    def test_update_description(self, http: TestClient) -> None:
        create_model(http, "m")
        updated = http.patch("/api/v1/models/m", json={"description": "new words"}).json()
        assert updated["description"] == "new words"

    def test_missing_model_is_404(self, http: TestClient) -> None:
        response = http.patch("/api/v1/models/ghost", json={"description": "x"})
        assert response.status_code == 404
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert "ghost" in response.json()["message"]


class TestTags:
    def test_set_overwrite_and_delete(self, http: TestClient) -> None:
        create_model(http, "m")
        http.put("/api/v1/models/m/tags/team", json={"value": "risk"})
        http.put("/api/v1/models/m/tags/team", json={"value": "fraud"})
        assert http.get("/api/v1/models/m").json()["tags"] == {"team": "fraud"}
        assert http.delete("/api/v1/models/m/tags/team").status_code == 204
        assert http.get("/api/v1/models/m").json()["tags"] == {}
        assert http.delete("/api/v1/models/m/tags/team").status_code == 404


class TestDelete:
    def test_soft_delete_frees_the_name_for_a_new_model(self, http: TestClient) -> None:
        old = create_model(http, "m")
        create_version(http, "m")
        create_version(http, "m")
        assert http.delete("/api/v1/models/m").status_code == 204
        assert http.get("/api/v1/models/m").status_code == 404
        assert http.get("/api/v1/versions", params={"model": "m"}).json()["versions"] == []
        new = create_model(http, "m")
        assert new["id"] != old["id"]
        assert create_version(http, "m")["version"] == 1


class TestSearch:
    def test_filters_by_name_pattern_and_tags(self, http: TestClient) -> None:
        create_model(http, "fraud-eu", tags={"team": "risk"})
        create_model(http, "fraud-us", tags={"team": "growth"})
        create_model(http, "Fraud-uk", tags={"team": "risk"})
        names = lambda r: [m["name"] for m in r.json()["models"]]  # noqa: E731
        assert names(http.get("/api/v1/models", params={"name_like": "fraud%"})) == [
            "fraud-eu",
            "fraud-us",
        ]
        assert names(http.get("/api/v1/models", params={"name_ilike": "fraud%"})) == [
            "Fraud-uk",
            "fraud-eu",
            "fraud-us",
        ]
        assert names(http.get("/api/v1/models", params={"tag": "team=risk"})) == [
            "Fraud-uk",
            "fraud-eu",
        ]
        assert names(http.get("/api/v1/models", params={"tag": "team"})) == [
            "Fraud-uk",
            "fraud-eu",
            "fraud-us",
        ]

    def test_pages_cover_everything_once_in_order(self, http: TestClient) -> None:
        for i in range(25):
            create_model(http, f"m{i:02d}")
        seen: list[str] = []
        token = None
        while True:
            params = {"max_results": 7, "order_by": "name:desc"}
            if token:
                params["page_token"] = token
            body = http.get("/api/v1/models", params=params).json()
            seen += [m["name"] for m in body["models"]]
            token = body["next_page_token"]
            if token is None:
                break
        assert seen == [f"m{i:02d}" for i in reversed(range(25))]

    def test_page_token_survives_inserts(self, http: TestClient) -> None:
        for name in ("b", "d", "f"):
            create_model(http, name)
        first = http.get("/api/v1/models", params={"max_results": 2}).json()
        create_model(http, "a")  # before the cursor: not seen
        create_model(http, "e")  # after it: seen
        second = http.get(
            "/api/v1/models", params={"max_results": 10, "page_token": first["next_page_token"]}
        ).json()
        assert [m["name"] for m in second["models"]] == ["e", "f"]

    @pytest.mark.parametrize(
        "params",
        [
            {"page_token": "not-a-token"},
            {"max_results": 0},
            {"max_results": 1001},
            {"order_by": "colour"},
            {"order_by": "name:sideways"},
        ],
    )
    def test_bad_parameters_are_400(self, http: TestClient, params: dict[str, object]) -> None:
        response = http.get("/api/v1/models", params=params)
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    def test_token_from_another_ordering_is_refused(self, http: TestClient) -> None:
        for name in ("a", "b", "c"):
            create_model(http, name)
        token = http.get("/api/v1/models", params={"max_results": 1}).json()["next_page_token"]
        response = http.get(
            "/api/v1/models", params={"page_token": token, "order_by": "created_at"}
        )
        assert response.status_code == 400
        assert "ordering" in response.json()["message"]
