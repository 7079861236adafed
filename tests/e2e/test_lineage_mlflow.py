"""The official mlflow client logs a run (params, metrics, datasets with ``log_input``, the git
commit tag) and registers its model in a real ``charter serve``: the version's lineage holds
all of it, and the SDK finds the version from the dataset or the commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import mlflow
import mlflow.data
import numpy as np
import pytest
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from charter.client import Client
from tests.support.server import CharterServer, running_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]

CLIENT_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
SHA = "9d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796"
TRAIN_URI = "s3://lake/fraud/train.npz"
EVAL_URI = "s3://lake/fraud/eval.npz"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CharterServer]:
    data_dir = tmp_path_factory.mktemp("lineage-mlflow") / "data"
    with running_server(data_dir, request=request, env=CLIENT_ENV) as started:
        yield started


@pytest.fixture(autouse=True)
def tracking(server: CharterServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    for name, value in CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    mlflow.set_tracking_uri(server.url)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    # set_tracking_uri is process-global: the next module must not talk to this server.
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(11)
    features = rng.normal(size=(40, 3))
    labels = (features[:, 0] > 0).astype(int)
    return {"X": features, "y": labels, "model": LogisticRegression().fit(features, labels)}


def train_and_register(data: dict[str, Any], name: str) -> tuple[str, Any]:
    with mlflow.start_run() as run:
        mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
        mlflow.log_metric("accuracy", 0.93)
        mlflow.set_tags(
            {
                "mlflow.source.git.commit": SHA,
                "mlflow.source.git.repoURL": "https://github.com/acme/fraud",
            }
        )
        train = mlflow.data.from_numpy(
            data["X"], targets=data["y"], source=TRAIN_URI, name="fraud-train"
        )
        mlflow.log_input(train, context="training")
        holdout = mlflow.data.from_numpy(data["X"][:10], source=EVAL_URI, name="fraud-eval")
        mlflow.log_input(holdout, context="evaluation")
        info = mlflow.sklearn.log_model(
            data["model"],
            name="model",
            signature=infer_signature(data["X"], data["model"].predict(data["X"])),
            pip_requirements=["scikit-learn"],
            registered_model_name=name,
        )
    return run.info.run_id, info


class TestMlflowMapping:
    def test_a_logged_and_registered_model_carries_its_runs_lineage(
        self, server: CharterServer, data: dict[str, Any]
    ) -> None:
        run_id, info = train_and_register(data, "fraud-mlflow")
        response = httpx.get(f"{server.url}/api/v1/models/fraud-mlflow/versions/1/lineage")
        assert response.status_code == 200, response.text
        lineage = response.json()
        assert lineage["run"]["id"] == run_id
        assert lineage["run"]["tracking"] == "mlflow"
        assert lineage["run"]["params"] == {"C": "1.0", "solver": "lbfgs"}
        assert lineage["run"]["metrics"] == {"accuracy": 0.93}
        datasets = {d["uri"]: d for d in lineage["datasets"]}
        assert set(datasets) == {TRAIN_URI, EVAL_URI}
        assert datasets[TRAIN_URI]["role"] == "training"
        assert datasets[EVAL_URI]["role"] == "evaluation"
        assert datasets[TRAIN_URI]["name"] == "fraud-train"
        assert datasets[TRAIN_URI]["row_count"] == 40
        run = mlflow.get_run(run_id)
        digests = {i.dataset.name: i.dataset.digest for i in run.inputs.dataset_inputs}
        assert datasets[TRAIN_URI]["snapshot"] == digests["fraud-train"]
        (code,) = lineage["code"]
        assert (code["commit"], code["repo"]) == (SHA, "https://github.com/acme/fraud")
        assert lineage["logged_model"]["id"] == info.model_id
        files = httpx.get(f"{server.url}/api/v1/models/fraud-mlflow/versions/1/files").json()
        requirements = next(f for f in files["files"] if f["path"] == "requirements.txt")
        assert lineage["environment"] == {"requirements_digest": f"sha256:{requirements['sha256']}"}

    def test_the_sdk_finds_the_version_from_its_dataset_or_commit(
        self, server: CharterServer, data: dict[str, Any]
    ) -> None:
        train_and_register(data, "fraud-sdk")
        with Client(server.url) as client:
            by_commit = [v.ref for v in client.iter_impact(commit=SHA)]
            assert "fraud-sdk/1" in by_commit
            digest = client.get_lineage("fraud-sdk/1").datasets[0].snapshot
            assert digest is not None
            by_snapshot = client.impact(dataset=TRAIN_URI, snapshot=digest)
            assert "fraud-sdk/1" in [v.ref for v in by_snapshot]
            event = client.openlineage_event("fraud-sdk/1")
            names = {(i["namespace"], i["name"]) for i in event["inputs"]}
            assert ("s3://lake", "fraud/train.npz") in names
            version = client.get_version("fraud-sdk/1")
            assert event["run"]["runId"] == client.openlineage_event(version)["run"]["runId"]

    def test_register_model_from_a_runs_uri_records_the_run(
        self, server: CharterServer, data: dict[str, Any]
    ) -> None:
        with mlflow.start_run() as run:
            mlflow.log_param("alpha", 0.5)
            mlflow.sklearn.log_model(data["model"], name="model", pip_requirements=["scikit-learn"])
        mlflow.register_model(f"runs:/{run.info.run_id}/model", "from-runs-uri")
        with Client(server.url) as client:
            lineage = client.get_lineage("from-runs-uri/1")
        assert lineage.run is not None
        assert (lineage.run.id, lineage.run.params) == (run.info.run_id, {"alpha": "0.5"})
        assert lineage.code == []
        assert lineage.logged_model is not None
        algorithm, _, digest = lineage.environment["requirements_digest"].partition(":")
        assert (algorithm, len(digest)) == ("sha256", 64)
