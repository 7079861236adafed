"""The official mlflow client, unchanged, against a real ``charter serve``: log and register a
scikit-learn model (in a run and without one), register from ``runs:/``, load it back by
version, alias and stage, and find the logged files in the version's manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from tests.support.server import CharterServer, running_server

pytestmark = [
    pytest.mark.e2e,
    # Importing mlflow.pyfunc (which log_model does) warns about its own response types; no
    # argument of ours can avoid it.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
    # Model stages are deprecated in MLflow 3, and Charter still serves them: the test sets one
    # on purpose to check that models:/name/Production loads.
    pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning"),
]

CLIENT_ENV = {
    # No telemetry or version checks leave the machine during tests.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CharterServer]:
    data_dir = tmp_path_factory.mktemp("mlflow-e2e") / "data"
    with running_server(data_dir, request=request, env=CLIENT_ENV) as started:
        yield started


@pytest.fixture(autouse=True)
def tracking(server: CharterServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The client points at the server through the environment, as a user would set it."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    for name, value in CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    mlflow.set_tracking_uri(server.url)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    # set_tracking_uri is process-global: leaving it set would send the next module's
    # mlflow calls to this module's server after it has stopped.
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    """A tiny LogisticRegression on 20 rows, with what log_model needs to stay quiet."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(20, 3))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(features, labels)
    return {
        "model": model,
        "X": features,
        "signature": infer_signature(features, model.predict(features)),
        "expected": model.predict(features),
    }


def log(trained: dict[str, Any], **kwargs: Any) -> Any:
    return mlflow.sklearn.log_model(
        trained["model"],
        signature=trained["signature"],
        input_example=trained["X"][:2],
        # Inferring requirements loads the model in a subprocess (half a minute here) and is
        # the client's business, not the server's.
        pip_requirements=["scikit-learn"],
        **kwargs,
    )


def predicts_the_same(uri: str, trained: dict[str, Any]) -> bool:
    loaded = mlflow.pyfunc.load_model(uri)
    return bool(np.array_equal(loaded.predict(trained["X"]), trained["expected"]))


class TestLogModel:
    def test_in_a_run_logs_params_metrics_and_registers_a_version(
        self, trained: dict[str, Any]
    ) -> None:
        with mlflow.start_run() as run:
            mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
            mlflow.log_metric("accuracy", 0.95)
            info = log(trained, name="model", registered_model_name="in-run")
        assert str(info.registered_model_version) == "1"
        client = MlflowClient()
        stored = client.get_run(run.info.run_id)
        assert stored.info.status == "FINISHED"
        assert stored.data.params == {"C": "1.0", "solver": "lbfgs"}
        assert stored.data.metrics == {"accuracy": 0.95}
        assert [o.model_id for o in stored.outputs.model_outputs] == [info.model_id]
        logged = client.get_logged_model(info.model_id)
        assert logged.status.to_proto() == 2  # LOGGED_MODEL_READY
        assert logged.source_run_id == run.info.run_id
        assert predicts_the_same("models:/in-run/1", trained)

    def test_without_an_active_run_logs_to_the_default_experiment(
        self, trained: dict[str, Any]
    ) -> None:
        info = log(trained, name="standalone", registered_model_name="no-run")
        logged = MlflowClient().get_logged_model(info.model_id)
        assert logged.experiment_id == "0"
        assert not logged.source_run_id  # unset, which protobuf reads back as ""
        MlflowClient().set_registered_model_alias("no-run", "champion", "1")
        assert predicts_the_same("models:/no-run@champion", trained)
        assert predicts_the_same(info.model_uri, trained)

    def test_register_from_a_runs_uri_and_load_by_alias_version_and_stage(
        self, trained: dict[str, Any]
    ) -> None:
        with mlflow.start_run() as run:
            log(trained, name="model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "from-run")
        assert version.version == "1"
        client = MlflowClient()
        client.set_registered_model_alias("from-run", "champion", version.version)
        client.transition_model_version_stage("from-run", version.version, "Production")
        for uri in (
            "models:/from-run@champion",
            "models:/from-run/1",
            "models:/from-run/Production",
        ):
            assert predicts_the_same(uri, trained), uri
        assert predicts_the_same(f"runs:/{run.info.run_id}/model", trained)

    def test_the_native_api_sees_the_logged_files_in_the_manifest(
        self, server: CharterServer, trained: dict[str, Any]
    ) -> None:
        info = log(trained, name="model", registered_model_name="manifest")
        logged = MlflowClient().get_logged_model(info.model_id)
        files = _namespace_files(server.url, logged.artifact_location)
        assert "MLmodel" in files
        version = httpx.get(f"{server.url}/api/v1/models/manifest/versions/1").json()
        assert version["status"] == "READY"
        assert version["file_count"] == len(files) > 0
        assert version["manifest_digest"]
        manifest = httpx.get(f"{server.url}/api/v1/models/manifest/versions/1/files").json()
        assert {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]} == files


