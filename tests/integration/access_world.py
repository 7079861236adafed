"""A small installation with authentication on, one account per role, and something of
every kind for the access tests to act on (tests/integration/test_access_*.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.context import Actor, RequestContext
from charter.identity.service import IdentityService

SETUP = RequestContext(actor=Actor(name="test-setup", kind="system", method="system"))
ROLES = ("reader", "contributor", "approver", "maintainer", "admin")
CALLERS = ("anonymous", "nobody", *ROLES)  # nobody: an account without any grant


@dataclass
class World:
    http: TestClient
    state: AppState
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, who: str, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kwargs)

    def ok(self, who: str, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(who, method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        return response.json() if response.content else None


def create_accounts(state: AppState) -> dict[str, str]:
    """An account per role (a global grant), and ``nobody`` with none; their tokens."""
    tokens = {}
    with state.db.transaction() as session:
        identity = IdentityService(session, SETUP)
        for who in ("nobody", *ROLES):
            role = None if who == "nobody" else who
            _, issued = identity.create_user(who, role=role)
            tokens[who] = issued.token
    return tokens


def build(http: TestClient, state: AppState) -> World:
    """Model ``fraud`` with v1 READY (a file, alias challenger), v2 PENDING (a file), v3 READY
    (from a source); two open promotion requests by the contributor; an experiment with a
    run, a logged model and a run artifact; a grant on fraud; a spare token per account."""
    world = World(http, state, create_accounts(state))
    a = "admin"
    world.ok(a, "POST", "/api/v1/models", 201, json={"name": "fraud", "tags": {"team": "risk"}})
    world.ok(a, "POST", "/api/v1/models/fraud/versions", 201, json={})
    world.ok(a, "PUT", "/api/v1/models/fraud/versions/1/files/model.pkl", 201, content=b"one")
    world.ok(a, "POST", "/api/v1/models/fraud/versions/1/finalize")
    world.ok(a, "PUT", "/api/v1/models/fraud/versions/1/tags/stage", json={"value": "eval"})
    world.ok(a, "POST", "/api/v1/models/fraud/versions", 201, json={})
    world.ok(a, "PUT", "/api/v1/models/fraud/versions/2/files/model.pkl", 201, content=b"two")
    world.ok(a, "POST", "/api/v1/models/fraud/versions", 201, json={"source": "s3://b/fraud"})
    world.ok(a, "PUT", "/api/v1/models/fraud/aliases/challenger", json={"version": 1})
    # The built-in policy also waits for the security scan, which this world never runs:
    # an installation policy without that rule lets the first approval execute a request.
    plain = "protected: {aliases: [champion], stages: [Production]}\napprovals: {min: 1}\n"
    world.ok(a, "PUT", "/api/v1/policy", json={"yaml": plain})
    ask = {"version": 1, "justification": "better AUC"}
    world.ids["request"] = world.ok(
        "contributor",
        "POST",
        "/api/v1/models/fraud/promotions",
        201,
        json=ask | {"alias": "champion"},
    )["id"]
    world.ids["request2"] = world.ok(
        "contributor",
        "POST",
        "/api/v1/models/fraud/promotions",
        201,
        json=ask | {"stage": "Production"},
    )["id"]
    mlflow = "/api/2.0/mlflow"
    exp = world.ok(a, "POST", f"{mlflow}/experiments/create", json={"name": "exp"})
    world.ids["exp"] = exp["experiment_id"]
    tag = {"experiment_id": world.ids["exp"], "key": "k", "value": "v"}
    world.ok(a, "POST", f"{mlflow}/experiments/set-experiment-tag", json=tag)
    run = world.ok(a, "POST", f"{mlflow}/runs/create", json={"experiment_id": world.ids["exp"]})
    world.ids["run"] = run["run"]["info"]["run_id"]
    world.ok(
        a,
        "POST",
        f"{mlflow}/runs/set-tag",
        json={"run_id": world.ids["run"], "key": "k", "value": "v"},
    )
    metric = {"run_id": world.ids["run"], "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    world.ok(a, "POST", f"{mlflow}/runs/log-metric", json=metric)
    logged = world.ok(
        a, "POST", f"{mlflow}/logged-models", json={"experiment_id": world.ids["exp"]}
    )
    world.ids["lm"] = logged["model"]["info"]["model_id"]
    tags = {"tags": [{"key": "k", "value": "v"}]}
    world.ok(a, "PATCH", f"{mlflow}/logged-models/{world.ids['lm']}/tags", json=tags)
    world.ids["art"] = f"{world.ids['exp']}/{world.ids['run']}/artifacts"
    world.ok(
        a, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{world.ids['art']}/a.txt", content=b"a"
    )
    grant = {"principal": "someone", "role": "reader", "model": "fraud"}
    world.ids["grant"] = world.ok(a, "POST", "/api/v1/grants", 201, json=grant)["id"]
    for who in ("nobody", *ROLES):
        spare = world.ok(who, "POST", "/api/v1/tokens", 201, json={"name": "spare"})
        world.ids[f"token:{who}"] = spare["id"]
    return world
