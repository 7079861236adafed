"""The MLflow tracking API and artifact proxy over raw HTTP: experiments, runs, log-batch and its
limits, logged models, artifact upload/list/download/range/delete, traversal refused with
nothing written, multipart uploads, and resolving model sources to Charter's own files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.context import RequestContext
from charter.errors import InvalidArgument, NotFound
from charter.tracking.service import TrackingService

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    message: str = body["message"]
    return message


def create_experiment(http: TestClient, name: str = "exp", **body: Any) -> str:
    return str(
        ok(http.post(f"{API}/experiments/create", json={"name": name, **body}))["experiment_id"]
    )


def create_run(http: TestClient, experiment_id: str | None = None, **body: Any) -> dict[str, Any]:
    if experiment_id is not None:
        body["experiment_id"] = experiment_id
    run: dict[str, Any] = ok(http.post(f"{API}/runs/create", json=body))["run"]
    return run


def get_run(http: TestClient, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    return run


def run_path(run: dict[str, Any], path: str) -> str:
    """The namespace path of a file in a run's artifacts."""
    info = run["info"]
    return f"{info['experiment_id']}/{info['run_id']}/artifacts/{path}"


def upload(http: TestClient, path: str, data: bytes) -> None:
    ok(http.put(f"{ARTIFACTS}/artifacts/{path}", content=data))


def blob_files(state: AppState) -> list[Path]:
    root = Path(state.settings.resolved_artifact_root) / "sha256"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def search_runs(http: TestClient, experiment_ids: list[str], **body: Any) -> dict[str, Any]:
    return ok(http.post(f"{API}/runs/search", json={"experiment_ids": experiment_ids, **body}))


def metric(key: str, value: Any, timestamp: int = 1, step: int = 0) -> dict[str, Any]:
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


class TestExperiments:
    def test_default_experiment_exists_as_in_mlflow(self, http: TestClient) -> None:
        experiment = ok(http.get(f"{API}/experiments/get", params={"experiment_id": "0"}))
        assert experiment["experiment"]["name"] == "Default"
        assert experiment["experiment"]["artifact_location"] == "mlflow-artifacts:/0"
        by_name = ok(
            http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "Default"})
        )
        assert by_name["experiment"]["experiment_id"] == "0"

    def test_create_get_and_artifact_location(self, http: TestClient) -> None:
        experiment_id = create_experiment(http, "fraud", tags=[{"key": "team", "value": "risk"}])
        got = ok(http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
        experiment = got["experiment"]
        assert experiment["name"] == "fraud"
        assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
        assert experiment["lifecycle_stage"] == "active"
        assert experiment["tags"] == [{"key": "team", "value": "risk"}]

    def test_duplicate_name_is_refused_like_mlflow(self, http: TestClient) -> None:
        create_experiment(http, "fraud")
        response = http.post(f"{API}/experiments/create", json={"name": "fraud"})
        error(response, 400, "RESOURCE_ALREADY_EXISTS")

    def test_missing_experiment_is_404(self, http: TestClient) -> None:
        error(
            http.get(f"{API}/experiments/get", params={"experiment_id": "999"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )
        missing = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
        error(missing, 404, "RESOURCE_DOES_NOT_EXIST")
        error(
            http.get(f"{API}/experiments/get", params={"experiment_id": "x"}),
            400,
            "INVALID_PARAMETER_VALUE",
        )

    def test_search_filters_orders_and_pages(self, http: TestClient) -> None:
        for name in ("alpha", "beta", "gamma"):
            create_experiment(http, name)
        page = ok(
            http.post(
                f"{API}/experiments/search",
                json={"filter": "name LIKE '%a'", "order_by": ["name DESC"], "max_results": 2},
            )
        )
        assert [e["name"] for e in page["experiments"]] == ["gamma", "beta"]
        rest = ok(
            http.post(
                f"{API}/experiments/search",
                json={
                    "filter": "name LIKE '%a'",
                    "order_by": ["name DESC"],
                    "max_results": 2,
                    "page_token": page["next_page_token"],
                },
            )
        )
        assert [e["name"] for e in rest["experiments"]] == ["alpha"]
        assert "next_page_token" not in rest

    def test_delete_takes_runs_along_and_restore_brings_them_back(self, http: TestClient) -> None:
        experiment_id = create_experiment(http)
        run = create_run(http, experiment_id)
        ok(http.post(f"{API}/experiments/delete", json={"experiment_id": experiment_id}))
        assert get_run(http, run["info"]["run_id"])["info"]["lifecycle_stage"] == "deleted"
        error(
            http.post(f"{API}/runs/create", json={"experiment_id": experiment_id}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        ok(http.post(f"{API}/experiments/restore", json={"experiment_id": experiment_id}))
        assert get_run(http, run["info"]["run_id"])["info"]["lifecycle_stage"] == "active"

    def test_artifact_location_with_traversal_is_refused(self, http: TestClient) -> None:
        body = {"name": "escape", "artifact_location": "mlflow-artifacts:/../elsewhere"}
        error(http.post(f"{API}/experiments/create", json=body), 400, "INVALID_PARAMETER_VALUE")
        missing = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "escape"})
        error(missing, 404, "RESOURCE_DOES_NOT_EXIST")

    def test_default_experiment_cannot_be_deleted(self, http: TestClient) -> None:
        response = http.post(f"{API}/experiments/delete", json={"experiment_id": "0"})
        error(response, 400, "INVALID_PARAMETER_VALUE")

    def test_rename_and_tags(self, http: TestClient) -> None:
        experiment_id = create_experiment(http, "old")
        ok(
            http.post(
                f"{API}/experiments/update",
                json={"experiment_id": experiment_id, "new_name": "new"},
            )
        )
        ok(
            http.post(
                f"{API}/experiments/set-experiment-tag",
                json={"experiment_id": experiment_id, "key": "k", "value": "v"},
            )
        )
        experiment = ok(
            http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "new"})
        )["experiment"]
        assert experiment["tags"] == [{"key": "k", "value": "v"}]
        ok(
            http.post(
                f"{API}/experiments/delete-experiment-tag",
                json={"experiment_id": experiment_id, "key": "k"},
            )
        )
        experiment = ok(
            http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id})
        )["experiment"]
        assert experiment["tags"] == []


