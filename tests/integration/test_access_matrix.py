"""Every endpoint x every role: allowed, or refused with 401/403 (or 404 when the model is
hidden from the caller), with authentication on.

``MATRIX`` maps each route of the app to the least role that may call it and one request to
make; a route without an entry fails ``test_every_route_has_an_entry``. For each route, every
caller below the minimum is refused and leaves nothing changed; the first caller at the
minimum gets ``ok``; every caller above it is not refused. In full on SQLite, a sample on
PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Mount
from starlette.testclient import TestClient

from charter.api.app import create_app
from charter.api.state import AppState
from charter.audit import AuditEventView, AuditFilter, AuditService
from charter.config import Settings
from charter.context import SYSTEM
from tests.integration.access_world import CALLERS, ROLES, World, build

PUBLIC, USER = "public", "user"  # no credentials at all; any account, even without a grant
LEVELS = ("public", "user", *ROLES)
ML, ART = "/api/2.0/mlflow", "/api/2.0/mlflow-artifacts"
M = "/api/v1/models/{name}"
V = M + "/versions/{version}"


@dataclass(frozen=True)
class Call:
    minimum: str
    url: str  # formatted with the world's ids and ``who``, the caller's name
    json: Any = None
    content: bytes | None = None
    ok: int = 200  # the status of the first caller at the minimum
    hidden: bool = True  # about model fraud: a caller who may not read it gets 404


def tracking(minimum: str, url: str, json: Any = None, **kw: Any) -> Call:
    return Call(minimum, url, json, hidden=False, **kw)


POLICY = "protected: {{aliases: [champion], stages: [Production]}}\napprovals: {{min: 2}}\n"
EXP = {"experiment_id": "{exp}"}
RUN = {"run_id": "{run}"}
MATRIX: dict[tuple[str, str], Call] = {
    # -- open to all, and the caller itself --------------------------------------------------
    ("GET", "/api/v1/openapi.json"): Call(PUBLIC, "/api/v1/openapi.json", hidden=False),
    ("GET", "/docs"): Call(PUBLIC, "/docs", hidden=False),
    ("GET", "/docs/oauth2-redirect"): Call(PUBLIC, "/docs/oauth2-redirect", hidden=False),
    ("GET", "/health"): Call(PUBLIC, "/health", hidden=False),
    ("GET", "/ready"): Call(PUBLIC, "/ready", hidden=False),
    ("GET", "/metrics"): Call(PUBLIC, "/metrics", hidden=False),
    ("GET", "/auth/login"): Call(PUBLIC, "/auth/login", ok=404, hidden=False),  # no SSO here
    ("GET", "/auth/callback"): Call(PUBLIC, "/auth/callback", ok=404, hidden=False),
    ("POST", "/auth/logout"): Call(PUBLIC, "/auth/logout", ok=204, hidden=False),
    ("GET", "/api/v1/audit/public-key"): Call(PUBLIC, "/api/v1/audit/public-key", hidden=False),
    ("GET", "/api/v1/me"): Call(USER, "/api/v1/me", hidden=False),
    ("POST", "/api/v1/tokens"): Call(USER, "/api/v1/tokens", {}, ok=201, hidden=False),
    ("GET", "/api/v1/tokens"): Call(USER, "/api/v1/tokens", hidden=False),
    ("DELETE", "/api/v1/tokens/{token_id}"): Call(
        USER, "/api/v1/tokens/{own_token}", ok=204, hidden=False
    ),
    # Lists answer everyone, with only what the caller may read (test_access_attacks.py).
    ("GET", "/api/v1/models"): Call(USER, "/api/v1/models", hidden=False),
    ("GET", "/api/v1/versions"): Call(USER, "/api/v1/versions", hidden=False),
    ("GET", "/api/v1/promotions"): Call(USER, "/api/v1/promotions", hidden=False),
    ("GET", f"{ML}/registered-models/search"): Call(USER, f"{ML}/registered-models/search"),
    ("GET", f"{ML}/model-versions/search"): Call(USER, f"{ML}/model-versions/search"),
    # -- the native registry -----------------------------------------------------------------
    ("POST", "/api/v1/models"): Call(
        "contributor", "/api/v1/models", {"name": "m-{who}"}, ok=201, hidden=False
    ),
    ("GET", M): Call("reader", "/api/v1/models/fraud"),
    ("PATCH", M): Call("contributor", "/api/v1/models/fraud", {"description": "{who}"}),
    ("DELETE", M): Call("maintainer", "/api/v1/models/fraud", ok=204),
    ("PUT", M + "/tags/{key}"): Call("contributor", "/api/v1/models/fraud/tags/t", {"value": "x"}),
    ("DELETE", M + "/tags/{key}"): Call("contributor", "/api/v1/models/fraud/tags/team", ok=204),
    ("POST", M + "/versions"): Call(
        "contributor", "/api/v1/models/fraud/versions", {"source": "s3://b/x"}, ok=201
    ),
    ("GET", M + "/versions"): Call(USER, "/api/v1/models/fraud/versions"),
    ("GET", "/api/v1/resolve"): Call("reader", "/api/v1/resolve?ref=fraud@challenger"),
    ("GET", V): Call("reader", "/api/v1/models/fraud/versions/1"),
    ("PATCH", V): Call("contributor", "/api/v1/models/fraud/versions/1", {"description": "d"}),
    ("DELETE", V): Call("maintainer", "/api/v1/models/fraud/versions/3", ok=204),
    ("PUT", V + "/tags/{key}"): Call(
        "contributor", "/api/v1/models/fraud/versions/1/tags/t", {"value": "x"}
    ),
    ("DELETE", V + "/tags/{key}"): Call(
        "contributor", "/api/v1/models/fraud/versions/1/tags/stage", ok=204
    ),
    ("PUT", M + "/aliases/{alias}"): Call(
        "contributor", "/api/v1/models/fraud/aliases/challenger", {"version": 3}
    ),
    ("GET", M + "/aliases/{alias}"): Call("reader", "/api/v1/models/fraud/aliases/challenger"),
    ("DELETE", M + "/aliases/{alias}"): Call(
        "contributor", "/api/v1/models/fraud/aliases/challenger", ok=204
    ),
    ("POST", V + "/stage"): Call(
        "contributor", "/api/v1/models/fraud/versions/3/stage", {"stage": "Staging"}
    ),
    ("GET", M + "/history"): Call("reader", "/api/v1/models/fraud/history"),
    # -- files -------------------------------------------------------------------------------
    ("PUT", V + "/files/{path:path}"): Call(
        "contributor", "/api/v1/models/fraud/versions/2/files/{who}.bin", content=b"x", ok=201
    ),
    ("GET", V + "/files"): Call("reader", "/api/v1/models/fraud/versions/1/files"),
    ("GET", V + "/files/{path:path}"): Call(
        "reader", "/api/v1/models/fraud/versions/1/files/model.pkl"
    ),
    ("DELETE", V + "/files/{path:path}"): Call(
        "contributor", "/api/v1/models/fraud/versions/2/files/model.pkl", ok=204
    ),
    ("GET", V + "/archive"): Call("reader", "/api/v1/models/fraud/versions/1/archive"),
    ("POST", V + "/finalize"): Call("contributor", "/api/v1/models/fraud/versions/2/finalize"),
    ("POST", V + "/verify"): Call("reader", "/api/v1/models/fraud/versions/1/verify"),
    # -- provenance and integrity: lineage, scans, format, diff, signatures, model cards -------
    ("GET", V + "/lineage"): Call("reader", "/api/v1/models/fraud/versions/1/lineage"),
    ("POST", V + "/lineage"): Call(
        "contributor",
        "/api/v1/models/fraud/versions/1/lineage",
        {"hyperparameters": {"k-{who}": 1}},
    ),
    ("PUT", V + "/lineage"): Call(
        "contributor",
        "/api/v1/models/fraud/versions/2/lineage",
        {"hyperparameters": {"k": "{who}"}},
    ),
    ("GET", V + "/lineage/upstream"): Call(
        "reader", "/api/v1/models/fraud/versions/1/lineage/upstream"
    ),
    ("GET", V + "/lineage/openlineage"): Call(
        "reader", "/api/v1/models/fraud/versions/1/lineage/openlineage"
    ),
    ("GET", M + "/lineage/openlineage"): Call("reader", "/api/v1/models/fraud/lineage/openlineage"),
    # Impact answers any account, with only the versions of models it may read.
    ("GET", "/api/v1/lineage/impact"): Call(
        USER, "/api/v1/lineage/impact?dataset=s3://lake/x", hidden=False
    ),
    ("GET", V + "/scan"): Call("reader", "/api/v1/models/fraud/versions/1/scan"),
    ("POST", V + "/scan"): Call("contributor", "/api/v1/models/fraud/versions/1/scan", ok=202),
    ("GET", V + "/format"): Call("reader", "/api/v1/models/fraud/versions/1/format"),
    ("GET", V + "/diff/{other}"): Call("reader", "/api/v1/models/fraud/versions/1/diff/3"),
    ("GET", "/api/v1/diff"): Call("reader", "/api/v1/diff?a=fraud/1&b=fraud/3"),
    ("GET", V + "/signatures"): Call("reader", "/api/v1/models/fraud/versions/1/signatures"),
    # The role is checked before the bundle: a contributor gets as far as its (bad) key.
    ("POST", V + "/signatures"): Call(
        "contributor",
        "/api/v1/models/fraud/versions/1/signatures",
        {"bundle": "{{}}", "public_key": "x"},
        ok=400,
    ),
    ("POST", V + "/signatures/verify"): Call(
        "reader", "/api/v1/models/fraud/versions/1/signatures/verify"
    ),
    ("GET", V + "/card"): Call("reader", "/api/v1/models/fraud/versions/1/card"),
    ("GET", V + "/card-fields"): Call("reader", "/api/v1/models/fraud/versions/1/card-fields"),
    ("PATCH", V + "/card-fields"): Call(
        "contributor",
        "/api/v1/models/fraud/versions/1/card-fields",
        {"intended_use": "scoring, by {who}"},
    ),
    ("GET", M + "/card-fields"): Call("reader", "/api/v1/models/fraud/card-fields"),
    ("PATCH", M + "/card-fields"): Call(
        "contributor", "/api/v1/models/fraud/card-fields", {"limitations": "by {who}"}
    ),
    # -- promotions and policies -------------------------------------------------------------
    ("POST", M + "/promotions"): Call(
        "contributor",
        "/api/v1/models/fraud/promotions",
        {"version": 3, "alias": "champion", "justification": "j"},
        ok=201,
    ),
    ("POST", M + "/promotions/force"): Call(
        "admin",
        "/api/v1/models/fraud/promotions/force",
        {"version": 3, "alias": "champion", "reason": "incident 42"},
        ok=201,
    ),
    ("GET", "/api/v1/promotions/{request_id}"): Call("reader", "/api/v1/promotions/{request}"),
    ("POST", "/api/v1/promotions/{request_id}/approve"): Call(
        "approver", "/api/v1/promotions/{request}/approve", {"comment": "ok"}
    ),
    ("POST", "/api/v1/promotions/{request_id}/reject"): Call(
        "approver", "/api/v1/promotions/{request2}/reject", {"comment": "no"}
    ),
    ("POST", "/api/v1/promotions/{request_id}/execute"): Call(
        "contributor",
        "/api/v1/promotions/{request}/execute",
        ok=409,  # no approval yet
    ),
    ("GET", M + "/policy"): Call("reader", "/api/v1/models/fraud/policy"),
    ("PUT", M + "/policy"): Call("maintainer", "/api/v1/models/fraud/policy", {"yaml": POLICY}),
    ("GET", M + "/policy/history"): Call("reader", "/api/v1/models/fraud/policy/history"),
    ("GET", "/api/v1/policy"): Call("reader", "/api/v1/policy", hidden=False),
    ("PUT", "/api/v1/policy"): Call("maintainer", "/api/v1/policy", {"yaml": POLICY}, hidden=False),
    ("GET", "/api/v1/policy/history"): Call("reader", "/api/v1/policy/history", hidden=False),
    # -- grants and the audit trail ----------------------------------------------------------
    ("GET", "/api/v1/grants"): Call("maintainer", "/api/v1/grants?model=fraud"),
    ("POST", "/api/v1/grants"): Call(
        "maintainer",
        "/api/v1/grants",
        {"principal": "x-{who}", "role": "reader", "model": "fraud"},
        ok=201,
    ),
    ("DELETE", "/api/v1/grants/{grant_id}"): Call("maintainer", "/api/v1/grants/{grant}", ok=204),
    ("GET", "/api/v1/audit"): Call("maintainer", "/api/v1/audit?model=fraud", hidden=False),
    ("GET", "/api/v1/audit/checkpoints"): Call("admin", "/api/v1/audit/checkpoints", hidden=False),
    ("POST", "/api/v1/audit/checkpoints"): Call(
        "admin", "/api/v1/audit/checkpoints", ok=201, hidden=False
    ),
    # -- the MLflow registry -----------------------------------------------------------------
    ("POST", f"{ML}/registered-models/create"): Call(
        "contributor", f"{ML}/registered-models/create", {"name": "m-{who}"}, hidden=False
    ),
    ("GET", f"{ML}/registered-models/get"): Call(
        "reader", f"{ML}/registered-models/get?name=fraud"
    ),
    ("POST", f"{ML}/registered-models/rename"): Call(
        "contributor", f"{ML}/registered-models/rename", {"name": "fraud", "new_name": "fraud2"}
    ),
    ("PATCH", f"{ML}/registered-models/update"): Call(
        "contributor", f"{ML}/registered-models/update", {"name": "fraud", "description": "d"}
    ),
    ("DELETE", f"{ML}/registered-models/delete"): Call(
        "maintainer", f"{ML}/registered-models/delete", {"name": "fraud"}
    ),
    ("GET", f"{ML}/registered-models/get-latest-versions"): Call(
        "reader", f"{ML}/registered-models/get-latest-versions?name=fraud"
    ),
    ("POST", f"{ML}/registered-models/get-latest-versions"): Call(
        "reader", f"{ML}/registered-models/get-latest-versions", {"name": "fraud"}
    ),
    ("POST", f"{ML}/registered-models/set-tag"): Call(
        "contributor",
        f"{ML}/registered-models/set-tag",
        {"name": "fraud", "key": "k", "value": "v"},
    ),
    ("DELETE", f"{ML}/registered-models/delete-tag"): Call(
        "contributor", f"{ML}/registered-models/delete-tag", {"name": "fraud", "key": "team"}
    ),
    ("POST", f"{ML}/model-versions/create"): Call(
        "contributor", f"{ML}/model-versions/create", {"name": "fraud", "source": "s3://b/y"}
    ),
    ("GET", f"{ML}/model-versions/get"): Call(
        "reader", f"{ML}/model-versions/get?name=fraud&version=1"
    ),
    ("PATCH", f"{ML}/model-versions/update"): Call(
        "contributor",
        f"{ML}/model-versions/update",
        {"name": "fraud", "version": "1", "description": "d"},
    ),
    ("DELETE", f"{ML}/model-versions/delete"): Call(
        "maintainer", f"{ML}/model-versions/delete", {"name": "fraud", "version": "3"}
    ),
    ("POST", f"{ML}/model-versions/transition-stage"): Call(
        "contributor",
        f"{ML}/model-versions/transition-stage",
        {"name": "fraud", "version": "3", "stage": "Staging", "archive_existing_versions": False},
    ),
    ("GET", f"{ML}/model-versions/get-download-uri"): Call(
        "reader", f"{ML}/model-versions/get-download-uri?name=fraud&version=3"
    ),
    ("POST", f"{ML}/model-versions/set-tag"): Call(
        "contributor",
        f"{ML}/model-versions/set-tag",
        {"name": "fraud", "version": "1", "key": "k", "value": "v"},
    ),
    ("DELETE", f"{ML}/model-versions/delete-tag"): Call(
        "contributor",
        f"{ML}/model-versions/delete-tag",
        {"name": "fraud", "version": "1", "key": "stage"},
    ),
    ("POST", f"{ML}/registered-models/alias"): Call(
        "contributor",
        f"{ML}/registered-models/alias",
        {"name": "fraud", "alias": "challenger", "version": "3"},
    ),
    ("DELETE", f"{ML}/registered-models/alias"): Call(
        "contributor", f"{ML}/registered-models/alias", {"name": "fraud", "alias": "challenger"}
    ),
    ("GET", f"{ML}/registered-models/alias"): Call(
        "reader", f"{ML}/registered-models/alias?name=fraud&alias=challenger"
    ),
    # -- MLflow tracking: the installation's roles -------------------------------------------
    ("POST", f"{ML}/experiments/create"): tracking(
        "contributor", f"{ML}/experiments/create", {"name": "e-{who}"}
    ),
    ("GET", f"{ML}/experiments/get"): tracking(
        "reader", f"{ML}/experiments/get?experiment_id={{exp}}"
    ),
    ("GET", f"{ML}/experiments/get-by-name"): tracking(
        "reader", f"{ML}/experiments/get-by-name?experiment_name=exp"
    ),
    ("POST", f"{ML}/experiments/search"): tracking("reader", f"{ML}/experiments/search", {}),
    ("POST", f"{ML}/experiments/delete"): tracking("contributor", f"{ML}/experiments/delete", EXP),
    ("POST", f"{ML}/experiments/restore"): tracking(
        "contributor", f"{ML}/experiments/restore", EXP
    ),
    ("POST", f"{ML}/experiments/update"): tracking(
        "contributor", f"{ML}/experiments/update", EXP | {"new_name": "e2-{who}"}
    ),
    ("POST", f"{ML}/experiments/set-experiment-tag"): tracking(
        "contributor", f"{ML}/experiments/set-experiment-tag", EXP | {"key": "a", "value": "b"}
    ),
    ("POST", f"{ML}/experiments/delete-experiment-tag"): tracking(
        "contributor", f"{ML}/experiments/delete-experiment-tag", EXP | {"key": "k"}
    ),
    ("POST", f"{ML}/runs/create"): tracking("contributor", f"{ML}/runs/create", EXP),
    ("GET", f"{ML}/runs/get"): tracking("reader", f"{ML}/runs/get?run_id={{run}}"),
    ("POST", f"{ML}/runs/update"): tracking(
        "contributor", f"{ML}/runs/update", RUN | {"status": "FINISHED"}
    ),
    ("POST", f"{ML}/runs/delete"): tracking("contributor", f"{ML}/runs/delete", RUN),
    ("POST", f"{ML}/runs/restore"): tracking("contributor", f"{ML}/runs/restore", RUN),
    ("POST", f"{ML}/runs/log-batch"): tracking(
        "contributor", f"{ML}/runs/log-batch", RUN | {"tags": [{"key": "b", "value": "c"}]}
    ),
    ("POST", f"{ML}/runs/log-metric"): tracking(
        "contributor",
        f"{ML}/runs/log-metric",
        RUN | {"key": "m", "value": 2.0, "timestamp": 2, "step": 1},
    ),
    ("POST", f"{ML}/runs/log-parameter"): tracking(
        "contributor", f"{ML}/runs/log-parameter", RUN | {"key": "p-{who}", "value": "1"}
    ),
    ("POST", f"{ML}/runs/set-tag"): tracking(
        "contributor", f"{ML}/runs/set-tag", RUN | {"key": "a", "value": "b"}
    ),
    ("POST", f"{ML}/runs/delete-tag"): tracking(
        "contributor", f"{ML}/runs/delete-tag", RUN | {"key": "k"}
    ),
    ("POST", f"{ML}/runs/log-inputs"): tracking(
        "contributor", f"{ML}/runs/log-inputs", RUN | {"datasets": []}
    ),
    ("POST", f"{ML}/runs/outputs"): tracking(
        "contributor", f"{ML}/runs/outputs", RUN | {"models": []}
    ),
    ("POST", f"{ML}/runs/log-model"): tracking(
        "contributor", f"{ML}/runs/log-model", RUN | {"model_json": "{{}}"}
    ),
    ("POST", f"{ML}/runs/search"): tracking(
        "reader", f"{ML}/runs/search", {"experiment_ids": ["{exp}"]}
    ),
    ("GET", f"{ML}/metrics/get-history"): tracking(
        "reader", f"{ML}/metrics/get-history?run_id={{run}}&metric_key=m"
    ),
    ("GET", f"{ML}/artifacts/list"): tracking("reader", f"{ML}/artifacts/list?run_id={{run}}"),
    ("POST", f"{ML}/logged-models"): tracking("contributor", f"{ML}/logged-models", EXP),
    ("POST", f"{ML}/logged-models/search"): tracking(
        "reader", f"{ML}/logged-models/search", {"experiment_ids": ["{exp}"]}
    ),
    ("GET", f"{ML}/logged-models/{{model_id}}"): tracking("reader", f"{ML}/logged-models/{{lm}}"),
    ("PATCH", f"{ML}/logged-models/{{model_id}}"): tracking(
        "contributor", f"{ML}/logged-models/{{lm}}", {"status": "LOGGED_MODEL_READY"}
    ),
    ("DELETE", f"{ML}/logged-models/{{model_id}}"): tracking(
        "contributor", f"{ML}/logged-models/{{lm}}"
    ),
    ("PATCH", f"{ML}/logged-models/{{model_id}}/tags"): tracking(
        "contributor", f"{ML}/logged-models/{{lm}}/tags", {"tags": [{"key": "a", "value": "b"}]}
    ),
    ("DELETE", f"{ML}/logged-models/{{model_id}}/tags/{{tag_key:path}}"): tracking(
        "contributor", f"{ML}/logged-models/{{lm}}/tags/k"
    ),
    ("POST", f"{ML}/logged-models/{{model_id}}/params"): tracking(
        "contributor",
        f"{ML}/logged-models/{{lm}}/params",
        {"params": [{"key": "p-{who}", "value": "1"}]},
    ),
    # -- MLflow artifacts --------------------------------------------------------------------
    ("GET", f"{ART}/artifacts"): tracking("reader", f"{ART}/artifacts?path={{art}}"),
    ("PUT", f"{ART}/artifacts/{{path:path}}"): tracking(
        "contributor", f"{ART}/artifacts/{{art}}/{{who}}.txt", content=b"x"
    ),
    ("GET", f"{ART}/artifacts/{{path:path}}"): tracking("reader", f"{ART}/artifacts/{{art}}/a.txt"),
    ("DELETE", f"{ART}/artifacts/{{path:path}}"): tracking(
        "contributor", f"{ART}/artifacts/{{art}}/a.txt"
    ),
    ("POST", f"{ART}/mpu/create/{{path:path}}"): tracking(
        "contributor", f"{ART}/mpu/create/{{art}}", {"path": "big.bin", "num_parts": 1}
    ),
    # The part's URL carries the secret upload id: that is its credential.
    ("PUT", f"{ART}/mpu/parts/{{upload_id}}/{{part_number}}"): tracking(
        PUBLIC, f"{ART}/mpu/parts/unknown/1", content=b"x", ok=404
    ),
    ("POST", f"{ART}/mpu/complete/{{path:path}}"): tracking(
        "contributor",
        f"{ART}/mpu/complete/{{art}}",
        {"path": "big.bin", "upload_id": "unknown", "parts": []},
        ok=404,
    ),
    ("POST", f"{ART}/mpu/abort/{{path:path}}"): tracking(
        "contributor",
        f"{ART}/mpu/abort/{{art}}",
        {"path": "big.bin", "upload_id": "unknown"},
        ok=404,
    ),
}
SAMPLE = [  # the PostgreSQL sample: one of each kind of rule
    ("POST", "/api/v1/models"),
    ("DELETE", V),
    ("PUT", M + "/aliases/{alias}"),
    ("POST", "/api/v1/promotions/{request_id}/approve"),
    ("POST", M + "/promotions/force"),
    ("PUT", M + "/policy"),
    ("POST", "/api/v1/grants"),
    ("GET", "/api/v1/audit"),
    ("POST", f"{ML}/model-versions/transition-stage"),
    ("POST", f"{ML}/runs/log-batch"),
    ("PUT", f"{ART}/artifacts/{{path:path}}"),
    ("GET", "/api/v1/me"),
]


def app_routes(app: FastAPI, prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, the MLflow ones once (not again under /ajax-api), those
    of mounted sub-applications (the MLflow API) under their mount's path."""
    found = set()
    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, FastAPI):
            found |= app_routes(route.app, prefix + route.path)
            continue
        contexts = getattr(route, "effective_route_contexts", None)
        for each in contexts() if contexts is not None else [route]:
            path = prefix + getattr(each, "path", "")
            for method in getattr(each, "methods", None) or ():
                if method != "HEAD" and not path.startswith("/ajax-api/"):
                    found.add((method, path))
    return found


