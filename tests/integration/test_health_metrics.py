"""Operational endpoints: liveness, readiness (and what it says when a dependency is down),
Prometheus metrics by route template, the OpenAPI document, and the shape of every error."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import schemathesis
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from charter.api.app import create_app
from charter.api.state import AppState
from charter.config import Settings
from tests.factories.registry import create_model
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer

ERROR_KEYS = {"error_code", "message", "details"}


@contextmanager
def open_client(settings: Settings) -> Iterator[TestClient]:
    state = AppState.open(settings)
    try:
        with TestClient(create_app(settings, state), raise_server_exceptions=True) as client:
            yield client
    finally:
        state.close()


class TestHealth:
    def test_health_is_ok(self, http: TestClient) -> None:
        response = http.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_ready_checks_database_and_blob_store(self, http: TestClient) -> None:
        response = http.get("/ready")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "blob_store": "ok"}}


class TestReadyWhenSomethingIsDown:
    def test_blob_store_unusable_is_503_naming_the_blob_store(
        self, http: TestClient, state: AppState
    ) -> None:
        # Root ignores file modes, so make the store unusable the way root cannot get around:
        # its directory is a regular file.
        root = Path(state.settings.resolved_artifact_root)
        shutil.rmtree(root, ignore_errors=True)
        root.write_bytes(b"not a directory")

        response = http.get("/ready")

        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] == "ok"
        assert "blob store" in body["checks"]["blob_store"]
        assert str(root) in body["checks"]["blob_store"]

    def test_database_unreachable_is_503_naming_the_database(self, tmp_path: Path) -> None:
        # A PostgreSQL port on loopback where nothing listens.
        url = f"postgresql+psycopg://charter@127.0.0.1:{free_port()}/charter"
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        with open_client(settings) as client:
            response = client.get("/ready")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["blob_store"] == "ok"
            assert body["checks"]["database"].startswith("database unreachable")

            # A request that needs the database gets the contract's 503, not a 500.
            failed = client.get("/api/v1/models/anything")
            assert failed.status_code == 503
            assert failed.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert set(failed.json()) == ERROR_KEYS


class TestDatabaseFailureDuringService:
    def test_sqlite_locked_by_another_writer_is_503_and_nothing_is_written(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        data = tmp_path / "data"
        data.mkdir()
        shutil.copyfile(sqlite_template, data / "charter.db")
        settings = Settings(data_dir=data, sqlite_busy_timeout_seconds=0.2)
        blocker = sqlite3.connect(data / "charter.db", isolation_level=None)
        try:
            with open_client(settings) as client:
                blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
                locked = client.post("/api/v1/models", json={"name": "m"})
                assert locked.status_code == 503
                assert locked.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                assert set(locked.json()) == ERROR_KEYS
                blocker.execute("ROLLBACK")

                assert client.get("/api/v1/models/m").status_code == 404
                create_model(client, "m")
                listed = client.get("/api/v1/models").json()["models"]
                assert [m["name"] for m in listed] == ["m"]
        finally:
            blocker.close()

    def test_postgres_database_gone_is_503(
        self, postgres_server: PostgresServer, tmp_path: Path
    ) -> None:
        name = "charter_health_gone"
        url = postgres_server.create_database(name, template="charter_template")
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        try:
            with open_client(settings) as client:
                create_model(client, "m")
                postgres_server.drop_database(name)  # ends the app's open connections too

                response = client.get("/api/v1/models/m")
                assert response.status_code == 503
                assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                assert set(response.json()) == ERROR_KEYS
                ready = client.get("/ready")
                assert ready.status_code == 503
                assert "database" in ready.json()["checks"]["database"]
        finally:
            postgres_server.drop_database(name)


class TestMetrics:
    def test_requests_are_counted_by_route_template(self, http: TestClient) -> None:
        create_model(http, "alpha")
        create_model(http, "beta")
        assert http.get("/api/v1/models/alpha").status_code == 200
        assert http.get("/api/v1/models/beta").status_code == 200
        assert http.get("/api/v1/models/gamma").status_code == 404

        response = http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(response.text)}

        # The parser names a counter's family without its "_total" suffix; samples keep it.
        assert "charter_http_requests_total" in response.text
        requests = families["charter_http_requests"]
        routes = {s.labels["route"] for s in requests.samples}
        assert "/api/v1/models/{name}" in routes
        assert not any(name in route for route in routes for name in ("alpha", "beta", "gamma"))
        counted = {
            (s.labels["method"], s.labels["status"])
            for s in requests.samples
            if s.labels["route"] == "/api/v1/models/{name}" and s.name.endswith("_total")
        }
        assert {("GET", "200"), ("GET", "404")} <= counted

        durations = families["charter_http_request_duration_seconds"]
        assert durations.type == "histogram"
        assert any(
            s.labels.get("route") == "/api/v1/models/{name}" and s.name.endswith("_count")
            for s in durations.samples
        )


class TestApiDescription:
    def test_openapi_document_is_valid_openapi_3(self, http: TestClient) -> None:
        response = http.get("/api/v1/openapi.json")
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        schemathesis.openapi.from_dict(document).validate()  # raises on any violation
        paths = set(document["paths"])
        assert {
            "/api/v1/models",
            "/api/v1/models/{name}",
            "/api/v1/models/{name}/versions",
            "/api/v1/models/{name}/versions/{version}",
            "/api/v1/models/{name}/aliases/{alias}",
            "/api/v1/models/{name}/versions/{version}/stage",
            "/api/v1/models/{name}/history",
            "/api/v1/models/{name}/versions/{version}/files/{path}",
            "/api/v1/models/{name}/versions/{version}/finalize",
        } <= paths

    def test_docs_serve_html(self, http: TestClient) -> None:
        response = http.get("/docs")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "/api/v1/openapi.json" in response.text


class TestErrorShape:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/no/such/route"), ("POST", "/api/v1/nothing-here"), ("GET", "/api/v2/models")],
    )
    def test_unknown_route_is_404_with_the_error_body(
        self, http: TestClient, method: str, path: str
    ) -> None:
        response = http.request(method, path)
        assert response.status_code == 404
        body = response.json()
        assert set(body) == ERROR_KEYS
        assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert isinstance(body["message"], str)
        assert body["message"]
        assert isinstance(body["details"], dict)
