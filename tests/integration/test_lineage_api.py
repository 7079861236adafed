"""Lineage through the native API on SQLite and PostgreSQL: recording it (append-only once
READY), refusing bad parents and cycles, walking it upstream and downstream, exporting it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from charter.api.deps import get_context
from charter.context import Actor, RequestContext
from charter.identity.grants import GrantRule
from charter.pagination import encode_token
from tests.factories.lineage import add_lineage, get_lineage, impact, lineage_path
from tests.factories.registry import create_model, create_version

SHA = "4f2a9c1e0b7d3a5f6e8c9b1a2d3e4f5a6b7c8d9e"
FULL = {
    "datasets": [
        {
            "uri": "s3://lake/fraud/train.parquet",
            "snapshot": "v3",
            "row_count": 1000,
            "schema": [{"name": "amount", "type": "double"}],
        },
        {"uri": "s3://lake/fraud/holdout.parquet", "role": "evaluation"},
    ],
    "features": [{"store": "feast-prod", "view": "card_stats", "version": "7", "features": ["n"]}],
    "code": [{"repo": "git@github.com:acme/fraud.git", "commit": SHA, "path": "train.py"}],
    "run": {"id": "run-1", "link": "https://ml.example/runs/1", "params": {"C": "1.0"}},
    "parents": [
        {"relation": "distilled_from", "external": {"name": "bert-base-uncased", "revision": "a1"}}
    ],
    "environment": {"python_version": "3.11.7", "requirements_digest": "sha256:ab12"},
    "hyperparameters": {"lr": 0.01, "epochs": 5, "optimizer": "adam", "early_stop": True},
}


def versions_of(http: TestClient, model: str, count: int, **body: Any) -> None:
    if http.get(f"/api/v1/models/{model}").status_code != 200:
        create_model(http, model)
    for _ in range(count):
        create_version(http, model, **body)


def audit_actions(http: TestClient, resource: str) -> list[str]:
    events = http.get("/api/v1/audit", params={"resource": resource}).json()["events"]
    return [e["action"] for e in events if e["action"].startswith("lineage.")]


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


class TestRecord:
    def test_every_section_is_recorded_and_read_back(self, http: TestClient) -> None:
        versions_of(http, "fraud", 1)
        recorded = add_lineage(http, "fraud/1", **FULL)
        assert recorded == get_lineage(http, "fraud/1")
        train, holdout = recorded["datasets"]
        assert (train["role"], train["snapshot"], train["row_count"]) == ("training", "v3", 1000)
        assert train["schema"] == [{"name": "amount", "type": "double", "description": None}]
        assert (holdout["role"], holdout["snapshot"]) == ("evaluation", None)
        assert recorded["code"][0]["commit"] == SHA
        assert recorded["features"][0]["view"] == "card_stats"
        assert recorded["run"]["params"] == {"C": "1.0"}
        assert recorded["parents"][0]["external"]["name"] == "bert-base-uncased"
        assert recorded["hyperparameters"] == FULL["hyperparameters"]  # types kept
        assert recorded["environment"]["python_version"] == "3.11.7"
        assert train["recorded_by"] == "local"
        assert train["recorded_at"].endswith("Z")
        assert audit_actions(http, "fraud/1") == ["lineage.add"]

    def test_repeating_what_is_recorded_changes_nothing(self, http: TestClient) -> None:
        versions_of(http, "fraud", 1)
        first = add_lineage(http, "fraud/1", **FULL)
        assert add_lineage(http, "fraud/1", **FULL) == first
        assert audit_actions(http, "fraud/1") == ["lineage.add"]

    def test_a_version_by_alias(self, http: TestClient) -> None:
        versions_of(http, "fraud", 2)
        http.put("/api/v1/models/fraud/aliases/champion", json={"version": 2})
        add_lineage(http, "fraud/@champion", hyperparameters={"lr": 1})
        assert get_lineage(http, "fraud/2")["hyperparameters"] == {"lr": 1}


class TestAppendOnly:
    def test_a_ready_version_takes_additions(self, http: TestClient) -> None:
        versions_of(http, "fraud", 1)
        add_lineage(http, "fraud/1", datasets=[{"uri": "s3://a"}], hyperparameters={"lr": 1})
        # New items, and a detail that was absent (row_count), are additions.
        after = add_lineage(
            http,
            "fraud/1",
            datasets=[{"uri": "s3://a", "row_count": 5}, {"uri": "s3://b"}],
            hyperparameters={"epochs": 3},
        )
        assert [(d["uri"], d["row_count"]) for d in after["datasets"]] == [
            ("s3://a", 5),
            ("s3://b", None),
        ]
        assert after["hyperparameters"] == {"epochs": 3, "lr": 1}
        assert audit_actions(http, "fraud/1") == ["lineage.add", "lineage.add"]

    @pytest.mark.parametrize(
        ("change", "named"),
        [
            ({"hyperparameters": {"lr": 2}}, "hyperparameter lr"),
            ({"datasets": [{"uri": "s3://a", "row_count": 6}]}, "training dataset s3://a"),
            ({"run": {"id": "run-2"}}, "run is already recorded"),
            ({"run": {"id": "run-1", "params": {"C": "9"}}}, "run param C"),
            ({"environment": {"python_version": "3.12"}}, "environment python_version"),
        ],
    )
    def test_a_ready_version_refuses_changes_and_keeps_what_it_had(
        self, http: TestClient, change: dict[str, Any], named: str
    ) -> None:
        versions_of(http, "fraud", 1)
        before = add_lineage(
            http,
            "fraud/1",
            datasets=[{"uri": "s3://a", "row_count": 5}],
            run={"id": "run-1", "params": {"C": "1"}},
            environment={"python_version": "3.11"},
            hyperparameters={"lr": 1},
        )
        # The refused change comes with an addition: neither may be written.
        body = {**change, "code": [{"commit": SHA}]}
        refused = error(http.post(lineage_path("fraud/1"), json=body), 409)
        assert refused["error_code"] == "RESOURCE_CONFLICT"
        assert named in refused["message"]
        assert "append-only" in refused["message"]
        assert get_lineage(http, "fraud/1") == before
        assert audit_actions(http, "fraud/1") == ["lineage.add"]

    def test_a_ready_version_cannot_be_replaced(self, http: TestClient) -> None:
        versions_of(http, "fraud", 1)
        before = add_lineage(http, "fraud/1", hyperparameters={"lr": 1})
        refused = error(http.put(lineage_path("fraud/1"), json={}), 409)
        assert "cannot be rewritten" in refused["message"]
        assert "READY" in refused["message"]
        assert get_lineage(http, "fraud/1") == before

    def test_a_pending_version_can_be_changed_and_replaced(self, http: TestClient) -> None:
        versions_of(http, "fraud", 1, source=None)
        assert get_lineage(http, "fraud/1")["status"] == "PENDING_REGISTRATION"
        add_lineage(http, "fraud/1", run={"id": "r1"}, hyperparameters={"lr": 1})
        changed = add_lineage(http, "fraud/1", run={"id": "r2"}, hyperparameters={"lr": 2})
        assert (changed["run"]["id"], changed["hyperparameters"]) == ("r2", {"lr": 2})
        replaced = http.put(lineage_path("fraud/1"), json={"code": [{"commit": SHA}]})
        assert replaced.status_code == 200, replaced.text
        body = replaced.json()
        assert (body["run"], body["hyperparameters"], len(body["code"])) == (None, {}, 1)
        assert audit_actions(http, "fraud/1")[0] == "lineage.replace"  # newest first


class TestBadInput:
    @pytest.mark.parametrize(
        ("ref", "problem"),
        [
            ("ghost/1", "registered model 'ghost' does not exist"),
            ("base/9", "has no version 9"),
            ("base@nobody", "has no version @nobody"),
            ("base", "is not a version reference"),
        ],
    )
    def test_a_parent_that_does_not_exist_is_refused_and_nothing_is_written(
        self, http: TestClient, ref: str, problem: str
    ) -> None:
        versions_of(http, "base", 1)
        versions_of(http, "fraud", 1)
        body = {"datasets": [{"uri": "s3://a"}], "parents": [{"version": ref}]}
        refused = error(http.post(lineage_path("fraud/1"), json=body), 400)
        assert refused["error_code"] == "INVALID_PARAMETER_VALUE"
        assert repr(ref) in refused["message"]
        assert problem in refused["message"]
        assert get_lineage(http, "fraud/1")["datasets"] == []
        assert audit_actions(http, "fraud/1") == []

    def test_cycles_are_refused_with_the_cycle_named(self, http: TestClient) -> None:
        versions_of(http, "a", 1)
        versions_of(http, "b", 1)
        versions_of(http, "c", 1)
        add_lineage(http, "b/1", parents=[{"version": "a/1"}])
        add_lineage(http, "c/1", parents=[{"version": "b/1", "relation": "distilled_from"}])
        body = {"hyperparameters": {"x": 1}, "parents": [{"version": "c/1"}]}
        refused = error(http.post(lineage_path("a/1"), json=body), 400)
        assert "cycle" in refused["message"]
        assert "a/1 -> c/1 -> b/1 -> a/1" in refused["message"]
        assert refused["details"]["cycle"] == ["a/1", "c/1", "b/1", "a/1"]
        assert get_lineage(http, "a/1")["hyperparameters"] == {}

    def test_a_version_cannot_be_its_own_parent(self, http: TestClient) -> None:
        versions_of(http, "a", 1)
        refused = error(http.post(lineage_path("a/1"), json={"parents": [{"version": "a/1"}]}), 400)
        assert "a/1 -> a/1" in refused["message"]

    @pytest.mark.parametrize(
        ("body", "named"),
        [
            ({"code": [{"commit": "not-a-sha!"}]}, "code[0].commit"),
            ({"parents": [{"version": "a/1", "external": {"name": "x"}}]}, "exactly one"),
            ({"parents": [{}]}, "exactly one"),
            ({"datasets": [{"uri": "s3://a", "role": "scratch"}]}, "datasets.0.role"),
            ({"datasets": [{"uri": "s3://a", "row_count": -1}]}, "datasets.0.row_count"),
            ({"datasets": [{"uri": "x" * 1025}]}, "datasets.0.uri"),
            ({"lineage": {}}, "lineage"),
            ({"hyperparameters": {"": 1}}, "hyperparameters key"),
        ],
    )
    def test_malformed_lineage_is_refused_naming_the_field(
        self, http: TestClient, body: dict[str, Any], named: str
    ) -> None:
        versions_of(http, "a", 1)
        refused = error(http.post(lineage_path("a/1"), json=body), 400)
        assert named in refused["message"]

    def test_lineage_of_a_missing_version_is_not_found(self, http: TestClient) -> None:
        versions_of(http, "a", 1)
        assert http.get(lineage_path("a/5")).status_code == 404
        assert http.post(lineage_path("a/5"), json={}).status_code == 404


class TestUpstream:
    def test_everything_a_version_depends_on_transitively(self, http: TestClient) -> None:
        for model in ("base", "tuned", "small"):
            versions_of(http, model, 1)
        add_lineage(http, "base/1", datasets=[{"uri": "s3://corpus"}])
        add_lineage(
            http, "tuned/1", datasets=[{"uri": "s3://fraud"}], parents=[{"version": "base/1"}]
        )
        add_lineage(
            http,
            "small/1",
            code=[{"commit": SHA}],
            parents=[{"version": "tuned/1", "relation": "distilled_from"}],
        )
        graph = http.get(f"{lineage_path('small/1')}/upstream").json()
        nodes = [(n["depth"], n["lineage"]["model"]) for n in graph["nodes"]]
        assert nodes == [(0, "small"), (1, "tuned"), (2, "base")]
        assert [d["uri"] for d in graph["nodes"][2]["lineage"]["datasets"]] == ["s3://corpus"]
        edges = [(e["child"]["model"], e["parent"]["model"], e["relation"]) for e in graph["edges"]]
        assert sorted(edges) == [
            ("small", "tuned", "distilled_from"),
            ("tuned", "base", "fine_tuned_from"),
        ]
        assert graph["truncated"] is False
        cut = http.get(f"{lineage_path('small/1')}/upstream", params={"max_depth": 1}).json()
        assert [n["lineage"]["model"] for n in cut["nodes"]] == ["small", "tuned"]
        assert cut["truncated"] is True

    def test_a_parent_of_a_model_the_caller_may_not_read_is_left_out(
        self, app: FastAPI, http: TestClient
    ) -> None:
        for model in ("secret-base", "tuned", "small"):
            versions_of(http, model, 1)
        add_lineage(http, "tuned/1", parents=[{"version": "secret-base/1"}])
        add_lineage(http, "small/1", parents=[{"version": "tuned/1"}])
        ids = {m: http.get(f"/api/v1/models/{m}").json()["id"] for m in ("tuned", "small")}
        grants = tuple(
            GrantRule("user", "rita", "reader", "model", model_id=i) for i in ids.values()
        )
        ctx = RequestContext(actor=Actor(name="rita"), governed=True, grants=grants)
        app.dependency_overrides[get_context] = lambda: ctx
        try:
            assert get_lineage(http, "tuned/1")["parents"] == []
            graph = http.get(f"{lineage_path('small/1')}/upstream").json()
            assert [n["lineage"]["model"] for n in graph["nodes"]] == ["small", "tuned"]
            assert "secret-base" not in json.dumps(graph)
        finally:
            app.dependency_overrides.clear()
        # Whoever may read it still sees the whole graph.
        assert get_lineage(http, "tuned/1")["parents"][0]["version"]["model"] == "secret-base"


class TestImpact:
    @pytest.fixture
    def fleet(self, http: TestClient) -> None:
        """a/1 and a/2 trained on lake@v1 and lake@v2, b/1 fine-tuned from a/1, c/1 distilled
        from b/1; a/2 is champion, b/1 in Production, c/1 Archived."""
        versions_of(http, "a", 2)
        versions_of(http, "b", 1)
        versions_of(http, "c", 1)
        versions_of(http, "other", 1)
        feature = {"store": "feast", "view": "stats", "version": "1"}
        add_lineage(
            http,
            "a/1",
            datasets=[{"uri": "s3://lake", "snapshot": "v1"}],
            code=[{"repo": "https://github.com/acme/fraud", "commit": SHA}],
            features=[feature],
        )
        add_lineage(
            http,
            "a/2",
            datasets=[{"uri": "s3://lake", "snapshot": "v2"}],
            features=[{**feature, "version": "2"}],
        )
        add_lineage(http, "b/1", parents=[{"version": "a/1"}])
        add_lineage(http, "c/1", parents=[{"version": "b/1", "relation": "distilled_from"}])
        add_lineage(http, "other/1", datasets=[{"uri": "s3://elsewhere"}])
        http.put("/api/v1/models/a/aliases/champion", json={"version": 2})
        http.post("/api/v1/models/b/versions/1/stage", json={"stage": "Production"})
        http.post("/api/v1/models/c/versions/1/stage", json={"stage": "Archived"})

    def test_by_dataset_any_snapshot_or_one(self, http: TestClient, fleet: None) -> None:
        assert impact(http, dataset="s3://lake") == ["a/1", "a/2", "b/1", "c/1"]
        assert impact(http, dataset="s3://lake", snapshot="v1") == ["a/1", "b/1", "c/1"]
        assert impact(http, dataset="s3://lake", snapshot="v1", transitive="false") == ["a/1"]
        assert impact(http, dataset="s3://lake", live_only="true") == ["a/2", "b/1"]
        assert impact(http, dataset="s3://nowhere") == []

    def test_by_commit_in_any_spelling_of_the_repository(
        self, http: TestClient, fleet: None
    ) -> None:
        assert impact(http, commit=SHA) == ["a/1", "b/1", "c/1"]
        assert impact(http, commit=SHA.upper(), repo="git@github.com:acme/fraud.git") == [
            "a/1",
            "b/1",
            "c/1",
        ]
        assert impact(http, commit=SHA, repo="https://github.com/acme/other") == []
        assert impact(http, commit=SHA, live_only="true") == ["b/1"]

    def test_by_feature_view(self, http: TestClient, fleet: None) -> None:
        assert impact(http, feature="stats") == ["a/1", "a/2", "b/1", "c/1"]
        assert impact(http, feature="stats", feature_version="2") == ["a/2"]
        assert impact(http, feature="stats", feature_store="other-store") == []

    def test_by_parent_version_transitively(self, http: TestClient, fleet: None) -> None:
        assert impact(http, parent="a/1") == ["b/1", "c/1"]
        assert impact(http, parent="a/1", transitive="false") == ["b/1"]
        assert impact(http, parent="b/Production") == ["c/1"]
        assert impact(http, parent="a/1", live_only="true") == ["b/1"]

    def test_answers_say_which_versions_are_live_and_direct(
        self, http: TestClient, fleet: None
    ) -> None:
        body = http.get("/api/v1/lineage/impact", params={"dataset": "s3://lake"}).json()
        rows = {
            f"{v['model']}/{v['version']}": (v["live"], v["direct"], v["aliases"], v["stage"])
            for v in body["versions"]
        }
        assert rows == {
            "a/1": (False, True, [], "None"),
            "a/2": (True, True, ["champion"], "None"),
            "b/1": (True, False, [], "Production"),
            "c/1": (False, False, [], "Archived"),
        }

    def test_pages_follow_each_other_and_deleted_versions_are_left_out(
        self, http: TestClient, fleet: None
    ) -> None:
        assert impact(http, dataset="s3://lake", max_results=1) == ["a/1", "a/2", "b/1", "c/1"]
        first = http.get(
            "/api/v1/lineage/impact", params={"dataset": "s3://lake", "max_results": 3}
        )
        assert len(first.json()["versions"]) == 3
        assert first.json()["next_page_token"]
        assert http.delete("/api/v1/models/c/versions/1").status_code == 204
        assert impact(http, dataset="s3://lake", max_results=2) == ["a/1", "a/2", "b/1"]

    @pytest.mark.parametrize(
        ("params", "named"),
        [
            ({}, "exactly one of dataset, commit, feature or parent"),
            ({"dataset": "s3://a", "commit": SHA}, "got dataset, commit"),
            ({"snapshot": "v1", "parent": "a/1"}, "snapshot needs a dataset"),
            ({"commit": "xyz"}, "not a commit SHA"),
            ({"parent": "ghost/1"}, "does not exist"),
            ({"dataset": "s3://a", "max_results": 0}, "max_results"),
            ({"dataset": "s3://a", "page_token": "garbage!"}, "page_token"),
            (
                {"dataset": "s3://a", "page_token": encode_token("lineage-impact:id", ["x"])},
                "page_token",
            ),
            ({"dataset": "s3://a", "page_token": encode_token("other:id", [1])}, "page_token"),
        ],
    )
    def test_bad_queries_are_refused(
        self, http: TestClient, params: dict[str, Any], named: str
    ) -> None:
        refused = error(http.get("/api/v1/lineage/impact", params=params), 400)
        assert named in refused["message"]


class TestOpenLineage:
    def test_a_version_exports_as_one_run_event(self, http: TestClient) -> None:
        versions_of(http, "base", 1)
        versions_of(http, "fraud", 1)
        add_lineage(
            http, "fraud/1", **{**FULL, "parents": [*FULL["parents"], {"version": "base/1"}]}
        )
        event = http.get(f"{lineage_path('fraud/1')}/openlineage").json()
        assert event["eventType"] == "COMPLETE"
        assert event["schemaURL"].endswith("/OpenLineage.json#/$defs/RunEvent")
        assert event["job"] == {
            "namespace": "charter",
            "name": "fraud.training",
            "facets": event["job"]["facets"],
        }
        assert event["job"]["facets"]["sourceCodeLocation"]["version"] == SHA
        names = [(i["namespace"], i["name"]) for i in event["inputs"]]
        assert names == [
            ("s3://lake", "fraud/train.parquet"),
            ("s3://lake", "fraud/holdout.parquet"),
            ("feast-prod", "card_stats"),
            ("huggingface", "bert-base-uncased"),
            ("charter", "base"),
        ]
        assert event["outputs"][0]["name"] == "fraud"
        again = http.get(f"{lineage_path('fraud/1')}/openlineage").json()
        assert again["run"]["runId"] == event["run"]["runId"]  # deterministic
        other = http.get(f"{lineage_path('fraud/1')}/openlineage", params={"namespace": "prod"})
        assert other.json()["job"]["namespace"] == "prod"

    def test_a_model_exports_one_event_per_version_a_page_at_a_time(self, http: TestClient) -> None:
        versions_of(http, "fraud", 3)
        path = "/api/v1/models/fraud/lineage/openlineage"
        first = http.get(path, params={"max_results": 2}).json()
        rest = http.get(path, params={"page_token": first["next_page_token"]}).json()
        events = first["events"] + rest["events"]
        assert rest["next_page_token"] is None
        versions = [e["outputs"][0]["facets"]["version"]["datasetVersion"] for e in events]
        assert versions == ["1", "2", "3"]
        assert len({e["run"]["runId"] for e in events}) == 3
        assert http.get("/api/v1/models/ghost/lineage/openlineage").status_code == 404
