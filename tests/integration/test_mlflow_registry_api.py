"""MLflow's model registry REST API over raw HTTP, on SQLite and PostgreSQL.

Field names, types and defaults are those of MLflow's server (checked against a real
``mlflow server``): versions as strings, times in milliseconds, unset fields left out.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"


ARTIFACTS = "/api/2.0/mlflow-artifacts"


class Mlflow:
    """Raw calls the way the mlflow client makes them: GET with query params, else JSON."""

    def __init__(self, http: TestClient, prefix: str = API) -> None:
        self.http = http
        self.prefix = prefix

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        url = self.prefix + path
        if method == "GET":
            return self.http.get(url, params=body)
        return self.http.request(method, url, json=body)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.call(method, path, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def fails(
        self, method: str, path: str, body: dict[str, Any] | None, status: int, code: str
    ) -> str:
        response = self.call(method, path, body)
        assert response.status_code == status, response.text
        error = response.json()
        assert set(error) == {"error_code", "message"}
        assert error["error_code"] == code
        message: str = error["message"]
        return message

    def model(self, name: str, **body: Any) -> dict[str, Any]:
        result = self.ok("POST", "/registered-models/create", {"name": name, **body})
        model: dict[str, Any] = result["registered_model"]
        return model

    def version(self, name: str, source: str = "s3://bucket/model", **body: Any) -> dict[str, Any]:
        result = self.ok("POST", "/model-versions/create", {"name": name, "source": source, **body})
        version: dict[str, Any] = result["model_version"]
        return version

    def get_version(self, name: str, version: str) -> dict[str, Any]:
        result = self.ok("GET", "/model-versions/get", {"name": name, "version": version})
        found: dict[str, Any] = result["model_version"]
        return found

    def get_model(self, name: str) -> dict[str, Any]:
        result = self.ok("GET", "/registered-models/get", {"name": name})
        found: dict[str, Any] = result["registered_model"]
        return found

    def stage(self, name: str, version: str, stage: str, archive: bool = False) -> dict[str, Any]:
        body = {"name": name, "version": version, "stage": stage}
        result = self.ok(
            "POST",
            "/model-versions/transition-stage",
            {**body, "archive_existing_versions": archive},
        )
        moved: dict[str, Any] = result["model_version"]
        return moved


@pytest.fixture
def mlflow(http: TestClient) -> Mlflow:
    return Mlflow(http)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class TestRegisteredModels:
    def test_create_answers_in_mlflows_shape(self, mlflow: Mlflow) -> None:
        before = _now_ms()
        model = mlflow.model(
            "fraud", description="scores", tags=[{"key": "team", "value": "risk"}, {"key": "k"}]
        )
        assert set(model) == {
            "name",
            "creation_timestamp",
            "last_updated_timestamp",
            "user_id",
            "description",
            "tags",
        }
        assert model["name"] == "fraud"
        assert model["description"] == "scores"
        assert model["tags"] == [{"key": "k", "value": ""}, {"key": "team", "value": "risk"}]
        assert isinstance(model["creation_timestamp"], int)
        assert before <= model["creation_timestamp"] <= _now_ms()
        assert model["last_updated_timestamp"] == model["creation_timestamp"]

    def test_a_duplicate_is_400_resource_already_exists_and_keeps_the_first(
        self, mlflow: Mlflow
    ) -> None:
        mlflow.model("fraud", description="first")
        body = {"name": "fraud", "description": "second"}
        message = mlflow.fails(
            "POST", "/registered-models/create", body, 400, "RESOURCE_ALREADY_EXISTS"
        )
        assert "fraud" in message
        assert mlflow.get_model("fraud")["description"] == "first"

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({}, "name"),
            ({"name": ""}, "name must not be empty"),
            ({"name": "a/b"}, "forbidden character"),
            ({"name": 12}, "name"),
            ({"name": "m", "tags": [{"value": "v"}]}, "key"),
            ({"name": "m", "tags": [{"key": "k", "value": "v" * 5001}]}, "limit is 5000"),
        ],
    )
    def test_bad_input_is_400_and_creates_nothing(
        self, mlflow: Mlflow, body: dict[str, Any], fragment: str
    ) -> None:
        message = mlflow.fails(
            "POST", "/registered-models/create", body, 400, "INVALID_PARAMETER_VALUE"
        )
        assert fragment in message
        assert mlflow.ok("GET", "/registered-models/search") == {}

    def test_unknown_fields_are_ignored_as_mlflow_does(self, mlflow: Mlflow) -> None:
        model = mlflow.model("fraud", deployment_job_id="j-1", colour="red")
        assert model["name"] == "fraud"

    def test_get_of_a_missing_model_is_404(self, mlflow: Mlflow) -> None:
        body = {"name": "nope"}
        message = mlflow.fails(
            "GET", "/registered-models/get", body, 404, "RESOURCE_DOES_NOT_EXIST"
        )
        assert "nope" in message

    def test_rename_moves_the_model_and_its_versions(self, mlflow: Mlflow) -> None:
        mlflow.model("old")
        mlflow.version("old")
        renamed = mlflow.ok("POST", "/registered-models/rename", {"name": "old", "new_name": "new"})
        assert renamed["registered_model"]["name"] == "new"
        assert renamed["registered_model"]["latest_versions"][0]["name"] == "new"
        assert mlflow.get_version("new", "1")["name"] == "new"
        mlflow.fails(
            "GET", "/registered-models/get", {"name": "old"}, 404, "RESOURCE_DOES_NOT_EXIST"
        )

    def test_rename_onto_an_existing_name_or_without_one_is_refused(self, mlflow: Mlflow) -> None:
        mlflow.model("a")
        mlflow.model("b")
        body = {"name": "a", "new_name": "b"}
        mlflow.fails("POST", "/registered-models/rename", body, 400, "RESOURCE_ALREADY_EXISTS")
        mlflow.fails(
            "POST", "/registered-models/rename", {"name": "a"}, 400, "INVALID_PARAMETER_VALUE"
        )
        assert mlflow.get_model("a")["name"] == "a"

    def test_update_sets_the_description_and_clears_it_when_absent(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        path = "/registered-models/update"
        updated = mlflow.ok("PATCH", path, {"name": "fraud", "description": "new"})
        assert updated["registered_model"]["description"] == "new"
        cleared = mlflow.ok("PATCH", path, {"name": "fraud"})
        assert "description" not in cleared["registered_model"]

    def test_delete_hides_the_model_and_a_missing_one_is_404(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        assert mlflow.ok("DELETE", "/registered-models/delete", {"name": "fraud"}) == {}
        mlflow.fails(
            "GET", "/registered-models/get", {"name": "fraud"}, 404, "RESOURCE_DOES_NOT_EXIST"
        )
        mlflow.fails(
            "DELETE", "/registered-models/delete", {"name": "fraud"}, 404, "RESOURCE_DOES_NOT_EXIST"
        )
        assert mlflow.ok("GET", "/model-versions/search") == {}

    def test_latest_versions_hold_the_newest_version_of_each_stage(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        for _ in range(4):
            mlflow.version("fraud")
        mlflow.stage("fraud", "1", "Production")
        mlflow.stage("fraud", "2", "Staging")
        latest = mlflow.get_model("fraud")["latest_versions"]
        assert [(v["version"], v["current_stage"]) for v in latest] == [
            ("1", "Production"),
            ("2", "Staging"),
            ("4", "None"),
        ]

    def test_tags_set_overwrite_and_delete(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        set_tag = "/registered-models/set-tag"
        assert mlflow.ok("POST", set_tag, {"name": "fraud", "key": "k", "value": "1"}) == {}
        mlflow.ok("POST", set_tag, {"name": "fraud", "key": "k", "value": "2"})
        mlflow.ok("POST", set_tag, {"name": "fraud", "key": "empty"})
        assert mlflow.get_model("fraud")["tags"] == [
            {"key": "empty", "value": ""},
            {"key": "k", "value": "2"},
        ]
        delete = "/registered-models/delete-tag"
        assert mlflow.ok("DELETE", delete, {"name": "fraud", "key": "k"}) == {}
        assert mlflow.ok("DELETE", delete, {"name": "fraud", "key": "never-set"}) == {}
        assert mlflow.get_model("fraud")["tags"] == [{"key": "empty", "value": ""}]
        body = {"name": "nope", "key": "k", "value": "v"}
        mlflow.fails("POST", set_tag, body, 404, "RESOURCE_DOES_NOT_EXIST")


class TestModelVersions:
    def test_create_answers_in_mlflows_shape(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        version = mlflow.version(
            "fraud",
            "s3://bucket/fraud/1",
            run_id="abc123",
            run_link="http://ci/run/1",
            description="first",
            tags=[{"key": "data", "value": "v1"}],
        )
        assert version["version"] == "1"
        assert version["status"] == "READY"
        assert version["current_stage"] == "None"
        assert version["source"] == "s3://bucket/fraud/1"
        assert version["run_id"] == "abc123"
        assert version["run_link"] == "http://ci/run/1"
        assert version["description"] == "first"
        assert version["tags"] == [{"key": "data", "value": "v1"}]
        assert isinstance(version["creation_timestamp"], int)
        assert "aliases" not in version
        assert "status_message" not in version
        assert mlflow.version("fraud")["version"] == "2"

    def test_unset_texts_are_empty_strings_as_mlflow_writes_them(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        version = mlflow.version("fraud")
        assert (version["description"], version["run_id"], version["run_link"]) == ("", "", "")

    def test_create_on_a_missing_model_is_404_and_without_source_400(self, mlflow: Mlflow) -> None:
        body = {"name": "nope", "source": "s3://b/m"}
        mlflow.fails("POST", "/model-versions/create", body, 404, "RESOURCE_DOES_NOT_EXIST")
        mlflow.model("fraud")
        message = mlflow.fails(
            "POST", "/model-versions/create", {"name": "fraud"}, 400, "INVALID_PARAMETER_VALUE"
        )
        assert "source" in message

    @pytest.mark.parametrize(
        ("version", "status", "code"),
        [
            ("abc", 400, "INVALID_PARAMETER_VALUE"),
            ("1.0", 400, "INVALID_PARAMETER_VALUE"),
            ("0", 404, "RESOURCE_DOES_NOT_EXIST"),
            ("-1", 404, "RESOURCE_DOES_NOT_EXIST"),
            ("99", 404, "RESOURCE_DOES_NOT_EXIST"),
            ("99999999999999999999", 404, "RESOURCE_DOES_NOT_EXIST"),
        ],
    )
    def test_get_of_a_bad_or_missing_version(
        self, mlflow: Mlflow, version: str, status: int, code: str
    ) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        mlflow.fails(
            "GET", "/model-versions/get", {"name": "fraud", "version": version}, status, code
        )

    def test_update_sets_the_description_and_clears_it_when_absent(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        path = "/model-versions/update"
        updated = mlflow.ok("PATCH", path, {"name": "fraud", "version": "1", "description": "d"})
        assert updated["model_version"]["description"] == "d"
        cleared = mlflow.ok("PATCH", path, {"name": "fraud", "version": "1"})
        assert cleared["model_version"].get("description", "") == ""

    def test_delete_hides_the_version_and_its_number_is_never_reused(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        mlflow.version("fraud")
        body = {"name": "fraud", "version": "2"}
        assert mlflow.ok("DELETE", "/model-versions/delete", body) == {}
        mlflow.fails("GET", "/model-versions/get", body, 404, "RESOURCE_DOES_NOT_EXIST")
        mlflow.fails("DELETE", "/model-versions/delete", body, 404, "RESOURCE_DOES_NOT_EXIST")
        assert mlflow.version("fraud")["version"] == "3"

    def test_transition_with_archive_existing_versions(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        for _ in range(3):
            mlflow.version("fraud")
        assert mlflow.stage("fraud", "1", "production")["current_stage"] == "Production"
        mlflow.stage("fraud", "2", "Production")
        moved = mlflow.stage("fraud", "3", "Production", archive=True)
        assert moved["current_stage"] == "Production"
        stages = [mlflow.get_version("fraud", n)["current_stage"] for n in ("1", "2", "3")]
        assert stages == ["Archived", "Archived", "Production"]

    def test_transition_refusals(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        path = "/model-versions/transition-stage"
        body = {"name": "fraud", "version": "1", "archive_existing_versions": True}
        message = mlflow.fails(
            "POST", path, {**body, "stage": "Archived"}, 400, "INVALID_PARAMETER_VALUE"
        )
        assert "archive_existing_versions" in message
        message = mlflow.fails(
            "POST", path, {**body, "stage": "Live"}, 400, "INVALID_PARAMETER_VALUE"
        )
        assert "stage" in message
        body = {"name": "fraud", "version": "7", "stage": "Staging"}
        mlflow.fails("POST", path, body, 404, "RESOURCE_DOES_NOT_EXIST")
        assert mlflow.get_version("fraud", "1")["current_stage"] == "None"

    @pytest.mark.parametrize("method", ["POST", "GET"])
    def test_get_latest_versions_by_stage(self, mlflow: Mlflow, method: str) -> None:
        mlflow.model("fraud")
        for _ in range(3):
            mlflow.version("fraud")
        mlflow.stage("fraud", "1", "Production")
        path = "/registered-models/get-latest-versions"
        every = mlflow.ok(method, path, {"name": "fraud"})["model_versions"]
        assert sorted(v["version"] for v in every) == ["1", "3"]
        production = mlflow.ok(method, path, {"name": "fraud", "stages": ["production"]})
        assert [v["version"] for v in production["model_versions"]] == ["1"]
        assert mlflow.ok(method, path, {"name": "fraud", "stages": ["Archived"]}) == {}
        body = {"name": "fraud", "stages": ["Live"]}
        mlflow.fails(method, path, body, 400, "INVALID_PARAMETER_VALUE")
        mlflow.fails(method, path, {"name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST")

    def test_download_uri_is_the_source(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud", "s3://bucket/fraud/1")
        body = {"name": "fraud", "version": "1"}
        uri = mlflow.ok("GET", "/model-versions/get-download-uri", body)
        assert uri == {"artifact_uri": "s3://bucket/fraud/1"}

    def test_a_version_without_files_or_source_has_no_download_uri(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        assert mlflow.http.post("/api/v1/models/fraud/versions", json={}).status_code == 201
        body = {"name": "fraud", "version": "1"}
        message = mlflow.fails(
            "GET", "/model-versions/get-download-uri", body, 409, "RESOURCE_CONFLICT"
        )
        assert "no source URI and no files" in message

    def test_a_version_with_files_downloads_its_frozen_manifest(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        http = mlflow.http
        assert http.post("/api/v1/models/fraud/versions", json={}).status_code == 201
        files = "/api/v1/models/fraud/versions/1/files"
        assert http.put(f"{files}/model/MLmodel", content=b"flavors: {}\n").status_code == 201
        assert http.put(f"{files}/model/data/w.bin", content=b"\x00" * 10).status_code == 201
        assert http.post("/api/v1/models/fraud/versions/1/finalize", json={}).status_code == 200
        body = {"name": "fraud", "version": "1"}
        uri = mlflow.ok("GET", "/model-versions/get-download-uri", body)["artifact_uri"]
        assert uri.startswith("mlflow-artifacts:/_registry/")
        root = uri.removeprefix("mlflow-artifacts:/")
        listed = http.get(f"{ARTIFACTS}/artifacts", params={"path": root}).json()
        assert listed["files"] == [{"path": "model", "is_dir": True}]
        inner = http.get(f"{ARTIFACTS}/artifacts", params={"path": f"{root}/model/data"}).json()
        assert inner["files"] == [{"path": "w.bin", "is_dir": False, "file_size": 10}]
        got = http.get(f"{ARTIFACTS}/artifacts/{root}/model/MLmodel")
        assert (got.status_code, got.content) == (200, b"flavors: {}\n")
        # The view is read-only: nothing may be written or deleted below it.
        for answer in (
            http.put(f"{ARTIFACTS}/artifacts/{root}/model/MLmodel", content=b"evil"),
            http.delete(f"{ARTIFACTS}/artifacts/{root}/model"),
        ):
            assert answer.status_code == 400, answer.text
            assert "read-only" in answer.json()["message"]
        again = http.get(f"{ARTIFACTS}/artifacts/{root}/model/MLmodel")
        assert again.content == b"flavors: {}\n"
        missing = http.get(f"{ARTIFACTS}/artifacts/_registry/999999/model/MLmodel")
        assert missing.status_code == 404

    def test_tags_set_overwrite_and_delete(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        ref = {"name": "fraud", "version": "1"}
        mlflow.ok("POST", "/model-versions/set-tag", {**ref, "key": "k", "value": "1"})
        mlflow.ok("POST", "/model-versions/set-tag", {**ref, "key": "k", "value": "2"})
        assert mlflow.get_version("fraud", "1")["tags"] == [{"key": "k", "value": "2"}]
        delete = "/model-versions/delete-tag"
        assert mlflow.ok("DELETE", delete, {**ref, "key": "k"}) == {}
        assert mlflow.ok("DELETE", delete, {**ref, "key": "k"}) == {}
        assert "tags" not in mlflow.get_version("fraud", "1")
        body = {"name": "fraud", "version": "9", "key": "k", "value": "v"}
        mlflow.fails("POST", "/model-versions/set-tag", body, 404, "RESOURCE_DOES_NOT_EXIST")


class TestVersionSources:
    @pytest.fixture
    def run(self, mlflow: Mlflow) -> dict[str, str]:
        """A run in experiment 0 with two files under ``model/``, uploaded through the proxy."""
        info = mlflow.ok("POST", "/runs/create", {"experiment_id": "0"})["run"]["info"]
        root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
        for path, data in (("MLmodel", b"flavors: {}\n"), ("model.pkl", b"x" * 1000)):
            url = f"/api/2.0/mlflow-artifacts/artifacts/{root}/model/{path}"
            assert mlflow.http.put(url, content=data).status_code == 200
        return {"run_id": info["run_id"], "artifact_uri": info["artifact_uri"], "root": root}

    def _native(self, mlflow: Mlflow, name: str, version: str) -> dict[str, Any]:
        found: dict[str, Any] = mlflow.http.get(f"/api/v1/models/{name}/versions/{version}").json()
        return found

    @pytest.mark.parametrize("source", ["s3://bucket/path/model", "gs://bucket/model"])
    def test_a_foreign_source_is_recorded_with_an_empty_manifest(
        self, mlflow: Mlflow, source: str
    ) -> None:
        mlflow.model("fraud")
        version = mlflow.version("fraud", source)
        assert (version["source"], version["status"]) == (source, "READY")
        assert self._native(mlflow, "fraud", "1")["file_count"] == 0

    @pytest.mark.parametrize(
        "source",
        [
            "runs:/{run_id}/model",
            "{artifact_uri}/model",
            "http://testserver/api/2.0/mlflow-artifacts/artifacts/{root}/model",
        ],
    )
    def test_a_source_in_a_run_takes_its_manifest_from_the_runs_files(
        self, mlflow: Mlflow, run: dict[str, str], source: str
    ) -> None:
        mlflow.model("fraud")
        version = mlflow.version("fraud", source.format(**run), run_id=run["run_id"])
        assert (version["status"], version["run_id"]) == ("READY", run["run_id"])
        native = self._native(mlflow, "fraud", "1")
        assert (native["file_count"], native["total_size"]) == (2, 1012)
        assert native["manifest_digest"].startswith("sha256:")
        files = mlflow.http.get("/api/v1/models/fraud/versions/1/files").json()
        assert sorted(f["path"] for f in files["files"]) == ["MLmodel", "model.pkl"]

    def test_a_logged_model_source_lends_its_run(self, mlflow: Mlflow, run: dict[str, str]) -> None:
        body = {"experiment_id": "0", "name": "model", "source_run_id": run["run_id"]}
        model_id = mlflow.ok("POST", "/logged-models", body)["model"]["info"]["model_id"]
        mlflow.model("fraud")
        version = mlflow.version("fraud", f"models:/{model_id}", model_id=model_id)
        assert version["source"] == f"models:/{model_id}"
        assert version["run_id"] == run["run_id"]

    def test_a_source_in_another_run_or_an_unknown_one_is_refused(
        self, mlflow: Mlflow, run: dict[str, str]
    ) -> None:
        other = mlflow.ok("POST", "/runs/create", {"experiment_id": "0"})["run"]["info"]["run_id"]
        mlflow.model("fraud")
        for body, fragment in (
            ({"source": f"{run['artifact_uri']}/model", "run_id": other}, "must identify it"),
            ({"source": "runs:/nope/model", "run_id": "nope"}, "Run with id=nope not found"),
            ({"source": "models:/m-nope", "model_id": "m-nope"}, "m-nope"),
        ):
            message = mlflow.fails(
                "POST",
                "/model-versions/create",
                {"name": "fraud", **body},
                400,
                "INVALID_PARAMETER_VALUE",
            )
            assert fragment in message
        assert mlflow.ok("GET", "/model-versions/search") == {}

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"source": "/tmp/model"}, "local path needs the run_id"),
            ({"source": "file:///tmp/model"}, "local path needs the run_id"),
            ({"source": "/tmp/model", "run_id": "r1"}, "run_id request parameter must identify"),
            ({"source": "runs:/r1/model"}, "run_id request parameter must identify"),
            ({"source": "runs:/r1/model", "run_id": "r2"}, "run_id request parameter"),
            ({"source": "runs://host/r1/model", "run_id": "r1"}, "run_id request parameter"),
            ({"source": "models:/m-abc"}, "model_id request parameter must identify"),
            ({"source": "models:/m-abc", "model_id": "m-xyz"}, "model_id request parameter"),
            ({"source": "runs:/r1/m", "run_id": "r1", "model_id": "m-1"}, "model_id request"),
            ({"source": "mlflow-artifacts:/0/r1/artifacts/m"}, "run_id request parameter"),
            ({"source": "s3://bucket/../secret"}, "relative references"),
            ({"source": "s3://bucket/%2e%2e/secret"}, "relative references"),
            ({"source": "s3://bucket/./x"}, "relative references"),
            ({"source": "http://[::1/model"}, "not a valid URI"),
            ({"source": "s3://b/%5B%3A%3A1/../x"}, "relative references"),
            ({"source": "models:/fraud/1/extra"}, "expected models:/name/version"),
            ({"source": "s3://b/" + "x" * 5000}, "limit is 4096"),
            ({"source": "s3://b/m", "run_id": "r" * 65}, "run_id"),
        ],
    )
    def test_refused_sources(self, mlflow: Mlflow, body: dict[str, Any], fragment: str) -> None:
        mlflow.model("fraud")
        message = mlflow.fails(
            "POST",
            "/model-versions/create",
            {"name": "fraud", **body},
            400,
            "INVALID_PARAMETER_VALUE",
        )
        assert fragment in message
        assert mlflow.ok("GET", "/model-versions/search") == {}

    def test_a_registered_version_source_is_pinned_and_lends_its_run(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud", "s3://bucket/fraud/1", run_id="r1")
        mlflow.stage("fraud", "1", "Production")
        mlflow.ok(
            "POST", "/registered-models/alias", {"name": "fraud", "alias": "champ", "version": "1"}
        )
        mlflow.model("copy")
        for source in ("models:/fraud/Production", "models:/fraud@champ", "models:/fraud/latest"):
            version = mlflow.version("copy", source)
            assert version["source"] == "models:/fraud/1"
            assert version["run_id"] == "r1"
        body = {"name": "copy", "source": "models:/fraud/1", "run_id": "other"}
        mlflow.fails("POST", "/model-versions/create", body, 400, "INVALID_PARAMETER_VALUE")
        body = {"name": "copy", "source": "models:/fraud/9"}
        mlflow.fails("POST", "/model-versions/create", body, 404, "RESOURCE_DOES_NOT_EXIST")


class TestAliases:
    def test_set_get_move_and_delete(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        mlflow.version("fraud")
        alias = "/registered-models/alias"
        assert mlflow.ok("POST", alias, {"name": "fraud", "alias": "champ", "version": "1"}) == {}
        found = mlflow.ok("GET", alias, {"name": "fraud", "alias": "champ"})["model_version"]
        assert (found["version"], found["aliases"]) == ("1", ["champ"])
        assert mlflow.get_model("fraud")["aliases"] == [{"alias": "champ", "version": "1"}]
        mlflow.ok("POST", alias, {"name": "fraud", "alias": "champ", "version": "2"})
        assert "aliases" not in mlflow.get_version("fraud", "1")
        assert mlflow.get_version("fraud", "2")["aliases"] == ["champ"]
        assert mlflow.ok("DELETE", alias, {"name": "fraud", "alias": "champ"}) == {}
        assert "aliases" not in mlflow.get_model("fraud")

    def test_a_missing_alias_is_invalid_parameter_value_as_in_mlflow(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        body = {"name": "fraud", "alias": "nope"}
        message = mlflow.fails(
            "GET", "/registered-models/alias", body, 400, "INVALID_PARAMETER_VALUE"
        )
        assert "nope" in message
        body = {"name": "missing", "alias": "nope"}
        mlflow.fails("GET", "/registered-models/alias", body, 404, "RESOURCE_DOES_NOT_EXIST")

    def test_deleting_a_missing_alias_succeeds_on_an_existing_model(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        assert (
            mlflow.ok("DELETE", "/registered-models/alias", {"name": "fraud", "alias": "x"}) == {}
        )
        body = {"name": "missing", "alias": "x"}
        mlflow.fails("DELETE", "/registered-models/alias", body, 404, "RESOURCE_DOES_NOT_EXIST")

    def test_latest_names_the_newest_version_and_is_reserved(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        body = {"name": "fraud", "alias": "latest"}
        mlflow.fails("GET", "/registered-models/alias", body, 404, "RESOURCE_DOES_NOT_EXIST")
        mlflow.version("fraud")
        mlflow.version("fraud")
        mlflow.stage("fraud", "1", "Production")
        found = mlflow.ok("GET", "/registered-models/alias", {"name": "fraud", "alias": "LATEST"})
        assert found["model_version"]["version"] == "2"
        for reserved in ("latest", "v3"):
            body = {"name": "fraud", "alias": reserved, "version": "1"}
            mlflow.fails("POST", "/registered-models/alias", body, 400, "INVALID_PARAMETER_VALUE")

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            ({"name": "fraud", "alias": "x", "version": "9"}, 404, "RESOURCE_DOES_NOT_EXIST"),
            ({"name": "nope", "alias": "x", "version": "1"}, 404, "RESOURCE_DOES_NOT_EXIST"),
            (
                {"name": "fraud", "alias": "bad alias", "version": "1"},
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            ({"name": "fraud", "alias": "x", "version": "one"}, 400, "INVALID_PARAMETER_VALUE"),
            ({"name": "fraud", "alias": "x"}, 400, "INVALID_PARAMETER_VALUE"),
        ],
    )
    def test_bad_alias_requests(
        self, mlflow: Mlflow, body: dict[str, Any], status: int, code: str
    ) -> None:
        mlflow.model("fraud")
        mlflow.version("fraud")
        mlflow.fails("POST", "/registered-models/alias", body, status, code)
        assert "aliases" not in mlflow.get_model("fraud")


class TestSearch:
    @pytest.fixture
    def catalogue(self, mlflow: Mlflow) -> Mlflow:
        for name, team in (("fraud", "risk"), ("Fraud-EU", "risk"), ("churn", "growth")):
            mlflow.model(name, tags=[{"key": "team", "value": team}, {"key": "a b", "value": "c"}])
        mlflow.version(
            "fraud", "s3://bucket/fraud/1", run_id="r1", tags=[{"key": "data", "value": "v1"}]
        )
        mlflow.version("fraud", "s3://bucket/fraud/2", run_id="r2")
        mlflow.version("churn", "s3://bucket/churn", tags=[{"key": "data", "value": "v2"}])
        return mlflow

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("name = 'fraud'", ["fraud"]),
            ('name = "fraud"', ["fraud"]),
            ("name != 'fraud'", ["Fraud-EU", "churn"]),
            ("name LIKE 'fr%'", ["fraud"]),
            ("name ILIKE 'fr%'", ["Fraud-EU", "fraud"]),
            ("name IN ('churn', 'fraud', 'other')", ["churn", "fraud"]),
            ("name NOT IN ('churn')", ["Fraud-EU", "fraud"]),
            ("tags.team = 'risk'", ["Fraud-EU", "fraud"]),
            ("tags.`a b` = 'c' AND tags.team != 'risk'", ["churn"]),
            ("tag.team LIKE 'gr%' and name ILIKE '%URN'", ["churn"]),
            ("tags.missing = 'x'", []),
        ],
    )
    def test_models_by_filter(self, catalogue: Mlflow, text: str, names: list[str]) -> None:
        found = catalogue.ok("GET", "/registered-models/search", {"filter": text})
        assert [m["name"] for m in found.get("registered_models", [])] == names

    @pytest.mark.parametrize(
        ("text", "versions"),
        [
            ("name = 'fraud'", [("fraud", "2"), ("fraud", "1")]),
            ("run_id = 'r1'", [("fraud", "1")]),
            ("run_id IN ('r1', 'r2')", [("fraud", "2"), ("fraud", "1")]),
            ("source_path = 's3://bucket/churn'", [("churn", "1")]),
            ("source_path LIKE 's3://bucket/fraud/%'", [("fraud", "2"), ("fraud", "1")]),
            ("version_number > 1", [("fraud", "2")]),
            ("version_number = '1' AND name ILIKE 'FR%'", [("fraud", "1")]),
            ("tags.data = 'v1'", [("fraud", "1")]),
            ("tags.data != 'v1'", [("churn", "1")]),
        ],
    )
    def test_versions_by_filter(
        self, catalogue: Mlflow, text: str, versions: list[tuple[str, str]]
    ) -> None:
        body = {"filter": text, "order_by": ["name DESC"]}
        found = catalogue.ok("GET", "/model-versions/search", body)
        assert [(v["name"], v["version"]) for v in found.get("model_versions", [])] == versions

    def test_prompts_are_left_out_unless_asked_for(self, catalogue: Mlflow) -> None:
        prompt = [{"key": "mlflow.prompt.is_prompt", "value": "true"}]
        catalogue.model("greeting", tags=prompt)
        catalogue.version("greeting", "mlflow-artifacts:/prompt", run_id="r", tags=prompt)
        models = "/registered-models/search"
        names = [m["name"] for m in catalogue.ok("GET", models)["registered_models"]]
        assert "greeting" not in names
        client_filter = "name ILIKE '%' AND tag.`mlflow.prompt.is_prompt` != 'true'"
        found = catalogue.ok("GET", models, {"filter": client_filter})["registered_models"]
        assert len(found) == 3
        asked = catalogue.ok("GET", models, {"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"})
        assert [m["name"] for m in asked["registered_models"]] == ["greeting"]
        versions = catalogue.ok("GET", "/model-versions/search")["model_versions"]
        assert "greeting" not in {v["name"] for v in versions}
        assert catalogue.get_model("greeting")["name"] == "greeting"  # get still finds it

    def test_ordering(self, catalogue: Mlflow) -> None:
        path = "/registered-models/search"
        by_name = catalogue.ok("GET", path, {"order_by": ["name DESC"]})["registered_models"]
        assert [m["name"] for m in by_name] == ["fraud", "churn", "Fraud-EU"]
        catalogue.ok("PATCH", "/registered-models/update", {"name": "Fraud-EU", "description": "x"})
        recent = catalogue.ok("GET", path, {"order_by": ["timestamp DESC"]})["registered_models"]
        assert recent[0]["name"] == "Fraud-EU"
        versions = catalogue.ok("GET", "/model-versions/search")["model_versions"]
        assert [(v["name"], v["version"]) for v in versions] == [
            ("churn", "1"),
            ("fraud", "2"),
            ("fraud", "1"),
        ]  # MLflow's default: last updated first
        body = {"order_by": ["version_number ASC", "name"]}
        versions = catalogue.ok("GET", "/model-versions/search", body)["model_versions"]
        assert [(v["name"], v["version"]) for v in versions] == [
            ("churn", "1"),
            ("fraud", "1"),
            ("fraud", "2"),
        ]

    def test_searched_models_carry_their_latest_versions(self, catalogue: Mlflow) -> None:
        found = catalogue.ok("GET", "/registered-models/search", {"filter": "name = 'fraud'"})
        latest = found["registered_models"][0]["latest_versions"]
        assert [v["version"] for v in latest] == ["2"]

    @pytest.mark.parametrize(
        ("path", "body", "fragment"),
        [
            ("/registered-models/search", {"max_results": 1001}, "between 1 and 1000"),
            ("/registered-models/search", {"max_results": 0}, "between 1 and 1000"),
            ("/registered-models/search", {"max_results": "many"}, "max_results"),
            ("/model-versions/search", {"max_results": 200_001}, "between 1 and 200000"),
            ("/model-versions/search", {"max_results": -1}, "between 1 and 200000"),
            ("/registered-models/search", {"page_token": "garbage!"}, "page_token"),
            ("/registered-models/search", {"order_by": ["version_number"]}, "order_by"),
            ("/model-versions/search", {"order_by": ["timestamp"]}, "order_by"),
            ("/model-versions/search", {"filter": "name = "}, "ends too early"),
        ],
    )
    def test_bad_search_parameters_are_400(
        self, mlflow: Mlflow, path: str, body: dict[str, Any], fragment: str
    ) -> None:
        assert fragment in mlflow.fails("GET", path, body, 400, "INVALID_PARAMETER_VALUE")

    def test_a_page_token_belongs_to_its_ordering(self, catalogue: Mlflow) -> None:
        page = catalogue.ok("GET", "/registered-models/search", {"max_results": 1})
        body = {"max_results": 1, "page_token": page["next_page_token"], "order_by": ["name DESC"]}
        catalogue.fails("GET", "/registered-models/search", body, 400, "INVALID_PARAMETER_VALUE")


class TestPaging:
    @staticmethod
    def _pages(
        mlflow: Mlflow, path: str, key: str, body: dict[str, Any]
    ) -> list[list[dict[str, Any]]]:
        pages: list[list[dict[str, Any]]] = []
        token: str | None = None
        while True:
            page = mlflow.ok("GET", path, {**body, **({"page_token": token} if token else {})})
            pages.append(page.get(key, []))
            token = page.get("next_page_token")
            if token is None:
                return pages

    def test_models_across_several_pages(self, mlflow: Mlflow) -> None:
        for i in range(11):
            mlflow.model(f"model-{i:02d}", tags=[{"key": "even", "value": str(i % 2 == 0)}])
        body = {"max_results": 3, "order_by": ["name DESC"], "filter": "name LIKE 'model-%'"}
        pages = self._pages(mlflow, "/registered-models/search", "registered_models", body)
        assert [len(p) for p in pages] == [3, 3, 3, 2]
        names = [m["name"] for page in pages for m in page]
        assert names == [f"model-{i:02d}" for i in reversed(range(11))]
        body = {"max_results": 2, "filter": "tags.even = 'True'"}
        pages = self._pages(mlflow, "/registered-models/search", "registered_models", body)
        assert [len(p) for p in pages] == [2, 2, 2]

    def test_versions_across_several_pages_while_more_arrive(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud")
        for _ in range(7):
            mlflow.version("fraud")
        path = "/model-versions/search"
        body = {"max_results": 3, "order_by": ["version_number ASC"]}
        first = mlflow.ok("GET", path, body)
        mlflow.version("fraud")  # a version registered between two pages is not skipped
        rest = self._pages(
            mlflow, path, "model_versions", {**body, "page_token": first["next_page_token"]}
        )
        numbers = [v["version"] for page in [first["model_versions"], *rest] for v in page]
        assert numbers == [str(n) for n in range(1, 9)]


HOSTILE_FILTERS = [
    "name = 'x'; DROP TABLE registered_models; --",
    "'; DROP TABLE registered_models; --",
    "name = 'x' OR 1=1",
    "name = 'x' OR name LIKE '%'",
    "name = 'x' UNION SELECT * FROM registered_models",
    "name = 'x') OR ('1'='1",
    "name = 1 OR 1 = 1",
    "tags.`k` = 'v' -- ",
    "tags.`x` = '1'; DELETE FROM model_versions",
    "name LIKE '%' /*",
    "name = '\x00'",
    "name LIKE '\\'",
    "name = '" + "a" * 5000,
    "version_number = 1e400",
    "version_number > 9223372036854775808",
    "run_id IN (" + ",".join(["'r'"] * 5000) + ",)",
    "name = 'x' AND AND name = 'y'",
    "((((((((((name = 'x'))))))))))",
]


class TestHostileFilters:
    @pytest.mark.parametrize("text", HOSTILE_FILTERS)
    def test_is_refused_with_400_and_the_data_is_intact(self, mlflow: Mlflow, text: str) -> None:
        mlflow.model("fraud", tags=[{"key": "k", "value": "v"}])
        mlflow.version("fraud")
        for path in ("/registered-models/search", "/model-versions/search"):
            message = mlflow.fails("GET", path, {"filter": text}, 400, "INVALID_PARAMETER_VALUE")
            assert "filter" in message
        assert [
            m["name"] for m in mlflow.ok("GET", "/registered-models/search")["registered_models"]
        ] == ["fraud"]
        assert mlflow.get_version("fraud", "1")["status"] == "READY"
        assert mlflow.get_model("fraud")["tags"] == [{"key": "k", "value": "v"}]

    @pytest.mark.parametrize(
        "text",
        [
            "name = '''; DROP TABLE registered_models; --'",
            "name LIKE '%\\%'",
            "tags.`'; DROP TABLE x; --` = 'v'",
            "name = 'caf\u00e9' AND tags.k ILIKE '%\u2603%'",
            "name ILIKE '" + "%_" * 2000 + "'",
        ],
    )
    def test_odd_but_well_formed_values_are_just_values(self, mlflow: Mlflow, text: str) -> None:
        mlflow.model("fraud")
        assert mlflow.ok("GET", "/registered-models/search", {"filter": text}) == {}
        assert mlflow.ok("GET", "/model-versions/search", {"filter": text}) == {}
        assert mlflow.get_model("fraud")["name"] == "fraud"


class TestErrors:
    def test_a_body_that_is_not_a_json_object_is_400(self, mlflow: Mlflow) -> None:
        url = API + "/registered-models/create"
        for content in (b"not json", b"[1, 2]", b"\xff\xfe"):
            response = mlflow.http.post(url, content=content)
            assert response.status_code == 400
            assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/registered-models/set-tag", {"name": "fraud", "key": "k", "value": "a\x00"}),
            ("PATCH", "/registered-models/update", {"name": "fraud", "description": "a\x00b"}),
            (
                "POST",
                "/model-versions/create",
                {"name": "fraud", "source": "s3://m", "run_id": "\x00"},
            ),
            (
                "POST",
                "/model-versions/create",
                {"name": "fraud", "source": "s3://m", "run_link": "\x00"},
            ),
            (
                "POST",
                "/registered-models/create",
                {"name": "x", "tags": [{"key": "k", "value": "\x00"}]},
            ),
            ("GET", "/registered-models/search", {"order_by": ["name\x00"]}),
        ],
    )
    def test_a_nul_character_is_400_on_every_backend(
        self, mlflow: Mlflow, method: str, path: str, body: dict[str, Any]
    ) -> None:
        mlflow.model("fraud")
        message = mlflow.fails(method, path, body, 400, "INVALID_PARAMETER_VALUE")
        assert "NUL" in message
        model = mlflow.get_model("fraud")
        assert ("tags" not in model, "description" not in model) == (True, True)

    def test_an_empty_body_reads_as_no_fields(self, mlflow: Mlflow) -> None:
        response = mlflow.http.post(API + "/registered-models/create", content=b"")
        assert response.status_code == 400
        assert "name" in response.json()["message"]

    def test_a_double_encoded_body_is_read_as_mlflow_reads_it(self, mlflow: Mlflow) -> None:
        response = mlflow.http.post(API + "/registered-models/create", json='{"name": "fraud"}')
        assert response.status_code == 200, response.text
        assert response.json()["registered_model"]["name"] == "fraud"

    def test_a_method_the_endpoint_does_not_take_is_refused(self, mlflow: Mlflow) -> None:
        response = mlflow.http.get(API + "/registered-models/create", params={"name": "x"})
        assert response.status_code == 405
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        mlflow.fails("GET", "/registered-models/get", {"name": "x"}, 404, "RESOURCE_DOES_NOT_EXIST")


class TestOneSourceOfTruth:
    def test_a_version_registered_through_mlflow_is_the_native_one(self, mlflow: Mlflow) -> None:
        mlflow.model("fraud", description="d", tags=[{"key": "team", "value": "risk"}])
        mlflow.version("fraud", "s3://b/fraud", run_id="r1", tags=[{"key": "k", "value": "v"}])
        mlflow.stage("fraud", "1", "Staging")
        mlflow.ok(
            "POST", "/registered-models/alias", {"name": "fraud", "alias": "champ", "version": "1"}
        )
        model = mlflow.http.get("/api/v1/models/fraud").json()
        assert (model["description"], model["tags"], model["aliases"]) == (
            "d",
            {"team": "risk"},
            {"champ": 1},
        )
        version = mlflow.http.get("/api/v1/models/fraud/versions/1").json()
        assert version["source"] == "s3://b/fraud"
        assert (version["run_id"], version["stage"], version["status"]) == (
            "r1",
            "Staging",
            "READY",
        )
        assert (version["tags"], version["aliases"]) == ({"k": "v"}, ["champ"])

    def test_a_native_version_is_seen_through_mlflow(self, mlflow: Mlflow) -> None:
        http = mlflow.http
        assert http.post("/api/v1/models", json={"name": "fraud"}).status_code == 201
        body = {"source": "s3://b/m", "tags": {"k": "v"}}
        assert http.post("/api/v1/models/fraud/versions", json=body).status_code == 201
        assert (
            http.put("/api/v1/models/fraud/aliases/champ", json={"version": 1}).status_code == 200
        )
        body = {"stage": "Production"}
        assert http.post("/api/v1/models/fraud/versions/1/stage", json=body).status_code == 200
        version = mlflow.get_version("fraud", "1")
        assert (version["source"], version["current_stage"], version["aliases"]) == (
            "s3://b/m",
            "Production",
            ["champ"],
        )
        assert version["tags"] == [{"key": "k", "value": "v"}]
        found = mlflow.ok("GET", "/model-versions/search", {"filter": "tags.k = 'v'"})
        assert [v["version"] for v in found["model_versions"]] == ["1"]
        assert http.delete("/api/v1/models/fraud/versions/1").status_code == 204
        mlflow.fails(
            "GET",
            "/model-versions/get",
            {"name": "fraud", "version": "1"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )


class TestBothPrefixes:
    @pytest.mark.parametrize("prefix", [API, AJAX])
    def test_every_endpoint_answers_under_the_prefix(self, http: TestClient, prefix: str) -> None:
        mlflow = Mlflow(http, prefix)
        ref = {"name": "m", "version": "1"}
        mlflow.model("m")
        mlflow.ok("POST", "/registered-models/rename", {"name": "m", "new_name": "n"})
        mlflow.ok("POST", "/registered-models/rename", {"name": "n", "new_name": "m"})
        mlflow.ok("PATCH", "/registered-models/update", {"name": "m", "description": "d"})
        mlflow.ok("POST", "/registered-models/set-tag", {"name": "m", "key": "k", "value": "v"})
        mlflow.ok("DELETE", "/registered-models/delete-tag", {"name": "m", "key": "k"})
        mlflow.version("m")
        mlflow.ok("GET", "/model-versions/get", ref)
        mlflow.ok("PATCH", "/model-versions/update", {**ref, "description": "d"})
        mlflow.ok("POST", "/model-versions/set-tag", {**ref, "key": "k", "value": "v"})
        mlflow.ok("DELETE", "/model-versions/delete-tag", {**ref, "key": "k"})
        mlflow.stage("m", "1", "Staging", archive=True)
        mlflow.ok("POST", "/registered-models/get-latest-versions", {"name": "m"})
        mlflow.ok("GET", "/registered-models/get-latest-versions", {"name": "m"})
        mlflow.ok("GET", "/model-versions/get-download-uri", ref)
        mlflow.ok("POST", "/registered-models/alias", {"name": "m", "alias": "a", "version": "1"})
        mlflow.ok("GET", "/registered-models/alias", {"name": "m", "alias": "a"})
        mlflow.ok("DELETE", "/registered-models/alias", {"name": "m", "alias": "a"})
        assert len(mlflow.ok("GET", "/registered-models/search")["registered_models"]) == 1
        assert len(mlflow.ok("GET", "/model-versions/search")["model_versions"]) == 1
        mlflow.ok("GET", "/registered-models/get", {"name": "m"})
        mlflow.ok("DELETE", "/model-versions/delete", ref)
        mlflow.ok("DELETE", "/registered-models/delete", {"name": "m"})
        mlflow.fails("GET", "/registered-models/get", {"name": "m"}, 404, "RESOURCE_DOES_NOT_EXIST")