class TestRuns:
    def test_create_in_default_experiment_with_name_and_tags(self, http: TestClient) -> None:
        run = create_run(
            http,
            user_id="ada",
            start_time=1234,
            run_name="first",
            tags=[{"key": "k", "value": "v"}],
        )
        info = run["info"]
        assert info["experiment_id"] == "0"
        assert info["run_name"] == "first"
        assert info["user_id"] == "ada"
        assert info["status"] == "RUNNING"
        assert info["start_time"] == 1234
        assert info["artifact_uri"] == f"mlflow-artifacts:/0/{info['run_id']}/artifacts"
        assert {"key": "mlflow.runName", "value": "first"} in run["data"]["tags"]
        assert get_run(http, info["run_id"])["info"] == info

    def test_update_status_end_time_and_name(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        body = {"run_id": run_id, "status": "FINISHED", "end_time": 99, "run_name": "renamed"}
        info = ok(http.post(f"{API}/runs/update", json=body))["run_info"]
        assert (info["status"], info["end_time"], info["run_name"]) == ("FINISHED", 99, "renamed")
        tags = get_run(http, run_id)["data"]["tags"]
        assert {"key": "mlflow.runName", "value": "renamed"} in tags

    def test_missing_run_is_404(self, http: TestClient) -> None:
        error(
            http.get(f"{API}/runs/get", params={"run_id": "0" * 32}), 404, "RESOURCE_DOES_NOT_EXIST"
        )

    def test_deleted_run_refuses_logging_until_restored(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        ok(http.post(f"{API}/runs/delete", json={"run_id": run_id}))
        refused = http.post(
            f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "1"}
        )
        error(refused, 400, "INVALID_PARAMETER_VALUE")
        assert search_runs(http, ["0"]).get("runs", []) == []
        deleted = search_runs(http, ["0"], run_view_type="DELETED_ONLY")["runs"]
        assert [r["info"]["run_id"] for r in deleted] == [run_id]
        ok(http.post(f"{API}/runs/restore", json={"run_id": run_id}))
        ok(
            http.post(
                f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "1"}
            )
        )

    def test_single_calls_log_metric_param_and_tags(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        ok(
            http.post(
                f"{API}/runs/log-metric", json={"run_id": run_id, **metric("loss", 0.5, 10, 3)}
            )
        )
        ok(
            http.post(
                f"{API}/runs/log-parameter", json={"run_uuid": run_id, "key": "lr", "value": "0.1"}
            )
        )
        ok(
            http.post(
                f"{API}/runs/set-tag", json={"run_id": run_id, "key": "team", "value": "risk"}
            )
        )
        ok(http.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "team"}))
        data = get_run(http, run_id)["data"]
        assert data["metrics"] == [{"key": "loss", "value": 0.5, "timestamp": 10, "step": 3}]
        assert data["params"] == [{"key": "lr", "value": "0.1"}]
        assert "team" not in {t["key"] for t in data["tags"]}
        missing = http.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "team"})
        error(missing, 404, "RESOURCE_DOES_NOT_EXIST")


