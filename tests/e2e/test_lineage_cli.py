"""``charter lineage`` against a real ``charter serve``: record, show, walk upstream, find the
impact of a dataset, a commit or a parent, export OpenLineage, and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cli import ok, ok_json, one_error_line, run
from tests.support.server import CharterServer, running_server

pytestmark = pytest.mark.e2e

SHA = "4f2a9c1e0b7d3a5f6e8c9b1a2d3e4f5a6b7c8d9e"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CharterServer]:
    data_dir = tmp_path_factory.mktemp("lineage-cli") / "data"
    with running_server(data_dir, request=request) as started:
        url = started.url
        for model in ("base", "fraud"):
            ok(url, "models", "create", model)
            ok(url, "versions", "create", model, "--source", f"s3://models/{model}")
        yield started


def refs(found: list[dict[str, object]]) -> list[str]:
    return [f"{v['model']}/{v['version']}" for v in found]


@pytest.fixture(scope="module")
def added(server: CharterServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """base/1 and fraud/1 with their lineage: every test of the module starts from it (the
    tests may run on different workers, each with its own server)."""
    url = server.url
    tmp_path = tmp_path_factory.mktemp("lineage-doc")
    ok(
        url,
        "lineage",
        "add",
        "base/1",
        "--dataset",
        "s3://lake/corpus@v1",
        "--commit",
        f"git@github.com:acme/base.git@{SHA}",
        "--feature",
        "feast:card_stats@7",
    )
    document = tmp_path / "lineage.json"
    document.write_text(json.dumps({"environment": {"python_version": "3.11.7"}}))
    added = ok_json(
        url,
        "lineage",
        "add",
        "fraud/1",
        "--parent",
        "base/1",
        "--distilled-from",
        "hf://bert-base-uncased@main",
        "--eval-dataset",
        "s3://lake/holdout",
        "--param",
        "lr=0.01",
        "--param",
        "optimizer=adam",
        "--run-id",
        "run-9",
        "--file",
        str(document),
    )
    result: dict[str, Any] = added
    return result


class TestLineageCommands:
    def test_record_show_walk_and_find_impact(
        self, server: CharterServer, added: dict[str, Any]
    ) -> None:
        url = server.url
        assert added["hyperparameters"] == {"lr": 0.01, "optimizer": "adam"}
        assert added["environment"] == {"python_version": "3.11.7"}
        assert added["run"]["id"] == "run-9"
        assert added["datasets"][0]["role"] == "evaluation"
        parents = {p["relation"]: p for p in added["parents"]}
        assert parents["fine_tuned_from"]["version"]["model"] == "base"
        assert parents["distilled_from"]["external"] == {
            "source": "huggingface",
            "name": "bert-base-uncased",
            "revision": "main",
        }
        assert ok_json(url, "lineage", "show", "base/1")["code"][0]["commit"] == SHA
        table = ok(url, "lineage", "show", "fraud/1")
        assert "fine tuned from" in table
        assert "base/1" in table

        upstream = ok_json(url, "lineage", "upstream", "fraud/1")
        assert [n["lineage"]["model"] for n in upstream["nodes"]] == ["fraud", "base"]

        assert refs(ok_json(url, "lineage", "impact", "--dataset", "s3://lake/corpus")) == [
            "base/1",
            "fraud/1",
        ]
        found = ok_json(url, "lineage", "impact", "--commit", SHA, "--direct")
        assert refs(found) == ["base/1"]
        assert refs(ok_json(url, "lineage", "impact", "--parent", "base/1")) == ["fraud/1"]
        assert ok_json(url, "lineage", "impact", "--parent", "base/1", "--live") == []
        ok(url, "alias", "set", "fraud", "champion", "1")
        live = ok_json(url, "lineage", "impact", "--feature", "card_stats", "--live")
        assert [(v["model"], v["aliases"]) for v in live] == [("fraud", ["champion"])]
        assert "fraud/1" in ok(url, "lineage", "impact", "--dataset", "s3://lake/corpus")

    def test_export_openlineage_for_a_version_and_a_model(
        self, server: CharterServer, added: dict[str, Any], tmp_path: Path
    ) -> None:
        url = server.url
        one = tmp_path / "one.jsonl"
        assert "wrote 1 OpenLineage event" in ok(
            url, "lineage", "export", "fraud/1", "--out", str(one)
        )
        (event,) = [json.loads(line) for line in one.read_text().splitlines()]
        assert (event["eventType"], event["job"]["name"]) == ("COMPLETE", "fraud.training")
        every = tmp_path / "model.jsonl"
        ok(url, "lineage", "export", "--model", "base", "--out", str(every), "--namespace", "prod")
        events = [json.loads(line) for line in every.read_text().splitlines()]
        assert [e["job"]["namespace"] for e in events] == ["prod"]

    def test_errors_are_one_line_and_nothing_changes(
        self, server: CharterServer, added: dict[str, Any]
    ) -> None:
        url = server.url
        before = ok_json(url, "lineage", "show", "base/1")
        missing = one_error_line(run(url, "lineage", "add", "base/1", "--parent", "ghost/3"))
        assert "'ghost/3' does not exist" in missing
        cycle = one_error_line(run(url, "lineage", "add", "base/1", "--parent", "fraud/1"))
        assert "base/1 -> fraud/1 -> base/1" in cycle
        # The same commit, its repository spelt another way: nothing to add, nothing refused.
        ok(url, "lineage", "add", "base/1", "--commit", f"https://github.com/acme/base@{SHA}")
        changed = one_error_line(run(url, "lineage", "add", "fraud/1", "--param", "lr=0.5"))
        assert "append-only" in changed
        assert ok_json(url, "lineage", "show", "base/1") == before
        bad = run(url, "lineage", "impact")
        assert bad.returncode == 1
        assert "exactly one of dataset, commit, feature or parent" in bad.stderr
