"""Scans, format metadata and diffs through the native API, on SQLite and PostgreSQL.

The app's own background workers do the scanning (``CHARTER_SCAN_WORKERS``); tests wait for
them through the API's ``?wait=`` long-poll, as a client would. Hostile files carry payloads
that would create a marker file if loaded; no test ever finds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.audit.schemas import AuditFilter
from charter.audit.service import AuditService
from charter.config import Settings
from charter.context import SYSTEM
from charter.inspection.models import BlobScan
from tests.factories.lineage import add_lineage
from tests.factories.registry import create_model, ready_version_with_files
from tests.support import model_files

WAIT = {"wait": 30}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, scan_poll_seconds=0.05)


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a payload was executed"


def scanned(http: TestClient, model: str, version: int) -> dict[str, Any]:
    response = http.get(f"/api/v1/models/{model}/versions/{version}/scan", params=WAIT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["verdict"] != "pending", body
    return body


def by_path(scan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in scan["files"]}


def good_files() -> dict[str, bytes]:
    return {
        "MLmodel": model_files.MLMODEL.encode(),
        "model.pkl": model_files.sklearn_pickle(),
        "model.onnx": model_files.onnx_model(),
        "weights.safetensors": model_files.safetensors_file(),
        "requirements.txt": b"scikit-learn==1.5.0\n",
        "README.md": b"# fraud\n",
    }


class TestUploadThenScan:
    def test_a_clean_version_is_scanned_in_the_background(
        self, http: TestClient, state: AppState
    ) -> None:
        create_model(http, "fraud")
        version = ready_version_with_files(http, "fraud", good_files())
        assert version["status"] == "READY"
        scan = scanned(http, "fraud", version["version"])
        assert scan["verdict"] == "no_known_dangerous_pattern"
        assert scan["job"]["status"] == "done"
        assert scan["job"]["attempts"] == 1
        files = by_path(scan)
        assert {p: f["verdict"] for p, f in files.items()} == {
            "MLmodel": "cannot_carry_code",
            "README.md": "not_scanned",
            "model.onnx": "cannot_carry_code",
            "model.pkl": "no_known_dangerous_pattern",
            "requirements.txt": "not_scanned",
            "weights.safetensors": "cannot_carry_code",
        }
        assert "sklearn.linear_model._logistic.LogisticRegression" in files["model.pkl"]["globals"]
        with state.db.transaction(write=False) as session:
            events = AuditService(session, SYSTEM).search(AuditFilter(action="version.scan"))
        assert [e.after["verdict"] for e in events.items] == ["no_known_dangerous_pattern"]

    def test_the_format_endpoint_gives_signature_and_file_metadata(self, http: TestClient) -> None:
        create_model(http, "fraud")
        number = ready_version_with_files(http, "fraud", good_files())["version"]
        scanned(http, "fraud", number)
        response = http.get(f"/api/v1/models/fraud/versions/{number}/format")
        assert response.status_code == 200, response.text
        found = response.json()
        assert found["state"] == "done"
        assert found["signature"]["source"] == "MLmodel"
        assert [i["name"] for i in found["signature"]["inputs"]] == ["amount", "age"]
        details = {f["path"]: f["details"] for f in found["files"]}
        assert details["weights.safetensors"]["parameter_count"] == 16
        assert details["model.onnx"]["inputs"][0]["shape"] == ["batch", 3]
        assert details["MLmodel"]["flavors"] == ["python_function", "sklearn"]

    def test_an_onnx_only_version_takes_its_signature_from_the_graph(
        self, http: TestClient
    ) -> None:
        create_model(http, "vision")
        number = ready_version_with_files(http, "vision", {"m.onnx": model_files.onnx_model()})[
            "version"
        ]
        assert scanned(http, "vision", number)["verdict"] == "cannot_carry_code"
        found = http.get(f"/api/v1/models/vision/versions/{number}/format").json()
        assert found["signature"]["source"] == "m.onnx"
        assert found["signature"]["outputs"][0]["dtype"] == "float"

    def test_a_version_without_files_has_nothing_to_scan(self, http: TestClient) -> None:
        create_model(http, "fraud")
        http.post("/api/v1/models/fraud/versions", json={"source": "s3://b/m"})
        body = http.get("/api/v1/models/fraud/versions/1/scan").json()
        assert body["verdict"] == "not_scanned"
        assert "no files" in body["reason"]
        assert body["job"] is None


class TestHostileFiles:
    def test_a_malicious_pickle_is_flagged_and_never_executed(
        self, http: TestClient, marker: Path
    ) -> None:
        create_model(http, "fraud")
        files = {
            "model.pkl": model_files.malicious_pickle(marker),
            "model.pt": model_files.torch_zip(model_files.malicious_pickle(marker, 2)),
            "MLmodel": model_files.MLMODEL.encode(),
        }
        number = ready_version_with_files(http, "fraud", files)["version"]
        scan = scanned(http, "fraud", number)
        assert scan["verdict"] == "dangerous"
        assert "model.pkl" in scan["reason"]
        assert "builtins.exec" in scan["reason"]
        found = by_path(scan)
        assert found["model.pkl"]["dangerous"] == ["builtins.exec"]
        assert found["model.pt"]["dangerous"] == ["__builtin__.exec"]
        # Every read of the version leaves the payload as inert as the scan did.
        base = f"/api/v1/models/fraud/versions/{number}"
        for path in ("", "/format", "/files", "/files/model.pkl", "/archive", "/diff/1"):
            assert http.get(base + path).status_code == 200, path
        assert http.post(f"{base}/verify").json()["ok"] is True

    def test_a_pickle_importing_an_unknown_global_is_suspicious(self, http: TestClient) -> None:
        create_model(http, "fraud")
        files = {"model.pkl": model_files.unknown_global_pickle()}
        number = ready_version_with_files(http, "fraud", files)["version"]
        scan = scanned(http, "fraud", number)
        assert scan["verdict"] == "suspicious"
        assert by_path(scan)["model.pkl"]["suspicious"] == ["tests.support.model_files._Unknown"]

    def test_bad_files_fail_with_reasons_and_the_server_carries_on(self, http: TestClient) -> None:
        create_model(http, "broken")
        files = {
            "model.onnx": model_files.onnx_model()[:30],
            "cut.safetensors": model_files.safetensors_file()[:-7],
            "huge.safetensors": model_files.safetensors_claiming(1 << 40),
            "bomb/model.pt": model_files.zip_bomb(),
            "MLmodel": b"flavors: [unclosed\n",
        }
        number = ready_version_with_files(http, "broken", files)["version"]
        scan = scanned(http, "broken", number)
        assert scan["verdict"] == "failed"
        reasons = {p: f["reason"] for p, f in by_path(scan).items()}
        assert all(f["verdict"] == "failed" for f in scan["files"]), reasons
        assert "ONNX" in reasons["model.onnx"]
        assert "truncated" in reasons["cut.safetensors"]
        assert "1099511627776" in reasons["huge.safetensors"]
        assert "zip bomb" in reasons["bomb/model.pt"]
        assert "YAML" in reasons["MLmodel"]
        assert http.get("/health").status_code == 200
        # The version itself is untouched: READY, every file still listed.
        version = http.get(f"/api/v1/models/broken/versions/{number}").json()
        assert (version["status"], version["file_count"]) == ("READY", 5)


class TestMlflowVersions:
    def test_a_version_adopted_from_a_runs_files_is_scanned_too(
        self, http: TestClient, marker: Path
    ) -> None:
        mlflow = "/api/2.0/mlflow"
        info = http.post(f"{mlflow}/runs/create", json={"experiment_id": "0"}).json()["run"]
        root = info["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
        files = {"MLmodel": model_files.MLMODEL.encode(), "model.pkl": b""}
        files["model.pkl"] = model_files.malicious_pickle(marker)
        for path, data in files.items():
            url = f"/api/2.0/mlflow-artifacts/artifacts/{root}/model/{path}"
            assert http.put(url, content=data).status_code == 200
        http.post(f"{mlflow}/registered-models/create", json={"name": "logged"})
        run_id = info["info"]["run_id"]
        body = {"name": "logged", "source": f"runs:/{run_id}/model", "run_id": run_id}
        created = http.post(f"{mlflow}/model-versions/create", json=body)
        assert created.status_code == 200, created.text
        scan = scanned(http, "logged", 1)
        assert scan["verdict"] == "dangerous"
        assert by_path(scan)["model.pkl"]["dangerous"] == ["builtins.exec"]
        signature = http.get("/api/v1/models/logged/versions/1/format").json()["signature"]
        assert [i["name"] for i in signature["inputs"]] == ["amount", "age"]


class TestRerun:
    def test_a_scan_can_be_run_again_and_waited_for(self, http: TestClient) -> None:
        create_model(http, "fraud")
        number = ready_version_with_files(http, "fraud", {"m.pkl": model_files.sklearn_pickle()})[
            "version"
        ]
        first = scanned(http, "fraud", number)
        response = http.post(f"/api/v1/models/fraud/versions/{number}/scan")
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["id"] != first["job"]["id"]
        assert job["status"] in ("queued", "running", "done")
        second = scanned(http, "fraud", number)
        assert second["job"]["id"] == job["id"]
        assert second["job"]["status"] == "done"
        assert second["verdict"] == first["verdict"]

    def test_a_wait_longer_than_allowed_is_refused(self, http: TestClient) -> None:
        create_model(http, "fraud")
        http.post("/api/v1/models/fraud/versions", json={"source": "s3://b/m"})
        response = http.get("/api/v1/models/fraud/versions/1/scan", params={"wait": 3600})
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "wait" in response.json()["message"]

    def test_rescanning_a_pending_or_missing_version_is_refused(self, http: TestClient) -> None:
        create_model(http, "fraud")
        http.post("/api/v1/models/fraud/versions", json={})
        pending = http.post("/api/v1/models/fraud/versions/1/scan")
        assert pending.status_code == 409
        assert "PENDING_REGISTRATION" in pending.json()["message"]
        missing = http.post("/api/v1/models/fraud/versions/7/scan")
        assert missing.status_code == 404

    def test_identical_bytes_are_scanned_once(self, http: TestClient, state: AppState) -> None:
        create_model(http, "fraud")
        data = model_files.sklearn_pickle()
        one = ready_version_with_files(http, "fraud", {"model.pkl": data})["version"]
        scanned(http, "fraud", one)
        with state.db.transaction(write=False) as session:
            before = session.scalars(select(BlobScan)).all()
        two = ready_version_with_files(http, "fraud", {"copy/model.pkl": data})["version"]
        assert by_path(scanned(http, "fraud", two))["copy/model.pkl"]["globals"]
        with state.db.transaction(write=False) as session:
            after = session.scalars(select(BlobScan)).all()
            assert session.scalar(select(func.count()).select_from(BlobScan)) == 1
        assert [r.scanned_at for r in after] == [r.scanned_at for r in before]


class TestDiff:
    def test_two_versions_compared_section_by_section(self, http: TestClient) -> None:
        create_model(http, "fraud")
        one = good_files()
        two = dict(one)
        two["MLmodel"] = one["MLmodel"].replace(
            b'"long", "name": "age"', b'"double", "name": "age"'
        )
        two["MLmodel"] = two["MLmodel"].replace(b'"name": "amount"', b'"name": "amount_eur"')
        two["model.pkl"] = model_files.sklearn_pickle() + b"\x00"
        del two["README.md"]
        two["CHANGELOG.md"] = b"v2\n"
        a = ready_version_with_files(http, "fraud", one)["version"]
        b = ready_version_with_files(http, "fraud", two)["version"]
        http.patch(f"/api/v1/models/fraud/versions/{b}", json={"description": "retrained"})
        scanned(http, "fraud", a), scanned(http, "fraud", b)
        response = http.get(f"/api/v1/models/fraud/versions/{a}/diff/{b}")
        assert response.status_code == 200, response.text
        diff = response.json()
        assert (diff["a"], diff["b"]) == ("fraud/1", "fraud/2")
        assert diff["metadata"]["changed"]["description"] == {"a": None, "b": "retrained"}
        inputs = diff["signature"]["inputs"]
        assert list(inputs["added"]) == ["amount_eur"]
        assert list(inputs["removed"]) == ["amount"]
        assert inputs["changed"]["age"]["a"]["type"] == "long"
        assert inputs["changed"]["age"]["b"]["type"] == "double"
        files = diff["files"]
        assert [f["path"] for f in files["added"]] == ["CHANGELOG.md"]
        assert [f["path"] for f in files["removed"]] == ["README.md"]
        assert [f["path"] for f in files["changed"]] == ["MLmodel", "model.pkl"]
        assert files["unchanged"] == 3
        assert diff["lineage"] == {"added": {}, "removed": {}, "changed": {}}
        by_reference = http.get("/api/v1/diff", params={"a": "fraud/1", "b": "fraud/2"})
        assert by_reference.json() == diff

    def test_metrics_tags_and_lineage_differences(self, http: TestClient) -> None:
        create_model(http, "fraud")
        for auc, run in ((0.8, "run-a"), (0.9, "run-b")):
            body = {"source": "s3://b/m", "metrics": {"auc": auc}, "run_id": run}
            http.post("/api/v1/models/fraud/versions", json={**body, "tags": {"team": run}})
        diff = http.get("/api/v1/diff", params={"a": "fraud/1", "b": "fraud/2"}).json()
        assert diff["metrics"]["changed"]["auc"]["b"] == 0.9
        assert diff["tags"]["changed"]["team"] == {"a": "run-a", "b": "run-b"}
        assert diff["lineage"]["changed"]["run_id"] == {"a": "run-a", "b": "run-b"}

    def test_recorded_lineage_entries_are_compared(self, http: TestClient) -> None:
        create_model(http, "fraud")
        for _ in range(2):
            http.post("/api/v1/models/fraud/versions", json={"source": "s3://b/m"})
        common = {
            "code": [{"repo": "https://github.com/acme/fraud", "commit": "4f2a9c1e0b7d"}],
            "environment": {"python_version": "3.11.7"},
        }
        add_lineage(
            http,
            "fraud/1",
            datasets=[{"uri": "s3://lake/train.parquet", "snapshot": "v3"}],
            hyperparameters={"lr": 0.01, "epochs": 5},
            **common,
        )
        add_lineage(
            http,
            "fraud/2",
            datasets=[
                {"uri": "s3://lake/train.parquet", "snapshot": "v4"},
                {"uri": "s3://lake/holdout.parquet", "role": "evaluation", "snapshot": "h1"},
            ],
            hyperparameters={"lr": 0.02, "epochs": 5},
            parents=[{"version": "fraud/1"}],
            **common,
        )
        lineage = http.get("/api/v1/diff", params={"a": "fraud/1", "b": "fraud/2"}).json()[
            "lineage"
        ]
        assert lineage["changed"] == {
            "dataset:training:s3://lake/train.parquet": {"a": "v3", "b": "v4"},
            "hyperparameter:lr": {"a": 0.01, "b": 0.02, "delta": pytest.approx(0.01)},
        }
        assert lineage["added"] == {
            "dataset:evaluation:s3://lake/holdout.parquet": "h1",
            "parent:fine_tuned_from:fraud": "fraud/1",
        }
        assert lineage["removed"] == {}

    def test_diffing_a_missing_version_or_a_bad_reference_fails(self, http: TestClient) -> None:
        create_model(http, "fraud")
        assert http.get("/api/v1/diff", params={"a": "fraud/1", "b": "fraud/2"}).status_code == 404
        bad = http.get("/api/v1/diff", params={"a": "fraud", "b": "fraud/1"})
        assert bad.status_code == 400
        assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


class TestSdk:
    def test_scan_wait_format_and_diff_through_the_client(self, http: TestClient) -> None:
        from charter.client import Client, NotFound

        create_model(http, "fraud")
        ready_version_with_files(http, "fraud", {"m.onnx": model_files.onnx_model()})
        ready_version_with_files(http, "fraud", {"m.onnx": model_files.onnx_model(inputs=4)})
        with Client(http_client=http) as sdk:
            report = sdk.wait_for_scan("fraud/2", timeout=30)
            assert (report.verdict, report.pending) == ("cannot_carry_code", False)
            assert report.files[0].format == "onnx"
            sdk.wait_for_scan("fraud/1", timeout=30)
            assert sdk.version_format("fraud/2").signature is not None
            diff = sdk.diff("fraud/1", "fraud/2")
            assert diff.signature["inputs"]["changed"]["x"]["b"]["shape"] == ["batch", 4]
            job = sdk.request_scan("fraud/2")
            waited = sdk.wait_for_scan("fraud/2", timeout=30).job
            assert waited is not None
            assert waited.id == job.id
            with pytest.raises(NotFound):
                sdk.scan("fraud/9")