class TestLogBatch:
    def test_latest_metric_and_history_with_nan(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        metrics = [
            metric("acc", 0.5, 1, 1),
            metric("acc", 0.9, 2, 2),
            metric("acc", 0.1, 3, 0),
            metric("nan", "NaN"),
        ]
        ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}))
        # A retried request must not duplicate the history.
        ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}))
        latest = {m["key"]: m for m in get_run(http, run_id)["data"]["metrics"]}
        assert (latest["acc"]["value"], latest["acc"]["step"]) == (0.9, 2)
        assert latest["nan"]["value"] == "NaN"
        history = ok(
            http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "acc"})
        )
        assert [(m["step"], m["value"]) for m in history["metrics"]] == [
            (0, 0.1),
            (1, 0.5),
            (2, 0.9),
        ]
        page = ok(
            http.get(
                f"{API}/metrics/get-history",
                params={"run_id": run_id, "metric_key": "acc", "max_results": 2},
            )
        )
        rest = ok(
            http.get(
                f"{API}/metrics/get-history",
                params={
                    "run_id": run_id,
                    "metric_key": "acc",
                    "page_token": page["next_page_token"],
                    "max_results": 2,
                },
            )
        )
        assert [m["step"] for m in page["metrics"] + rest["metrics"]] == [0, 1, 2]

    @pytest.mark.parametrize(
        ("metrics", "params", "tags", "limit"),
        [
            (1001, 0, 0, "at most 1000 metrics"),
            (0, 101, 0, "at most 100 params"),
            (0, 0, 101, "at most 100 tags"),
            (901, 100, 0, "at most 1000 metrics, params, and tags"),
        ],
    )
    def test_batch_limits_refuse_everything(
        self, http: TestClient, metrics: int, params: int, tags: int, limit: str
    ) -> None:
        run_id = create_run(http)["info"]["run_id"]
        body = {
            "run_id": run_id,
            "metrics": [metric(f"m{i}", i) for i in range(metrics)],
            "params": [{"key": f"p{i}", "value": "v"} for i in range(params)],
            "tags": [{"key": f"t{i}", "value": "v"} for i in range(tags)],
        }
        message = error(
            http.post(f"{API}/runs/log-batch", json=body), 400, "INVALID_PARAMETER_VALUE"
        )
        assert limit in message
        data = get_run(http, run_id)["data"]
        assert data["metrics"] == []
        assert data["params"] == []
        assert [t["key"] for t in data["tags"]] == ["mlflow.runName"]

    @pytest.mark.parametrize(
        "body",
        [
            {"params": [{"key": "p", "value": "x" * 6001}]},
            {"tags": [{"key": "t", "value": "x" * 8001}]},
            {"params": [{"key": "../escape", "value": "1"}]},
            {"params": [{"key": "bad\nkey", "value": "1"}]},
            {"metrics": [metric("a" * 251, 1)]},
            {"metrics": [metric("m", 1, timestamp=-1)]},
            {"metrics": [metric("m", "not a number")]},
            {"params": [{"key": "dup", "value": "1"}, {"key": "dup", "value": "1"}]},
        ],
    )
    def test_bad_items_refuse_the_whole_batch(self, http: TestClient, body: dict[str, Any]) -> None:
        run_id = create_run(http)["info"]["run_id"]
        good = {"metrics": [metric("good", 1)], "params": [{"key": "ok", "value": "1"}]}
        merged = {k: good.get(k, []) + body.get(k, []) for k in ("metrics", "params", "tags")}
        response = http.post(f"{API}/runs/log-batch", json={"run_id": run_id, **merged})
        error(response, 400, "INVALID_PARAMETER_VALUE")
        data = get_run(http, run_id)["data"]
        assert data["metrics"] == []
        assert data["params"] == []

    def test_params_never_change(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        params = [{"key": "lr", "value": "0.1"}]
        ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params}))
        ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params}))
        changed = [{"key": "lr", "value": "0.2"}]
        message = error(
            http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": changed}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        assert "Changing param values is not allowed" in message
        assert get_run(http, run_id)["data"]["params"] == params


class TestSearchRuns:
    @pytest.fixture
    def runs(self, http: TestClient) -> dict[str, str]:
        """Three runs with different params, metrics and tags."""
        ids = {}
        for name, lr, acc, start in (
            ("a", "0.1", 0.9, 1),
            ("b", "0.2", 0.7, 2),
            ("c", "0.1", None, 3),
        ):
            run_id = create_run(http, run_name=name, start_time=start)["info"]["run_id"]
            body: dict[str, Any] = {"run_id": run_id, "params": [{"key": "lr", "value": lr}]}
            body["tags"] = [
                {"key": "mlflow.source.type", "value": "LOCAL" if name != "b" else "JOB"}
            ]
            if acc is not None:
                body["metrics"] = [metric("acc", acc)]
            ok(http.post(f"{API}/runs/log-batch", json=body))
            ids[name] = run_id
        return ids

    def names(self, http: TestClient, **body: Any) -> list[str]:
        return [r["info"]["run_name"] for r in search_runs(http, ["0"], **body).get("runs", [])]

    def test_default_order_is_newest_first(self, http: TestClient, runs: dict[str, str]) -> None:
        assert self.names(http) == ["c", "b", "a"]

    @pytest.mark.parametrize(
        ("filter_string", "expected"),
        [
            ("params.lr = '0.1'", ["c", "a"]),
            ("metrics.acc > 0.8", ["a"]),
            ("metrics.acc <= 0.9 AND params.lr = '0.2'", ["b"]),
            ("tags.mlflow.source.type = 'JOB'", ["b"]),
            ("tags.`mlflow.source.type` != 'JOB'", ["c", "a"]),
            ("attributes.run_name IN ('a', 'c')", ["c", "a"]),
            ("attributes.start_time >= 2", ["c", "b"]),
            ("run_name LIKE 'b%'", ["b"]),
            ("run_name ILIKE 'B%'", ["b"]),
            ("run_name LIKE 'B%'", []),
            ("metrics.acc IS NULL", ["c"]),
        ],
    )
    def test_filters(
        self, http: TestClient, runs: dict[str, str], filter_string: str, expected: list[str]
    ) -> None:
        assert self.names(http, filter=filter_string) == expected

    def test_filter_by_run_id_as_the_client_does(
        self, http: TestClient, runs: dict[str, str]
    ) -> None:
        found = self.names(http, filter=f"attributes.run_id = '{runs['b']}'")
        assert found == ["b"]

    def test_order_by_metric_puts_runs_without_it_last(
        self, http: TestClient, runs: dict[str, str]
    ) -> None:
        assert self.names(http, order_by=["metrics.acc DESC"]) == ["a", "b", "c"]
        assert self.names(http, order_by=["metrics.acc ASC"]) == ["b", "a", "c"]

    @pytest.mark.parametrize(
        ("order_by", "expected"),
        [
            (["metrics.acc DESC"], ["a", "b", "c"]),
            (["attributes.start_time ASC"], ["a", "b", "c"]),
            (["params.lr DESC", "run_name"], ["b", "a", "c"]),
            (["end_time DESC"], ["c", "b", "a"]),  # none has ended: newest first decides
            (["tags.`mlflow.source.type`"], ["b", "c", "a"]),
        ],
    )
    def test_pages_follow_the_ordering(
        self, http: TestClient, runs: dict[str, str], order_by: list[str], expected: list[str]
    ) -> None:
        seen: list[str] = []
        token = None
        while True:
            body: dict[str, Any] = {"order_by": order_by, "max_results": 1}
            if token:
                body["page_token"] = token
            page = search_runs(http, ["0"], **body)
            seen += [r["info"]["run_name"] for r in page["runs"]]
            token = page.get("next_page_token")
            if not token:
                break
        assert seen == expected

    @pytest.mark.parametrize(
        "filter_string",
        [
            "metrics.acc > 'x'",
            "params.lr > '1'",
            "attributes.nope = 'x'",
            "x = 'a' OR y = 'b'",
            "metrics.acc =",
        ],
    )
    def test_bad_filters_are_invalid(
        self, http: TestClient, runs: dict[str, str], filter_string: str
    ) -> None:
        response = http.post(
            f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": filter_string}
        )
        error(response, 400, "INVALID_PARAMETER_VALUE")


class TestLoggedModels:
    def create(self, http: TestClient, **body: Any) -> dict[str, Any]:
        body.setdefault("experiment_id", "0")
        model: dict[str, Any] = ok(http.post(f"{API}/logged-models", json=body))["model"]
        return model

    def test_create_finalize_and_get(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        model = self.create(
            http,
            name="model",
            source_run_id=run_id,
            params=[{"key": "C", "value": "1.0"}],
            tags=[{"key": "flavor", "value": "sklearn"}],
        )
        info = model["info"]
        assert info["model_id"].startswith("m-")
        assert info["status"] == "LOGGED_MODEL_PENDING"
        assert info["artifact_uri"] == f"mlflow-artifacts:/0/models/{info['model_id']}/artifacts"
        assert model["data"]["params"] == [{"key": "C", "value": "1.0"}]
        body = {"model_id": info["model_id"], "status": "LOGGED_MODEL_READY"}
        final = ok(http.patch(f"{API}/logged-models/{info['model_id']}", json=body))["model"]
        assert final["info"]["status"] == "LOGGED_MODEL_READY"
        got = ok(http.get(f"{API}/logged-models/{info['model_id']}"))["model"]
        assert got["info"]["source_run_id"] == run_id

    def test_tags_params_delete(self, http: TestClient) -> None:
        model_id = self.create(http)["info"]["model_id"]
        tags = {"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]}
        ok(http.patch(f"{API}/logged-models/{model_id}/tags", json=tags))
        ok(http.delete(f"{API}/logged-models/{model_id}/tags/a"))
        ok(
            http.post(
                f"{API}/logged-models/{model_id}/params",
                json={"params": [{"key": "p", "value": "v"}]},
            )
        )
        info = ok(http.get(f"{API}/logged-models/{model_id}"))["model"]
        assert info["info"]["tags"] == [{"key": "b", "value": "2"}]
        assert info["data"]["params"] == [{"key": "p", "value": "v"}]
        ok(http.delete(f"{API}/logged-models/{model_id}"))
        error(http.get(f"{API}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
        deleted = ok(http.get(f"{API}/logged-models/{model_id}", params={"allow_deleted": "true"}))
        assert deleted["model"]["info"]["model_id"] == model_id

    def test_search_by_name_as_register_model_does(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        wanted = self.create(http, name="model", source_run_id=run_id)["info"]["model_id"]
        self.create(http, name="other", source_run_id=run_id)
        found = ok(
            http.post(
                f"{API}/logged-models/search",
                json={"experiment_ids": ["0"], "filter": "name = 'model'"},
            )
        )
        assert [m["info"]["model_id"] for m in found["models"]] == [wanted]

    def test_metrics_logged_for_a_model_show_on_it(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        model_id = self.create(http, source_run_id=run_id)["info"]["model_id"]
        point = {**metric("acc", 0.8), "model_id": model_id}
        ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [point]}))
        model = ok(http.get(f"{API}/logged-models/{model_id}"))["model"]
        assert [(m["key"], m["value"]) for m in model["data"]["metrics"]] == [("acc", 0.8)]

    def test_missing_run_or_experiment(self, http: TestClient) -> None:
        response = http.post(
            f"{API}/logged-models", json={"experiment_id": "0", "source_run_id": "f" * 32}
        )
        error(response, 404, "RESOURCE_DOES_NOT_EXIST")
        error(
            http.post(f"{API}/logged-models", json={"experiment_id": "77"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )


class TestRunInputsOutputs:
    def test_datasets_and_models_become_the_runs_inputs_and_outputs(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        model_id = ok(http.post(f"{API}/logged-models", json={"experiment_id": "0"}))["model"][
            "info"
        ]["model_id"]
        dataset = {
            "name": "iris",
            "digest": "abc123",
            "source_type": "code",
            "source": "{}",
            "schema": "{}",
        }
        item = {"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset}
        for _ in range(2):  # logging the same dataset twice keeps one input
            ok(
                http.post(
                    f"{API}/runs/log-inputs",
                    json={"run_id": run_id, "datasets": [item], "models": [{"model_id": model_id}]},
                )
            )
        ok(
            http.post(
                f"{API}/runs/outputs",
                json={"run_id": run_id, "models": [{"model_id": model_id, "step": 3}]},
            )
        )
        run = get_run(http, run_id)
        assert run["inputs"]["dataset_inputs"] == [item]
        assert run["inputs"]["model_inputs"] == [{"model_id": model_id}]
        assert run["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 3}]
        found = search_runs(
            http, ["0"], filter="datasets.name = 'iris' AND datasets.context = 'training'"
        )
        assert [r["info"]["run_id"] for r in found["runs"]] == [run_id]

    def test_unknown_model_output_is_404(self, http: TestClient) -> None:
        run_id = create_run(http)["info"]["run_id"]
        response = http.post(
            f"{API}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": "m-nope"}]}
        )
        error(response, 404, "RESOURCE_DOES_NOT_EXIST")
        assert get_run(http, run_id)["outputs"]["model_outputs"] == []


class TestArtifacts:
    FILES = {
        "model/MLmodel": b"flavors: {}\n",
        "model/model.pkl": bytes(range(256)) * 40,
        "notes.txt": b"hi",
    }

    @pytest.fixture
    def run(self, http: TestClient) -> dict[str, Any]:
        run = create_run(http)
        for path, data in self.FILES.items():
            upload(http, run_path(run, path), data)
        return run

    def test_list_directories_and_files(self, http: TestClient, run: dict[str, Any]) -> None:
        root = ok(http.get(f"{ARTIFACTS}/artifacts", params={"path": run_path(run, "")[:-1]}))
        assert root["files"] == [
            {"path": "model", "is_dir": True},
            {"path": "notes.txt", "is_dir": False, "file_size": 2},
        ]
        model = ok(http.get(f"{ARTIFACTS}/artifacts", params={"path": run_path(run, "model")}))
        assert [(f["path"], f["file_size"]) for f in model["files"]] == [
            ("MLmodel", 12),
            ("model.pkl", 10240),
        ]
        # A file lists as nothing, as MLflow's repositories answer.
        assert (
            ok(http.get(f"{ARTIFACTS}/artifacts", params={"path": run_path(run, "notes.txt")}))[
                "files"
            ]
            == []
        )
        listed = ok(
            http.get(
                f"{API}/artifacts/list", params={"run_id": run["info"]["run_id"], "path": "model"}
            )
        )
        assert listed["root_uri"] == run["info"]["artifact_uri"]
        assert [f["path"] for f in listed["files"]] == ["model/MLmodel", "model/model.pkl"]

    def test_download_whole_and_ranges(self, http: TestClient, run: dict[str, Any]) -> None:
        data = self.FILES["model/model.pkl"]
        url = f"{ARTIFACTS}/artifacts/{run_path(run, 'model/model.pkl')}"
        whole = http.get(url)
        assert whole.status_code == 200
        assert whole.content == data
        assert whole.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        part = http.get(url, headers={"range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        tail = http.get(url, headers={"range": "bytes=-10"})
        assert tail.content == data[-10:]
        beyond = http.get(url, headers={"range": f"bytes={len(data)}-"})
        assert beyond.status_code == 416

    def test_missing_file_and_directory_are_404(
        self, http: TestClient, run: dict[str, Any]
    ) -> None:
        missing = http.get(f"{ARTIFACTS}/artifacts/{run_path(run, 'nope')}")
        error(missing, 404, "RESOURCE_DOES_NOT_EXIST")
        error(
            http.get(f"{ARTIFACTS}/artifacts/{run_path(run, 'model')}"),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )

    def test_overwrite_replaces_the_file(self, http: TestClient, run: dict[str, Any]) -> None:
        upload(http, run_path(run, "notes.txt"), b"new notes")
        assert (
            http.get(f"{ARTIFACTS}/artifacts/{run_path(run, 'notes.txt')}").content == b"new notes"
        )

    def test_delete_a_directory_with_what_is_below(
        self, http: TestClient, run: dict[str, Any]
    ) -> None:
        ok(http.delete(f"{ARTIFACTS}/artifacts/{run_path(run, 'model')}"))
        root = ok(http.get(f"{ARTIFACTS}/artifacts", params={"path": run_path(run, "")[:-1]}))
        assert [f["path"] for f in root["files"]] == ["notes.txt"]
        error(
            http.get(f"{ARTIFACTS}/artifacts/{run_path(run, 'model/MLmodel')}"),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )

    def test_identical_bytes_are_stored_once(self, http: TestClient, state: AppState) -> None:
        first, second = create_run(http), create_run(http)
        upload(http, run_path(first, "weights.bin"), b"same bytes" * 1000)
        upload(http, run_path(second, "copy/weights.bin"), b"same bytes" * 1000)
        assert len(blob_files(state)) == 1

    def test_a_file_cannot_shadow_a_directory_or_sit_below_a_file(
        self, http: TestClient, run: dict[str, Any]
    ) -> None:
        error(
            http.put(f"{ARTIFACTS}/artifacts/{run_path(run, 'model')}", content=b"x"),
            409,
            "RESOURCE_CONFLICT",
        )
        error(
            http.put(f"{ARTIFACTS}/artifacts/{run_path(run, 'notes.txt/inner')}", content=b"x"),
            409,
            "RESOURCE_CONFLICT",
        )

    @pytest.mark.parametrize(
        "raw_path",
        [
            "0/run/%2E%2E/%2E%2E/escape.txt",
            "0/run/artifacts/..%2F..%2Fescape.txt",
            "%2Fetc/passwd",
            "0/run/a%00b",
            "0/run/a%5Cb",
            "0/run//double",
        ],
    )
    def test_traversal_paths_are_refused_with_nothing_written(
        self, http: TestClient, state: AppState, raw_path: str
    ) -> None:
        response = http.put(f"{ARTIFACTS}/artifacts/{raw_path}", content=b"payload")
        error(response, 400, "INVALID_PARAMETER_VALUE")
        assert blob_files(state) == []
        assert ok(http.get(f"{ARTIFACTS}/artifacts"))["files"] == []
        for method in ("get", "delete"):
            refused = getattr(http, method)(f"{ARTIFACTS}/artifacts/{raw_path}")
            error(refused, 400, "INVALID_PARAMETER_VALUE")

    @pytest.mark.parametrize("path", ["../x", "/abs", "a/../b", "a\\b"])
    def test_traversal_in_list_is_refused(self, http: TestClient, path: str) -> None:
        error(
            http.get(f"{ARTIFACTS}/artifacts", params={"path": path}),
            400,
            "INVALID_PARAMETER_VALUE",
        )

    def test_the_ajax_prefix_serves_the_same_namespace(
        self, http: TestClient, run: dict[str, Any]
    ) -> None:
        got = http.get(f"/ajax-api/2.0/mlflow-artifacts/artifacts/{run_path(run, 'notes.txt')}")
        assert got.content == b"hi"


class TestMultipart:
    PARTS = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    # Like MLflow's client: the URL names the directory, the body the local file.
    DIRECTORY = "0/run/artifacts"
    LOCAL = "/home/ada/big.bin"
    TARGET = "0/run/artifacts/big.bin"

    def create(self, http: TestClient, num_parts: int) -> dict[str, Any]:
        body = {"path": self.LOCAL, "num_parts": num_parts}
        return ok(http.post(f"{ARTIFACTS}/mpu/create/{self.DIRECTORY}", json=body))

    def finish(self, http: TestClient, action: str, **body: Any) -> Any:
        url = f"{ARTIFACTS}/mpu/{action}/{self.DIRECTORY}"
        return http.post(url, json={"path": self.LOCAL, **body})

    def put_parts(self, http: TestClient, created: dict[str, Any]) -> list[dict[str, Any]]:
        parts = []
        for credential, data in zip(created["credentials"], self.PARTS, strict=True):
            response = http.put(credential["url"], content=data)
            assert response.status_code == 200, response.text
            parts.append(
                {
                    "part_number": credential["part_number"],
                    "etag": response.headers["etag"],
                    "url": credential["url"],
                }
            )
        return parts

    def test_create_upload_parts_complete(self, http: TestClient) -> None:
        created = self.create(http, 3)
        assert [c["part_number"] for c in created["credentials"]] == [1, 2, 3]
        assert created["credentials"][0]["url"].startswith(
            "http://testserver/api/2.0/mlflow-artifacts/mpu/"
        )
        parts = self.put_parts(http, created)
        ok(self.finish(http, "complete", upload_id=created["upload_id"], parts=parts))
        downloaded = http.get(f"{ARTIFACTS}/artifacts/{self.TARGET}")
        assert downloaded.content == b"".join(self.PARTS)
        # The upload is gone once complete.
        again = self.finish(http, "complete", upload_id=created["upload_id"], parts=parts)
        error(again, 404, "RESOURCE_DOES_NOT_EXIST")

    def test_abort_forgets_the_upload(self, http: TestClient) -> None:
        created = self.create(http, 3)
        parts = self.put_parts(http, created)
        ok(self.finish(http, "abort", upload_id=created["upload_id"]))
        completed = self.finish(http, "complete", upload_id=created["upload_id"], parts=parts)
        error(completed, 404, "RESOURCE_DOES_NOT_EXIST")
        error(http.get(f"{ARTIFACTS}/artifacts/{self.TARGET}"), 404, "RESOURCE_DOES_NOT_EXIST")
        late = http.put(created["credentials"][0]["url"], content=b"late")
        error(late, 404, "RESOURCE_DOES_NOT_EXIST")

    def test_missing_part_or_wrong_etag_is_refused(self, http: TestClient) -> None:
        created = self.create(http, 3)
        parts = self.put_parts(http, created)
        gap = self.finish(
            http, "complete", upload_id=created["upload_id"], parts=[parts[0], parts[2]]
        )
        error(gap, 400, "INVALID_PARAMETER_VALUE")
        wrong = [{**parts[0], "etag": '"' + "0" * 64 + '"'}, *parts[1:]]
        error(
            self.finish(http, "complete", upload_id=created["upload_id"], parts=wrong),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        error(http.get(f"{ARTIFACTS}/artifacts/{self.TARGET}"), 404, "RESOURCE_DOES_NOT_EXIST")

    def test_part_outside_the_upload_and_unknown_upload(self, http: TestClient) -> None:
        created = self.create(http, 2)
        beyond = created["credentials"][0]["url"].rsplit("/", 1)[0] + "/3"
        error(http.put(beyond, content=b"x"), 400, "INVALID_PARAMETER_VALUE")
        error(
            http.put(f"{ARTIFACTS}/mpu/parts/not-an-upload/1", content=b"x"),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )

    @pytest.mark.parametrize(
        ("directory", "local"),
        [("0/%2E%2E/x", "/tmp/big.bin"), ("0/run", "/tmp/.."), ("0/run", ""), ("0/run", "a\x00b")],
    )
    def test_traversal_in_multipart_paths_is_refused(
        self, http: TestClient, directory: str, local: str
    ) -> None:
        body = {"path": local, "num_parts": 1}
        response = http.post(f"{ARTIFACTS}/mpu/create/{directory}", json=body)
        error(response, 400, "INVALID_PARAMETER_VALUE")
        assert ok(http.get(f"{ARTIFACTS}/artifacts"))["files"] == []

    def test_a_windows_local_path_names_the_file_by_its_base_name(self, http: TestClient) -> None:
        body = {"path": "C:\\Users\\ada\\big.bin", "num_parts": 1}
        created = ok(http.post(f"{ARTIFACTS}/mpu/create/{self.DIRECTORY}", json=body))
        etag = http.put(created["credentials"][0]["url"], content=b"win").headers["etag"]
        parts = [{"part_number": 1, "etag": etag}]
        done = {**body, "upload_id": created["upload_id"], "parts": parts}
        ok(http.post(f"{ARTIFACTS}/mpu/complete/{self.DIRECTORY}", json=done))
        assert http.get(f"{ARTIFACTS}/artifacts/{self.TARGET}").content == b"win"


class TestResolveSource:
    """What the registry gets for a version's source: Charter's own files, or None."""

    @pytest.fixture
    def logged(self, http: TestClient) -> dict[str, Any]:
        """A run with files of its own and a logged model named 'model' with its files."""
        run = create_run(http)
        upload(http, run_path(run, "extra/MLmodel"), b"run model")
        model = ok(
            http.post(
                f"{API}/logged-models",
                json={
                    "experiment_id": "0",
                    "name": "model",
                    "source_run_id": run["info"]["run_id"],
                },
            )
        )["model"]["info"]
        location = model["artifact_uri"].removeprefix("mlflow-artifacts:/")
        upload(http, f"{location}/MLmodel", b"flavors: {}\n")
        upload(http, f"{location}/model.pkl", b"pickle")
        return {"run": run, "model": model, "location": location}

    def resolve(
        self, state: AppState, source: str, run_id: str | None = None, model_id: str | None = None
    ) -> Any:
        with state.db.transaction(write=False) as session:
            return TrackingService(session, RequestContext()).resolve_source(
                source, run_id, model_id
            )

    def test_logged_model_uri(self, state: AppState, logged: dict[str, Any]) -> None:
        resolved = self.resolve(state, f"models:/{logged['model']['model_id']}")
        assert resolved.prefix == logged["location"]
        assert resolved.download_uri == f"mlflow-artifacts:/{logged['location']}"
        assert [(f.path, f.size) for f in resolved.files] == [("MLmodel", 12), ("model.pkl", 6)]
        assert resolved.files[1].sha256 == hashlib.sha256(b"pickle").hexdigest()
        assert resolved.model_id == logged["model"]["model_id"]
        assert resolved.run_id == logged["run"]["info"]["run_id"]

    def test_artifact_uris_of_every_form(self, state: AppState, logged: dict[str, Any]) -> None:
        location = logged["location"]
        for source in (
            f"mlflow-artifacts:/{location}",
            f"mlflow-artifacts://127.0.0.1:5000/{location}/",
            f"http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/{location}",
        ):
            resolved = self.resolve(state, source)
            assert [f.path for f in resolved.files] == ["MLmodel", "model.pkl"], source
            assert resolved.model_id == logged["model"]["model_id"]

    def test_runs_uri_with_files_and_with_a_logged_model(
        self, state: AppState, logged: dict[str, Any]
    ) -> None:
        run_id = logged["run"]["info"]["run_id"]
        own = self.resolve(state, f"runs:/{run_id}/extra")
        assert [f.path for f in own.files] == ["MLmodel"]
        assert own.run_id == run_id
        # MLflow 3 logs a model's files under the logged model, not the run.
        via_model = self.resolve(state, f"runs:/{run_id}/model")
        assert via_model.prefix == logged["location"]
        assert via_model.model_id == logged["model"]["model_id"]

    def test_external_and_registry_uris_are_none(
        self, state: AppState, logged: dict[str, Any]
    ) -> None:
        for source in (
            "s3://bucket/model",
            "file:///tmp/model",
            "models:/fraud/3",
            "https://example.com/x",
            "gs://b/m",
        ):
            assert self.resolve(state, source) is None, source

    def test_runs_of_an_experiment_stored_elsewhere_are_external(
        self, http: TestClient, state: AppState
    ) -> None:
        experiment_id = create_experiment(http, "on-s3", artifact_location="s3://bucket/exp")
        run = create_run(http, experiment_id)
        assert run["info"]["artifact_uri"] == f"s3://bucket/exp/{run['info']['run_id']}/artifacts"
        assert self.resolve(state, f"runs:/{run['info']['run_id']}/model") is None

    def test_hints_fill_in_lineage_the_source_does_not_name(
        self, state: AppState, logged: dict[str, Any]
    ) -> None:
        upload_less = self.resolve(
            state, "mlflow-artifacts:/elsewhere/model", run_id="r1", model_id="m-1"
        )
        assert (upload_less.files, upload_less.run_id, upload_less.model_id) == ([], "r1", "m-1")

    def test_unknown_run_or_model_and_bad_paths(
        self, state: AppState, logged: dict[str, Any]
    ) -> None:
        with pytest.raises(NotFound):
            self.resolve(state, f"runs:/{'0' * 32}/model")
        with pytest.raises(NotFound):
            self.resolve(state, "models:/m-missing")
        for source in (
            f"runs:/{logged['run']['info']['run_id']}/../x",
            "mlflow-artifacts:/",
            "mlflow-artifacts:/a/../b",
        ):
            with pytest.raises(InvalidArgument):
                self.resolve(state, source)