class TestArtifacts:
    def test_log_list_and_download_run_artifacts(self, tmp_path: Path) -> None:
        source = tmp_path / "report"
        (source / "plots").mkdir(parents=True)
        (source / "summary.txt").write_text("all good\n")
        (source / "plots" / "roc.bin").write_bytes(bytes(range(256)) * 64)
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(source), artifact_path="report")
        client = MlflowClient()
        listed = client.list_artifacts(run.info.run_id, "report")
        assert [(f.path, f.is_dir) for f in listed] == [
            ("report/plots", True),
            ("report/summary.txt", False),
        ]
        target = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="report", dst_path=str(tmp_path / "out")
        )
        assert (Path(target) / "plots" / "roc.bin").read_bytes() == bytes(range(256)) * 64
        assert (Path(target) / "summary.txt").read_text() == "all good\n"

    def test_multipart_upload_through_the_proxy(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Force the client's multipart path with small parts; its parts go to the URLs that
        # Charter hands out, like presigned object-store URLs.
        monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
        monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(64 * 1024))
        monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(100 * 1024))
        data = np.random.default_rng(1).bytes(350 * 1024)
        big = tmp_path / "weights.bin"
        big.write_bytes(data)
        with mlflow.start_run() as run:
            mlflow.log_artifact(str(big))
        target = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="weights.bin", dst_path=str(tmp_path / "out")
        )
        assert (
            hashlib.sha256(Path(target).read_bytes()).hexdigest()
            == hashlib.sha256(data).hexdigest()
        )

    def test_search_runs_by_param_and_metric(self) -> None:
        experiment_id = mlflow.create_experiment("search-e2e")
        for lr, accuracy in (("0.1", 0.8), ("0.2", 0.9)):
            with mlflow.start_run(experiment_id=experiment_id):
                mlflow.log_param("lr", lr)
                mlflow.log_metric("accuracy", accuracy)
        found = MlflowClient().search_runs(
            [experiment_id], filter_string="params.lr = '0.2' and metrics.accuracy > 0.85"
        )
        assert [r.data.params["lr"] for r in found] == ["0.2"]
        ordered = MlflowClient().search_runs([experiment_id], order_by=["metrics.accuracy ASC"])
        assert [r.data.metrics["accuracy"] for r in ordered] == [0.8, 0.9]


def _namespace_files(base_url: str, location: str) -> dict[str, tuple[int, str]]:
    """Every file below an mlflow-artifacts location, as (size, sha256), read over HTTP."""
    root = location.removeprefix("mlflow-artifacts:").strip("/")
    files: dict[str, tuple[int, str]] = {}
    pending = [""]
    with httpx.Client(base_url=f"{base_url}/api/2.0/mlflow-artifacts") as http:
        while pending:
            relative = pending.pop()
            path = f"{root}/{relative}".rstrip("/")
            for entry in http.get("/artifacts", params={"path": path}).json().get("files", []):
                child = f"{relative}/{entry['path']}".lstrip("/")
                if entry["is_dir"]:
                    pending.append(child)
                    continue
                content = http.get(f"/artifacts/{root}/{child}").content
                files[child] = (len(content), hashlib.sha256(content).hexdigest())
    return files
