"""Pages of the MLflow API are written from plain data; single answers through the models.
Both must write the same JSON for the same version or model."""

from __future__ import annotations

import json

import pytest

from charter.api.mlflow.registry_schemas import (
    ModelVersionPage,
    ModelVersionRead,
    RegisteredModelRead,
    json_page,
    model_data,
    version_data,
)
from charter.registry.views import ModelView, VersionView


def version(**changes: object) -> VersionView:
    base: dict[str, object] = {
        "id": 7,
        "model_id": 3,
        "model": "fraud",
        "version": 2,
        "status": "READY",
        "status_message": None,
        "stage": "None",
        "source": "s3://bucket/model",
        "run_id": None,
        "run_link": None,
        "description": None,
        "created_by": "alice",
        "manifest_digest": None,
        "file_count": 0,
        "total_size": 0,
        "created_at": 1_700_000_000_000,
        "updated_at": 1_700_000_000_500,
    }
    base.update(changes)
    return VersionView(**base)  # type: ignore[arg-type]


VERSIONS = [
    version(),
    version(tags={"team": "risk", "a b": "ü"}, aliases=["champion", "z"], run_id="abc"),
    version(description="first", status_message="ok", run_link="http://x", source=None),
    version(status="FAILED_REGISTRATION", stage="Archived", tags={"k": ""}),
]


@pytest.mark.parametrize("view", VERSIONS)
def test_a_version_is_written_alike_both_ways(view: VersionView) -> None:
    assert version_data(view) == json.loads(ModelVersionRead.of(view).model_dump_json())


@pytest.mark.parametrize(
    "view",
    [
        ModelView(1, "fraud", None, "alice", {}, {}, None, 1, 2),
        ModelView(2, "churn", "d", "bob", {"t": "v"}, {"champion": 3, "b": 1}, 3, 1, 2),
        ModelView(3, "x", "", "carol", {}, {"a": 1}, 1, 5, 6),
    ],
)
def test_a_model_is_written_alike_both_ways(view: ModelView) -> None:
    latest = VERSIONS[:2]
    expected = json.loads(RegisteredModelRead.of(view, latest).model_dump_json())
    assert model_data(view, latest) == expected


def test_a_page_leaves_out_what_is_empty_as_the_model_does() -> None:
    items = [version_data(v) for v in VERSIONS]
    for token in (None, "next"):
        page = ModelVersionPage(
            model_versions=[ModelVersionRead.of(v) for v in VERSIONS], next_page_token=token
        )
        written = json.loads(bytes(json_page("model_versions", items, token).body))
        assert written == json.loads(page.model_dump_json())
    assert json.loads(bytes(json_page("model_versions", []).body)) == {}
