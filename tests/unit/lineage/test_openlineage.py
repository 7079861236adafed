"""A version's lineage as an OpenLineage RunEvent, checked against the spec's required fields
(OpenLineage 2-0-2 and the facets used)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from charter.lineage import openlineage
from charter.lineage.schemas import (
    CodeRead,
    DatasetRead,
    ExternalModelRead,
    FeatureRead,
    LineageRead,
    ParentRead,
    RunRead,
    SchemaField,
    VersionKey,
)
from charter.registry.views import VersionView

AT = 1_780_000_000_000
RECORDED = {"recorded_at": AT, "recorded_by": "ana"}
EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}
# Fields each standard facet requires beyond _producer and _schemaURL.
FACET_FIELDS = {
    "jobType": ("processingType", "integration"),
    "sourceCodeLocation": ("type", "url"),
    "version": ("datasetVersion",),
    "schema": (),
    "dataSource": (),
    "dataQualityMetrics": ("columnMetrics",),
}


def version(**fields: Any) -> VersionView:
    values: dict[str, Any] = {
        "id": 42,
        "model_id": 7,
        "model": "fraud",
        "version": 3,
        "status": "READY",
        "status_message": None,
        "stage": "Production",
        "source": "s3://models/fraud/3",
        "run_id": "run-1",
        "run_link": None,
        "description": None,
        "created_by": "ana",
        "manifest_digest": "sha256:" + "ab" * 32,
        "file_count": 1,
        "total_size": 10,
        "created_at": AT,
        "updated_at": AT,
        "aliases": ["champion"],
    }
    return VersionView(**{**values, **fields})


def lineage(**fields: Any) -> LineageRead:
    values: dict[str, Any] = {
        "model": "fraud",
        "version": 3,
        "status": "READY",
        "datasets": [
            DatasetRead(
                role="training",
                uri="s3://lake/fraud/train.parquet",
                snapshot="v3",
                name="train",
                row_count=1000,
                schema=[SchemaField(name="amount", type="double")],
                **RECORDED,
            ),
            DatasetRead(
                role="evaluation",
                uri="warehouse.fraud.holdout",
                snapshot=None,
                name=None,
                row_count=None,
                schema=None,
                **RECORDED,
            ),
        ],
        "features": [
            FeatureRead(store="feast", view="card_stats", version="7", features=["n"], **RECORDED)
        ],
        "code": [
            CodeRead(
                repo="git@github.com:acme/fraud.git",
                commit="4f2a9c1",
                path="train.py",
                dirty=False,
                **RECORDED,
            )
        ],
        "run": RunRead(
            id="run-1", link=None, tracking="mlflow", params={"C": "1"}, metrics={}, **RECORDED
        ),
        "logged_model": None,
        "parents": [
            ParentRead(
                relation="fine_tuned_from",
                version=VersionKey(id=1, model="base", version=2),
                external=None,
                **RECORDED,
            ),
            ParentRead(
                relation="distilled_from",
                version=None,
                external=ExternalModelRead(source="huggingface", name="bert-base", revision="a1"),
                **RECORDED,
            ),
        ],
        "environment": {"python_version": "3.11.7"},
        "hyperparameters": {"lr": 0.01},
    }
    return LineageRead(**{**values, **fields})


def is_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(urlsplit(value).scheme)


def facet_problems(where: str, facets: dict[str, Any]) -> list[str]:
    problems = []
    for name, facet in facets.items():
        if not is_uri(facet.get("_producer")) or not is_uri(facet.get("_schemaURL")):
            problems.append(f"{where}.{name}: _producer and _schemaURL must be URIs")
        problems += [
            f"{where}.{name}: missing {field}"
            for field in FACET_FIELDS.get(name, ())
            if field not in facet
        ]
    return problems


def dataset_problems(where: str, dataset: dict[str, Any]) -> list[str]:
    problems = [
        f"{where}: {field} must be a non-empty string"
        for field in ("namespace", "name")
        if not isinstance(dataset.get(field), str) or not dataset[field]
    ]
    problems += facet_problems(f"{where}.facets", dataset.get("facets", {}))
    problems += facet_problems(f"{where}.inputFacets", dataset.get("inputFacets", {}))
    schema = dataset.get("facets", {}).get("schema")
    if schema is not None and not all("name" in f for f in schema["fields"]):
        problems.append(f"{where}: a schema field has no name")
    return problems


def spec_problems(event: dict[str, Any]) -> list[str]:
    """What OpenLineage 2-0-2 requires of a RunEvent, and of the standard facets used."""
    problems = [
        f"missing {f}"
        for f in ("eventTime", "producer", "schemaURL", "run", "job")
        if f not in event
    ]
    if problems:
        return problems
    if event.get("eventType") not in EVENT_TYPES:
        problems.append("eventType is not one of the spec's")
    datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    if not is_uri(event["producer"]) or not is_uri(event["schemaURL"]):
        problems.append("producer and schemaURL must be URIs")
    uuid.UUID(event["run"]["runId"])
    problems += facet_problems("run.facets", event["run"].get("facets", {}))
    job = event["job"]
    if not job.get("namespace") or not job.get("name"):
        problems.append("job needs a namespace and a name")
    problems += facet_problems("job.facets", job.get("facets", {}))
    for key in ("inputs", "outputs"):
        for index, dataset in enumerate(event.get(key, [])):
            problems += dataset_problems(f"{key}[{index}]", dataset)
    return problems


class TestRunEvent:
    def test_meets_the_spec(self) -> None:
        event = openlineage.run_event(version(), lineage(), "charter")
        assert spec_problems(event) == []
        assert event["eventType"] == "COMPLETE"
        assert event["eventTime"] == "2026-05-28T20:26:40.000Z"
        assert (
            event["schemaURL"]
            == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
        )

    def test_a_version_without_lineage_meets_it_too(self) -> None:
        empty = lineage(datasets=[], features=[], code=[], run=None, parents=[])
        event = openlineage.run_event(version(manifest_digest=None), empty, "charter")
        assert spec_problems(event) == []
        assert event["inputs"] == []
        assert "sourceCodeLocation" not in event["job"]["facets"]

    def test_the_run_id_is_a_uuid_derived_from_the_version(self) -> None:
        first = openlineage.run_event(version(), lineage(), "charter")["run"]["runId"]
        assert openlineage.run_event(version(), lineage(), "charter")["run"]["runId"] == first
        assert openlineage.run_event(version(id=43), lineage(), "charter")["run"]["runId"] != first
        assert openlineage.run_event(version(), lineage(), "prod")["run"]["runId"] != first

    def test_inputs_are_datasets_features_and_parents_output_the_version(self) -> None:
        event = openlineage.run_event(version(), lineage(), "charter")
        inputs = {(i["namespace"], i["name"]): i for i in event["inputs"]}
        assert list(inputs) == [
            ("s3://lake", "fraud/train.parquet"),
            ("charter", "warehouse.fraud.holdout"),
            ("feast", "card_stats"),
            ("charter", "base"),
            ("huggingface", "bert-base"),
        ]
        train = inputs[("s3://lake", "fraud/train.parquet")]
        assert train["facets"]["version"]["datasetVersion"] == "v3"
        assert train["facets"]["schema"]["fields"] == [{"name": "amount", "type": "double"}]
        assert train["inputFacets"]["dataQualityMetrics"]["rowCount"] == 1000
        assert inputs[("charter", "base")]["facets"]["version"]["datasetVersion"] == "2"
        role = inputs[("huggingface", "bert-base")]["inputFacets"]["charter_input"]["role"]
        assert role == "distilled_from"
        (output,) = event["outputs"]
        assert (output["namespace"], output["name"]) == ("charter", "fraud")
        assert output["facets"]["version"]["datasetVersion"] == "3"

    def test_code_becomes_the_jobs_source_location(self) -> None:
        job = openlineage.run_event(version(), lineage(), "charter")["job"]
        assert job["name"] == "fraud.training"
        location = job["facets"]["sourceCodeLocation"]
        assert location["url"] == "https://github.com/acme/fraud"
        assert (location["version"], location["path"]) == ("4f2a9c1", "train.py")


class TestDatasetIdentity:
    @pytest.mark.parametrize(
        ("uri", "expected"),
        [
            ("s3://bucket/a/b.parquet", ("s3://bucket", "a/b.parquet")),
            ("gs://bucket/a", ("gs://bucket", "a")),
            ("hdfs://nn:8020/data/x", ("hdfs://nn:8020", "/data/x")),
            (
                "postgres://db:5432/shop.public.orders",
                ("postgres://db:5432", "/shop.public.orders"),
            ),
            ("file:/tmp/x.csv", ("file", "/tmp/x.csv")),
            ("mlflow-dataset:numpy/train", ("mlflow-dataset", "numpy/train")),
            ("warehouse.sales.orders", ("ns", "warehouse.sales.orders")),
        ],
    )
    def test_openlineage_naming(self, uri: str, expected: tuple[str, str]) -> None:
        assert openlineage.dataset_identity(uri, "ns") == expected