@dataclass(frozen=True)
class Built:
    """A world built once on SQLite: its data directory is copied for each test."""

    data_dir: Path
    tokens: dict[str, str]
    ids: dict[str, Any]


# No background scans: their events would mix with the one event a refusal must leave.
QUIET_AUTH: dict[str, Any] = {"auth": True, "scan_workers": 0}


@pytest.fixture(scope="module")
def sqlite_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    data_dir = tmp_path_factory.mktemp("access-world") / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "charter.db")
    settings = Settings(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir}/charter.db", **QUIET_AUTH
    )
    state = AppState.open(settings)
    try:
        with TestClient(create_app(settings, state)) as http:
            world = build(http, state)
    finally:
        state.close()
    return Built(data_dir, world.tokens, world.ids)


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if backend == "sqlite":
        built: Built = request.getfixturevalue("sqlite_world")
        data_dir = tmp_path / "data"
        shutil.copytree(built.data_dir, data_dir)
        url = f"sqlite:///{data_dir}/charter.db"
        return Settings(data_dir=data_dir, database_url=url, **QUIET_AUTH)
    url = request.getfixturevalue("database_url")
    return Settings(data_dir=tmp_path / "data", database_url=url, **QUIET_AUTH)


@pytest.fixture
def world(
    backend: str, request: pytest.FixtureRequest, http: TestClient, state: AppState
) -> Iterator[World]:
    if backend == "sqlite":
        built: Built = request.getfixturevalue("sqlite_world")
        yield World(http, state, dict(built.tokens), dict(built.ids))
    else:
        yield build(http, state)


