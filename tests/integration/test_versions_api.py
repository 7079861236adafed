"""Model versions through the native API: numbering, state, references, search."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.factories.registry import create_model, create_version


class TestCreate:
    def test_from_a_source_is_ready_at_once(self, http: TestClient) -> None:
        create_model(http, "m")
        version = create_version(
            http,
            "m",
            source="s3://b/m",
            run_id="abc",
            description="first",
            tags={"k": "v"},
            metrics={"auc": 0.91, "latency_ms": 12},
        )
        assert version["version"] == 1
        assert version["status"] == "READY"
        assert version["stage"] == "None"
        assert version["source"] == "s3://b/m"
        assert version["metrics"] == {"auc": 0.91, "latency_ms": 12.0}
        assert version["tags"] == {"k": "v"}
        assert version["created_by"] == "local"
        assert http.get("/api/v1/models/m").json()["latest_version"] == 1

    def test_without_a_source_waits_for_files(self, http: TestClient) -> None:
        create_model(http, "m")
        version = create_version(http, "m", source=None)
        assert version["status"] == "PENDING_REGISTRATION"

    def test_numbers_are_never_reused_after_deletion(self, http: TestClient) -> None:
        create_model(http, "m")
        for _ in range(3):
            create_version(http, "m")
        assert http.delete("/api/v1/models/m/versions/3").status_code == 204
        assert create_version(http, "m")["version"] == 4
        assert http.get("/api/v1/models/m/versions/3").status_code == 404

    def test_for_a_missing_model_is_404(self, http: TestClient) -> None:
        response = http.post("/api/v1/models/ghost/versions", json={"source": "x"})
        assert response.status_code == 404
        assert "ghost" in response.json()["message"]

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"metrics": {"auc": "high"}}, "metrics"),
            ({"tags": {"k": "v" * 5001}}, "limit is 5000"),
            ({"source": "x" * 4097}, "source"),
            ({"run_id": "r" * 65}, "run_id"),
        ],
    )
    def test_bad_input_is_400_and_creates_nothing(
        self, http: TestClient, body: dict[str, object], fragment: str
    ) -> None:
        create_model(http, "m")
        response = http.post("/api/v1/models/m/versions", json=body)
        assert response.status_code == 400, response.text
        assert fragment in response.json()["message"]
        assert http.get("/api/v1/models/m/versions").json()["versions"] == []
        # The failed attempt consumed no number.
        assert create_version(http, "m")["version"] == 1


class TestReferences:
    @pytest.fixture
    def model(self, http: TestClient) -> str:
        create_model(http, "m")
        for _ in range(3):
            create_version(http, "m")
        http.put("/api/v1/models/m/aliases/champion", json={"version": 2})
        http.post("/api/v1/models/m/versions/1/stage", json={"stage": "Production"})
        http.post("/api/v1/models/m/versions/3/stage", json={"stage": "production"})
        return "m"

    @pytest.mark.parametrize(
        ("segment", "number"), [("2", 2), ("@champion", 2), ("Production", 3), ("production", 3)]
    )
    def test_path_segment(self, http: TestClient, model: str, segment: str, number: int) -> None:
        assert http.get(f"/api/v1/models/m/versions/{segment}").json()["version"] == number

    @pytest.mark.parametrize(
        ("ref", "number"), [("m/1", 1), ("m@champion", 2), ("m/Production", 3)]
    )
    def test_resolve(self, http: TestClient, model: str, ref: str, number: int) -> None:
        assert http.get("/api/v1/resolve", params={"ref": ref}).json()["version"] == number

    @pytest.mark.parametrize(
        ("ref", "status"),
        [
            ("m/9", 404),
            ("m@ghost", 404),
            ("m/Staging", 404),
            ("m", 400),
            ("m/0", 400),
            ("m/x", 400),
        ],
    )
    def test_bad_references(self, http: TestClient, model: str, ref: str, status: int) -> None:
        response = http.get("/api/v1/resolve", params={"ref": ref})
        assert response.status_code == status, response.text
        assert response.json()["message"]


class TestUpdateAndTags:
    def test_description_and_tags(self, http: TestClient) -> None:
        create_model(http, "m")
        create_version(http, "m")
        updated = http.patch("/api/v1/models/m/versions/1", json={"description": "better"}).json()
        assert updated["description"] == "better"
        http.put("/api/v1/models/m/versions/1/tags/owner", json={"value": "ana"})
        assert http.get("/api/v1/models/m/versions/1").json()["tags"] == {"owner": "ana"}
        assert http.delete("/api/v1/models/m/versions/1/tags/owner").status_code == 204
        assert http.delete("/api/v1/models/m/versions/1/tags/owner").status_code == 404


class TestSearch:
    @pytest.fixture
    def catalogue(self, http: TestClient) -> None:
        for name in ("a", "b"):
            create_model(http, name)
            for i in range(3):
                create_version(http, name, tags={"parity": "even" if i % 2 == 0 else "odd"})
        create_version(http, "b", source=None)
        http.put("/api/v1/models/a/aliases/champion", json={"version": 3})
        http.post("/api/v1/models/b/versions/2/stage", json={"stage": "Staging"})

    def refs(self, http: TestClient, **params: object) -> list[str]:
        body = http.get("/api/v1/versions", params=params).json()  # type: ignore[arg-type]
        return [f"{v['model']}/{v['version']}" for v in body["versions"]]

    def test_default_order_is_name_then_newest(self, http: TestClient, catalogue: None) -> None:
        assert self.refs(http) == ["a/3", "a/2", "a/1", "b/4", "b/3", "b/2", "b/1"]

    def test_filters(self, http: TestClient, catalogue: None) -> None:
        assert self.refs(http, model="b", tag="parity=odd") == ["b/2"]
        assert self.refs(http, alias="champion") == ["a/3"]
        assert self.refs(http, stage="Staging") == ["b/2"]
        assert self.refs(http, status="PENDING_REGISTRATION") == ["b/4"]

    def test_pages(self, http: TestClient, catalogue: None) -> None:
        seen, token = [], None
        while True:
            params: dict[str, object] = {"max_results": 2, "order_by": "version:asc"}
            if token:
                params["page_token"] = token
            body = http.get("/api/v1/versions", params=params).json()  # type: ignore[arg-type]
            seen += [f"{v['model']}/{v['version']}" for v in body["versions"]]
            token = body["next_page_token"]
            if not token:
                break
        assert sorted(seen) == sorted(self.refs(http))
        assert [int(s.split("/")[1]) for s in seen] == sorted(int(s.split("/")[1]) for s in seen)


class TestDelete:
    def test_deleting_a_version_releases_its_alias_and_records_why(self, http: TestClient) -> None:
        create_model(http, "m")
        create_version(http, "m")
        http.put("/api/v1/models/m/aliases/champion", json={"version": 1})
        assert http.delete("/api/v1/models/m/versions/1").status_code == 204
        assert http.get("/api/v1/models/m/aliases/champion").status_code == 404
        history = http.get("/api/v1/models/m/history").json()["history"]
        assert history[0]["end_reason"] == "version deleted"


class TestNul:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"description": "a\x00b"}, "description"),
            ({"run_id": "r\x00"}, "run_id"),
            ({"run_link": "http://x/\x00"}, "run_link"),
            ({"tags": {"k": "v\x00"}}, "tag"),
        ],
    )
    def test_nul_is_400_on_every_backend(
        self, http: TestClient, body: dict[str, object], field: str
    ) -> None:
        create_model(http, "m")
        response = http.post("/api/v1/models/m/versions", json={"source": "s3://x", **body})
        assert response.status_code == 400, response.text
        assert "NUL" in response.json()["message"]
        assert field in response.json()["message"]
        assert http.get("/api/v1/models/m/versions").json()["versions"] == []