def test_every_route_has_an_entry(settings: Settings) -> None:
    routes = app_routes(create_app(settings))
    assert sorted(routes - MATRIX.keys()) == []
    assert sorted(MATRIX.keys() - routes) == []
    assert all(call.minimum in LEVELS for call in MATRIX.values())


def expected_refusal(call: Call, who: str) -> int | None:
    """The status ``who`` must get, or None when it may call."""
    rank = {"anonymous": 0, "nobody": 1, **{r: 2 + i for i, r in enumerate(ROLES)}}
    if rank[who] >= LEVELS.index(call.minimum):
        return None
    if who == "anonymous":
        return 401
    return 404 if who == "nobody" and call.hidden else 403


CASES = [pytest.param("sqlite", key, id=f"sqlite-{key[0]} {key[1]}") for key in MATRIX] + [
    pytest.param("postgresql", key, id=f"pg-{key[0]} {key[1]}", marks=pytest.mark.postgres)
    for key in SAMPLE
]


@pytest.mark.parametrize(("backend", "route"), CASES, indirect=["backend"])
def test_route(world: World, route: tuple[str, str]) -> None:
    call = MATRIX[route]
    method = route[0]
    first_allowed = True
    seen = head(world.state)
    for who in CALLERS:
        values = {**world.ids, "who": who, "own_token": world.ids.get(f"token:{who}", 0)}
        url = call.url.format(**values)
        json = _fill(call.json, values)
        response = world.call(who, method, url, json=json, content=call.content)
        refusal = expected_refusal(call, who)
        described = f"{who}: {method} {url} -> {response.status_code} {response.text[:300]}"
        if refusal is not None:
            assert response.status_code == refusal, described
            if refusal == 404:
                assert "does not exist" in response.text, described
            # Nothing changed: the one new event of the trail is the refusal itself.
            (event,) = new_events(world.state, seen)
            assert (event.outcome, event.actor) == ("denied", who), described
        elif first_allowed:
            assert response.status_code == call.ok, described
            first_allowed = False
        else:
            assert response.status_code not in (401, 403), described
        seen = head(world.state)


def head(state: AppState) -> int:
    with state.db.transaction(write=False) as session:
        return AuditService(session, SYSTEM).head()[0]


def new_events(state: AppState, after: int) -> list[AuditEventView]:
    with state.db.transaction(write=False) as session:
        page = AuditService(session, SYSTEM).search(AuditFilter(), max_results=10)
    return [e for e in page.items if e.seq > after]


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
