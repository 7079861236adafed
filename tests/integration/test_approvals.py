"""Promotions with policy gates, through the native API, on SQLite and PostgreSQL.

Each person acts through FastAPI's dependency override of ``get_context`` (the test seam for
"who is calling"), with governance on and a global grant of its role in the context, as
authentication loads it (tests/integration/test_access_matrix.py goes through real tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import Response
from sqlalchemy import update
from starlette.testclient import TestClient

from charter.api.deps import get_context
from charter.api.state import AppState
from charter.approvals.models import PromotionRequest
from charter.audit.schemas import AuditFilter
from charter.audit.service import AuditService
from charter.context import SYSTEM, Actor, RequestContext
from charter.db import now_ms
from charter.identity.grants import GrantRule
from tests.factories.registry import upload

CHAMPION_POLICY = """\
protected: {aliases: [champion], stages: [Production]}
rules:
  - require_tags: [training_dataset]
  - metric: auc
    op: ">="
    value: 0.85
  - better_than_holder: {metric: auc, direction: higher}
approvals: {min: 1}
"""


@dataclass
class Person:
    """Sends every request as one person."""

    http: TestClient
    app: FastAPI
    ctx: RequestContext

    def client(self) -> TestClient:
        """The test client, now acting as this person."""
        ctx = self.ctx
        self.app.dependency_overrides[get_context] = lambda: ctx
        return self.http

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.client().get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.client().post(url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        return self.client().put(url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        return self.client().delete(url, **kwargs)


@dataclass
class People:
    carol: Person  # ML engineer: creates the model and its versions
    rick: Person  # asks for promotions; an approver too, so only duties keep him off his own
    alice: Person  # approver, in ml-leads
    bob: Person  # approver
    mona: Person  # maintainer: edits policies
    ada: Person  # admin
    eve: Person  # a reader: may look, may change nothing
    local: Person  # single-user mode: governance off


@pytest.fixture
def people(app: FastAPI, http: TestClient) -> Iterator[People]:
    def person(name: str, role: str | None, *groups: str, governed: bool = True) -> Person:
        return Person(http, app, context(name, role, *groups, governed=governed))

    yield People(
        carol=person("carol", "contributor"),
        rick=person("rick", "approver"),
        alice=person("alice", "approver", "ml-leads"),
        bob=person("bob", "approver"),
        mona=person("mona", "maintainer"),
        ada=person("ada", "admin"),
        eve=person("eve", "reader"),
        local=person("local", None, governed=False),
    )
    app.dependency_overrides.clear()


def context(name: str, role: str | None, *groups: str, governed: bool = True) -> RequestContext:
    """Who calls, with a global grant of ``role`` (as authentication would load it)."""
    grants = (GrantRule("user", name, role, "global"),) if role else ()
    actor = Actor(name=name, groups=groups)
    return RequestContext(actor=actor, governed=governed, grants=grants)


def ok(response: Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code
    return body


def new_version(by: Person, auc: float = 0.9, **tags: str) -> int:
    body = {"source": "s3://bucket/fraud", "metrics": {"auc": auc}, "tags": tags}
    return int(ok(by.post("/api/v1/models/fraud/versions", json=body), 201)["version"])


def set_policy(by: Person, document: str, model: str = "fraud") -> dict[str, Any]:
    response = by.put(
        f"/api/v1/models/{model}/policy", content=document, headers={"content-type": "text/yaml"}
    )
    return ok(response)


def ask(by: Person, version: int, **target: Any) -> Response:
    target.setdefault("alias", "champion")
    body = {"version": version, "justification": "better AUC on November data", **target}
    return by.post("/api/v1/models/fraud/promotions", json=body)


def approve(by: Person, request_id: int, comment: str = "looks good") -> Response:
    return by.post(f"/api/v1/promotions/{request_id}/approve", json={"comment": comment})


def aliases(by: Person) -> dict[str, int]:
    result: dict[str, int] = ok(by.get("/api/v1/models/fraud"))["aliases"]
    return result


@pytest.fixture
def fraud(people: People) -> People:
    """Model fraud, version 1 (auc 0.9, with its dataset tag) by carol, under CHAMPION_POLICY."""
    ok(people.carol.post("/api/v1/models", json={"name": "fraud"}), 201)
    new_version(people.carol, 0.9, training_dataset="s3://data/2026-11")
    set_policy(people.mona, CHAMPION_POLICY)
    return people


class TestPromotionJourney:
    def test_request_shows_rules_then_separation_of_duties_then_approval_moves_the_alias(
        self, fraud: People
    ) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        assert request["status"] == "open"
        assert (request["policy_scope"], request["policy_version"]) == ("model", 1)
        assert request["rules_passed"] is True
        assert [(r["kind"], r["passed"]) for r in request["rules"]] == [
            ("require_tags", True),
            ("metric", True),
            ("better_than_holder", True),
        ]
        assert request["rules"][1]["seen"] == {"metrics.auc": 0.9}
        assert request["rules"][0]["seen"] == {"training_dataset": "s3://data/2026-11"}
        assert request["approvals"] == {
            "required": 1,
            "received": 0,
            "approvers": [],
            "required_groups": [],
            "missing_groups": [],
        }

        refused = error(approve(fraud.rick, request["id"]), 403, "PERMISSION_DENIED")
        assert "rick requested this promotion" in refused["message"]
        approving_carol = Person(  # carol with the approver role: only her authorship stops her
            fraud.carol.http,
            fraud.carol.app,
            context("carol", "approver"),
        )
        refused = error(approve(approving_carol, request["id"]), 403, "PERMISSION_DENIED")
        assert "carol created this version" in refused["message"]
        assert aliases(fraud.alice) == {}

        done = ok(approve(fraud.alice, request["id"], "checked the evaluation report"))
        assert done["status"] == "executed"
        assert done["closed_by"] == "alice"
        assert done["decisions"] == [
            {
                "decision": "approve",
                "decided_by": "alice",
                "groups": ["ml-leads"],
                "comment": "checked the evaluation report",
                "decided_at": done["decisions"][0]["decided_at"],
            }
        ]
        assert aliases(fraud.alice) == {"champion": 1}
        history = ok(fraud.alice.get("/api/v1/models/fraud/history"))["history"]
        assert [(h["label"], h["version"], h["started_by"]) for h in history] == [
            ("champion", 1, "alice")
        ]
        assert ok(fraud.eve.get(f"/api/v1/promotions/{request['id']}"))["status"] == "executed"
        error(approve(fraud.bob, request["id"]), 409, "RESOURCE_CONFLICT")

    def test_a_stage_promotion_archives_the_current_holder(self, fraud: People) -> None:
        first = ok(ask(fraud.rick, 1, alias=None, stage="production"), 201)
        assert (first["kind"], first["label"]) == ("stage", "Production")
        ok(approve(fraud.alice, first["id"]))
        new_version(fraud.carol, 0.95, training_dataset="s3://data/2026-12")
        second = ok(ask(fraud.rick, 2, alias=None, stage="Production", archive_existing=True), 201)
        assert second["rules"][2]["seen"] == {
            "metrics.auc": 0.95,
            "holder.version": 1,
            "holder.metrics.auc": 0.9,
        }
        ok(approve(fraud.bob, second["id"]))
        versions = ok(fraud.eve.get("/api/v1/models/fraud/versions"))["versions"]
        assert {v["version"]: v["stage"] for v in versions} == {1: "Archived", 2: "Production"}

    def test_leaving_a_protected_stage_goes_through_a_request_too(self, fraud: People) -> None:
        ok(approve(fraud.alice, ok(ask(fraud.rick, 1, alias=None, stage="Production"), 201)["id"]))
        refused = fraud.carol.post(
            "/api/v1/models/fraud/versions/1/stage", json={"stage": "Archived"}
        )
        body = error(refused, 403, "PERMISSION_DENIED")
        assert "--stage Archived" in body["message"]
        demotion = ok(ask(fraud.rick, 1, alias=None, stage="Archived"), 201)
        ok(approve(fraud.alice, demotion["id"]))
        assert ok(fraud.eve.get("/api/v1/models/fraud/versions/1"))["stage"] == "Archived"


class TestGatesAtApproval:
    def test_a_failing_gate_records_the_approval_but_moves_nothing(self, fraud: People) -> None:
        new_version(fraud.carol, 0.8)  # version 2: no dataset tag, auc below the threshold
        request = ok(ask(fraud.rick, 2), 201)
        assert request["status"] == "open"
        assert request["rules_passed"] is False

        blocked = ok(approve(fraud.alice, request["id"]))
        assert blocked["status"] == "blocked"
        assert blocked["approvals"]["received"] == 1
        failing = {r["kind"]: r["message"] for r in blocked["rules"] if not r["passed"]}
        assert failing == {
            "require_tags": "missing tags: training_dataset",
            "metric": "auc is 0.8: does not meet >= 0.85",
        }
        assert aliases(fraud.alice) == {}

        refused = error(
            fraud.rick.post(f"/api/v1/promotions/{request['id']}/execute"), 409, "POLICY_VIOLATION"
        )
        assert "missing tags: training_dataset" in refused["message"]
        assert [r["passed"] for r in refused["details"]["rules"]] == [False, False, True]

        ok(
            fraud.carol.put(
                "/api/v1/models/fraud/versions/2/tags/training_dataset", json={"value": "s3://d"}
            )
        )
        set_policy(fraud.mona, CHAMPION_POLICY.replace("0.85", "0.75"))
        executed = ok(fraud.rick.post(f"/api/v1/promotions/{request['id']}/execute"))
        assert executed["status"] == "executed"
        assert executed["policy_version"] == 2
        assert aliases(fraud.alice) == {"champion": 2}

    def test_a_policy_tightened_after_the_request_blocks_the_move(self, fraud: People) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        assert request["rules_passed"] is True
        set_policy(fraud.mona, CHAMPION_POLICY.replace("0.85", "0.95"))
        blocked = ok(approve(fraud.alice, request["id"]))
        assert blocked["status"] == "blocked"
        assert blocked["policy_version"] == 2
        assert blocked["rules"][1]["message"] == "auc is 0.9: does not meet >= 0.95"
        assert aliases(fraud.alice) == {}

    def test_not_better_than_the_holder(self, fraud: People) -> None:
        ok(approve(fraud.alice, ok(ask(fraud.rick, 1), 201)["id"]))
        new_version(fraud.carol, 0.88, training_dataset="s3://d")
        request = ok(ask(fraud.rick, 2), 201)
        holder_rule = request["rules"][2]
        assert holder_rule["passed"] is False
        assert holder_rule["seen"] == {
            "metrics.auc": 0.88,
            "holder.version": 1,
            "holder.metrics.auc": 0.9,
        }
        assert ok(approve(fraud.alice, request["id"]))["status"] == "blocked"
        assert aliases(fraud.alice) == {"champion": 1}


class TestApprovals:
    def test_an_approval_counts_once(self, fraud: People) -> None:
        set_policy(fraud.mona, CHAMPION_POLICY.replace("min: 1", "min: 2"))
        request = ok(ask(fraud.rick, 1), 201)
        assert ok(approve(fraud.alice, request["id"]))["status"] == "open"
        again = error(approve(fraud.alice, request["id"], "really"), 409, "RESOURCE_CONFLICT")
        assert "counts once" in again["message"]
        current = ok(fraud.eve.get(f"/api/v1/promotions/{request['id']}"))
        assert current["approvals"]["received"] == 1
        assert len(current["decisions"]) == 1
        assert aliases(fraud.alice) == {}
        assert ok(approve(fraud.bob, request["id"]))["status"] == "executed"
        assert aliases(fraud.alice) == {"champion": 1}

    def test_a_required_group_needs_one_of_its_members(self, fraud: People) -> None:
        set_policy(fraud.mona, CHAMPION_POLICY.replace("min: 1", "min: 1, groups: [ml-leads]"))
        request = ok(ask(fraud.rick, 1), 201)
        waiting = ok(approve(fraud.bob, request["id"]))
        assert waiting["status"] == "open"
        assert waiting["approvals"]["missing_groups"] == ["ml-leads"]
        assert aliases(fraud.alice) == {}
        done = ok(approve(fraud.alice, request["id"]))
        assert done["status"] == "executed"
        assert done["approvals"]["missing_groups"] == []

    def test_approving_needs_the_approver_role(self, fraud: People) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        body = error(approve(fraud.eve, request["id"]), 403, "PERMISSION_DENIED")
        assert body["message"] == "eve needs the approver role on model 'fraud'"
        error(approve(fraud.carol, request["id"]), 403, "PERMISSION_DENIED")

    def test_a_comment_is_required(self, fraud: People) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        error(approve(fraud.alice, request["id"], ""), 400, "INVALID_PARAMETER_VALUE")
        error(approve(fraud.alice, request["id"], "   "), 400, "INVALID_PARAMETER_VALUE")
        rejection = fraud.alice.post(f"/api/v1/promotions/{request['id']}/reject", json={})
        error(rejection, 400, "INVALID_PARAMETER_VALUE")
        assert ok(fraud.eve.get(f"/api/v1/promotions/{request['id']}"))["decisions"] == []

    def test_rejection_closes_the_request(self, fraud: People) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        rejected = ok(
            fraud.bob.post(
                f"/api/v1/promotions/{request['id']}/reject", json={"comment": "wait for Q4"}
            )
        )
        assert rejected["status"] == "rejected"
        assert rejected["closed_by"] == "bob"
        assert rejected["decisions"][0]["decision"] == "reject"
        error(approve(fraud.alice, request["id"]), 409, "RESOURCE_CONFLICT")
        assert aliases(fraud.alice) == {}

    def test_expired_requests_cannot_be_approved(self, fraud: People, state: AppState) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        # Time passing, without waiting: the request's expiry moves into the past.
        with state.db.transaction() as session:
            session.execute(
                update(PromotionRequest)
                .where(PromotionRequest.id == request["id"])
                .values(expires_at=now_ms() - 1)
            )
        assert ok(fraud.eve.get(f"/api/v1/promotions/{request['id']}"))["status"] == "expired"
        body = error(approve(fraud.alice, request["id"]), 409, "RESOURCE_CONFLICT")
        assert "expired" in body["message"]
        assert aliases(fraud.alice) == {}
        listed = ok(fraud.eve.get("/api/v1/promotions", params={"status": "expired"}))
        assert [p["id"] for p in listed["promotions"]] == [request["id"]]
        assert (
            ok(fraud.eve.get("/api/v1/promotions", params={"status": "open"}))["promotions"] == []
        )
        assert ok(ask(fraud.rick, 1), 201)["status"] == "open"  # asking again is allowed

    def test_the_policy_ttl_sets_the_expiry(self, fraud: People) -> None:
        set_policy(fraud.mona, CHAMPION_POLICY + "request_ttl: 2h\n")
        request = ok(ask(fraud.rick, 1), 201)
        assert _ms(request["expires_at"]) - _ms(request["requested_at"]) == 2 * 3600 * 1000


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


class TestRequests:
    def test_a_request_for_an_unprotected_alias_is_refused(self, fraud: People) -> None:
        body = error(ask(fraud.rick, 1, alias="challenger"), 400, "INVALID_PARAMETER_VALUE")
        assert "not protected: set it directly" in body["message"]

    def test_one_pending_request_per_move(self, fraud: People) -> None:
        first = ok(ask(fraud.rick, 1), 201)
        body = error(ask(fraud.carol, 1), 409, "RESOURCE_CONFLICT")
        assert body["details"]["request_id"] == first["id"]

    def test_a_version_already_holding_the_target(self, fraud: People) -> None:
        ok(approve(fraud.alice, ok(ask(fraud.rick, 1), 201)["id"]))
        error(ask(fraud.rick, 1), 409, "RESOURCE_CONFLICT")

    def test_requesting_needs_the_contributor_role(self, fraud: People) -> None:
        error(ask(fraud.eve, 1), 403, "PERMISSION_DENIED")
        assert ok(fraud.eve.get("/api/v1/promotions"))["promotions"] == []

    @pytest.mark.parametrize(
        "body",
        [
            {"version": 1, "justification": "x"},
            {"version": 1, "alias": "champion", "stage": "Production", "justification": "x"},
            {"version": 1, "alias": "champion", "justification": ""},
            {"version": 1, "alias": "champion"},
            {"version": 0, "alias": "champion", "justification": "x"},
            {"version": 1, "alias": "champion", "justification": "x", "colour": "red"},
            {"version": 1, "alias": "champion", "justification": "x", "archive_existing": True},
        ],
    )
    def test_bad_bodies(self, fraud: People, body: dict[str, Any]) -> None:
        error(
            fraud.rick.post("/api/v1/models/fraud/promotions", json=body),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        assert ok(fraud.eve.get("/api/v1/promotions"))["promotions"] == []

    def test_missing_model_version_and_request(self, fraud: People) -> None:
        error(ask(fraud.rick, 9), 404, "RESOURCE_DOES_NOT_EXIST")
        missing_model = fraud.rick.post(
            "/api/v1/models/nope/promotions",
            json={"version": 1, "alias": "champion", "justification": "x"},
        )
        error(missing_model, 404, "RESOURCE_DOES_NOT_EXIST")
        error(fraud.eve.get("/api/v1/promotions/999"), 404, "RESOURCE_DOES_NOT_EXIST")
        error(approve(fraud.alice, 999), 404, "RESOURCE_DOES_NOT_EXIST")

    def test_a_pending_version_cannot_be_promoted(self, fraud: People) -> None:
        ok(fraud.carol.post("/api/v1/models/fraud/versions", json={}), 201)
        error(ask(fraud.rick, 2), 409, "RESOURCE_CONFLICT")


class TestListing:
    def test_pages_and_filters(self, fraud: People) -> None:
        new_version(fraud.carol, 0.91, training_dataset="d")
        ok(fraud.carol.post("/api/v1/models", json={"name": "churn"}), 201)
        ok(
            fraud.carol.post("/api/v1/models/churn/versions", json={"source": "s3://b/churn"}),
            201,
        )
        a = ok(ask(fraud.rick, 1), 201)["id"]
        b = ok(ask(fraud.rick, 2, alias=None, stage="Production"), 201)["id"]
        churn = fraud.rick.post(
            "/api/v1/models/churn/promotions",
            json={"version": 1, "alias": "champion", "justification": "first"},
        )
        c = ok(churn, 201)["id"]
        ok(approve(fraud.alice, a))

        seen, token = [], None
        while True:
            params: dict[str, Any] = {"max_results": 1}
            if token:
                params["page_token"] = token
            page = ok(fraud.eve.get("/api/v1/promotions", params=params))
            seen += [p["id"] for p in page["promotions"]]
            token = page["next_page_token"]
            if token is None:
                break
        assert seen == [c, b, a]  # newest first

        by_model = ok(fraud.eve.get("/api/v1/promotions", params={"model": "fraud"}))
        assert [p["id"] for p in by_model["promotions"]] == [b, a]
        executed = ok(fraud.eve.get("/api/v1/promotions", params={"status": "executed"}))
        assert [p["id"] for p in executed["promotions"]] == [a]
        still_open = ok(fraud.eve.get("/api/v1/promotions", params={"status": "open"}))
        assert [p["id"] for p in still_open["promotions"]] == [c, b]
        error(
            fraud.eve.get("/api/v1/promotions", params={"status": "pending"}),
            400,
            "INVALID_PARAMETER_VALUE",
        )


class TestProtectedLabels:
    def test_a_direct_move_of_a_protected_alias_is_refused_with_the_way_to_ask(
        self, fraud: People
    ) -> None:
        for person in (fraud.carol, fraud.mona, fraud.ada):  # creator, maintainer, admin alike
            response = person.put("/api/v1/models/fraud/aliases/champion", json={"version": 1})
            body = error(response, 403, "PERMISSION_DENIED")
            assert body["message"] == (
                "`champion` is protected: request a promotion with "
                "`charter promote request fraud/1 --to champion --justification '...'`"
            )
        assert aliases(fraud.alice) == {}

    def test_unprotected_aliases_move_directly(self, fraud: People) -> None:
        ok(fraud.carol.put("/api/v1/models/fraud/aliases/challenger", json={"version": 1}))
        assert aliases(fraud.alice) == {"challenger": 1}

    def test_protected_stage_and_alias_deletion(self, fraud: People) -> None:
        moved = fraud.carol.post(
            "/api/v1/models/fraud/versions/1/stage", json={"stage": "Production"}
        )
        assert "--stage Production" in error(moved, 403, "PERMISSION_DENIED")["message"]
        ok(approve(fraud.alice, ok(ask(fraud.rick, 1), 201)["id"]))
        error(fraud.ada.delete("/api/v1/models/fraud/aliases/champion"), 403, "PERMISSION_DENIED")
        assert aliases(fraud.alice) == {"champion": 1}

    def test_without_governance_nothing_is_protected(self, fraud: People) -> None:
        ok(fraud.local.put("/api/v1/models/fraud/aliases/champion", json={"version": 1}))
        ok(fraud.local.post("/api/v1/models/fraud/versions/1/stage", json={"stage": "Production"}))
        assert fraud.local.delete("/api/v1/models/fraud/aliases/champion").status_code == 204

    def test_the_default_policy_protects_champion_and_production(self, people: People) -> None:
        ok(people.carol.post("/api/v1/models", json={"name": "fraud"}), 201)
        new_version(people.carol)
        policy = ok(people.eve.get("/api/v1/models/fraud/policy"))
        assert (policy["scope"], policy["version"]) == ("default", 0)
        error(
            people.carol.put("/api/v1/models/fraud/aliases/champion", json={"version": 1}),
            403,
            "PERMISSION_DENIED",
        )
        ok(people.carol.put("/api/v1/models/fraud/aliases/staging", json={"version": 1}))


class TestDeletionProtection:
    def test_a_version_or_model_holding_a_protected_label_is_not_deleted(
        self, fraud: People
    ) -> None:
        ok(approve(fraud.alice, ok(ask(fraud.rick, 1), 201)["id"]))
        new_version(fraud.carol)
        version = error(
            fraud.ada.delete("/api/v1/models/fraud/versions/1"), 409, "RESOURCE_CONFLICT"
        )
        assert "holds the protected alias champion" in version["message"]
        model = error(fraud.ada.delete("/api/v1/models/fraud"), 409, "RESOURCE_CONFLICT")
        assert "alias champion (version 1)" in model["message"]
        assert aliases(fraud.alice) == {"champion": 1}
        # A contributor never deletes; a maintainer may delete what holds nothing protected.
        error(fraud.carol.delete("/api/v1/models/fraud/versions/2"), 403, "PERMISSION_DENIED")
        assert fraud.mona.delete("/api/v1/models/fraud/versions/2").status_code == 204

    def test_without_governance_deletion_is_allowed(self, fraud: People) -> None:
        ok(approve(fraud.alice, ok(ask(fraud.rick, 1), 201)["id"]))
        assert fraud.local.delete("/api/v1/models/fraud/versions/1").status_code == 204


class TestBreakGlass:
    def force(self, by: Person, **body: Any) -> Response:
        body.setdefault("version", 1)
        body.setdefault("alias", "champion")
        return by.post("/api/v1/models/fraud/promotions/force", json=body)

    def test_an_admin_forces_a_move_with_a_reason_and_it_is_flagged(self, fraud: People) -> None:
        new_version(fraud.carol, 0.5)  # fails the threshold and has no dataset tag
        forced = ok(self.force(fraud.ada, version=2, reason="incident 4711: roll back"), 201)
        assert forced["forced"] is True
        assert forced["force_reason"] == "incident 4711: roll back"
        assert forced["status"] == "executed"
        assert forced["requested_by"] == forced["closed_by"] == "ada"
        assert forced["rules_passed"] is False  # what was overridden stays on record
        assert aliases(fraud.alice) == {"champion": 2}
        listed = ok(fraud.eve.get("/api/v1/promotions", params={"status": "executed"}))
        assert [p["forced"] for p in listed["promotions"]] == [True]

    def test_only_an_admin_and_only_with_a_reason(self, fraud: People) -> None:
        error(self.force(fraud.mona, reason="hurry"), 403, "PERMISSION_DENIED")
        error(self.force(fraud.ada), 400, "INVALID_PARAMETER_VALUE")
        error(self.force(fraud.ada, reason="  "), 400, "INVALID_PARAMETER_VALUE")
        assert aliases(fraud.alice) == {}


class TestPolicies:
    def test_versions_history_and_the_recorded_version(self, fraud: People) -> None:
        current = ok(fraud.eve.get("/api/v1/models/fraud/policy"))
        assert (current["scope"], current["version"], current["created_by"]) == (
            "model",
            1,
            "mona",
        )
        assert current["yaml"] == CHAMPION_POLICY
        assert current["policy"]["approvals"] == {"min": 1, "groups": []}

        as_json = fraud.mona.put(
            "/api/v1/models/fraud/policy", json={"yaml": CHAMPION_POLICY + "request_ttl: 1d\n"}
        )
        assert ok(as_json)["version"] == 2
        assert set_policy(fraud.mona, CHAMPION_POLICY + "request_ttl: 1d\n")["version"] == 2
        request = ok(ask(fraud.rick, 1), 201)
        assert (request["policy_scope"], request["policy_version"]) == ("model", 2)

        history = ok(fraud.eve.get("/api/v1/models/fraud/policy/history"))
        assert [p["version"] for p in history["policies"]] == [2, 1]
        page = ok(fraud.eve.get("/api/v1/models/fraud/policy/history", params={"max_results": 1}))
        assert [p["version"] for p in page["policies"]] == [2]
        rest = ok(
            fraud.eve.get(
                "/api/v1/models/fraud/policy/history",
                params={"max_results": 1, "page_token": page["next_page_token"]},
            )
        )
        assert [p["version"] for p in rest["policies"]] == [1]

    def test_an_invalid_policy_names_the_line_and_stores_nothing(self, fraud: People) -> None:
        response = fraud.mona.put(
            "/api/v1/models/fraud/policy",
            content="protected: {}\nrules:\n  - metric: auc\n    op: '=>'\n    value: 1\n",
            headers={"content-type": "text/yaml"},
        )
        body = error(response, 400, "INVALID_PARAMETER_VALUE")
        assert "rules[0].op (line 4)" in body["message"]
        assert body["details"]["problems"][0]["line"] == 4
        assert ok(fraud.eve.get("/api/v1/models/fraud/policy"))["version"] == 1

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (b'{"yaml": 3}', "application/json"),
            (b'{"policy": "protected: {}"}', "application/json"),
            (b"not json", "application/json"),
            (b"protected: {}", "application/octet-stream"),
            (b"\xff\xfe", "text/yaml"),
        ],
    )
    def test_bad_bodies(self, fraud: People, content: bytes, content_type: str) -> None:
        response = fraud.mona.put(
            "/api/v1/models/fraud/policy", content=content, headers={"content-type": content_type}
        )
        error(response, 400, "INVALID_PARAMETER_VALUE")
        assert ok(fraud.eve.get("/api/v1/models/fraud/policy"))["version"] == 1

    def test_editing_needs_the_maintainer_role(self, fraud: People) -> None:
        response = fraud.alice.put("/api/v1/models/fraud/policy", json={"yaml": "protected: {}\n"})
        error(response, 403, "PERMISSION_DENIED")
        error(
            fraud.alice.put("/api/v1/policy", json={"yaml": "protected: {}\n"}),
            403,
            "PERMISSION_DENIED",
        )
        assert ok(fraud.eve.get("/api/v1/models/fraud/policy"))["version"] == 1

    def test_the_global_policy_applies_to_models_without_their_own(self, people: People) -> None:
        default = ok(people.eve.get("/api/v1/policy"))
        assert (default["scope"], default["version"]) == ("default", 0)
        assert default["policy"]["protected"] == {"aliases": ["champion"], "stages": ["Production"]}

        ok(people.mona.put("/api/v1/policy", json={"yaml": "protected: {aliases: [prod]}\n"}))
        ok(people.carol.post("/api/v1/models", json={"name": "fraud"}), 201)
        new_version(people.carol)
        applied = ok(people.eve.get("/api/v1/models/fraud/policy"))
        assert (applied["scope"], applied["version"], applied["model"]) == ("global", 1, "fraud")
        ok(people.carol.put("/api/v1/models/fraud/aliases/champion", json={"version": 1}))
        error(
            people.carol.put("/api/v1/models/fraud/aliases/prod", json={"version": 1}),
            403,
            "PERMISSION_DENIED",
        )
        history = ok(people.eve.get("/api/v1/policy/history"))
        assert [p["version"] for p in history["policies"]] == [1]

    def test_a_models_own_policy_wins_over_a_newer_global_one(self, people: People) -> None:
        ok(people.carol.post("/api/v1/models", json={"name": "fraud"}), 201)
        new_version(people.carol)
        set_policy(people.mona, "protected: {aliases: [gold]}\n")
        # The global policy changes twice after the model's own: the model's still applies.
        ok(people.mona.put("/api/v1/policy", json={"yaml": "protected: {aliases: [prod]}\n"}))
        ok(people.mona.put("/api/v1/policy", json={"yaml": "protected: {aliases: [prod2]}\n"}))
        applied = ok(people.eve.get("/api/v1/models/fraud/policy"))
        assert (applied["scope"], applied["version"]) == ("model", 1)
        ok(people.carol.put("/api/v1/models/fraud/aliases/prod", json={"version": 1}))
        error(
            people.carol.put("/api/v1/models/fraud/aliases/gold", json={"version": 1}),
            403,
            "PERMISSION_DENIED",
        )


class TestArtifactsVerifiedCheck:
    def test_verified_files_pass_and_a_version_without_files_does_not(self, fraud: People) -> None:
        set_policy(
            fraud.mona,
            "protected: {aliases: [champion]}\nrules:\n  - require_checks: [artifacts_verified]\n",
        )
        pending = ok(fraud.carol.post("/api/v1/models/fraud/versions", json={}), 201)["version"]
        upload(fraud.carol.client(), "fraud", pending, "model.pkl", b"weights")
        ok(fraud.carol.post(f"/api/v1/models/fraud/versions/{pending}/finalize"))

        with_files = ok(ask(fraud.rick, pending), 201)["rules"][0]
        assert with_files["passed"] is True
        assert with_files["seen"]["artifacts_verified"]["files_checked"] == 1
        without = ok(ask(fraud.rick, 1), 201)["rules"][0]
        assert without["passed"] is False
        assert "no files" in without["message"]


class TestSingleUserMode:
    def test_the_local_user_may_request_and_approve(self, people: People) -> None:
        local = people.local
        ok(local.post("/api/v1/models", json={"name": "fraud"}), 201)
        new_version(local)
        request = ok(ask(local, 1), 201)
        assert ok(approve(local, request["id"]))["status"] == "executed"
        assert aliases(local) == {"champion": 1}


class TestAuditTrail:
    def test_policy_changes_and_every_promotion_step_are_recorded(
        self, fraud: People, state: AppState
    ) -> None:
        request = ok(ask(fraud.rick, 1), 201)
        ok(approve(fraud.alice, request["id"], "fine"))
        new_version(fraud.carol, 0.5)
        forced = fraud.ada.post(
            "/api/v1/models/fraud/promotions/force",
            json={"version": 2, "alias": "champion", "reason": "incident 4711"},
        )
        ok(forced, 201)
        with state.db.transaction(write=False) as session:
            trail = AuditService(session, SYSTEM)
            events = trail.search(AuditFilter(model="fraud"), max_results=100).items
            policies = trail.search(AuditFilter(action="policy.set")).items
        steps = [(e.action, e.actor) for e in reversed(events) if e.action.startswith("promo")]
        assert steps == [
            ("promotion.request", "rick"),
            ("promotion.approve", "alice"),
            ("promotion.execute", "alice"),
            ("promotion.force", "ada"),
        ]
        force_event = events[0]
        assert force_event.after["forced"] is True
        assert force_event.resource_name == "fraud/2"
        assert force_event.after["target"] == "alias champion"
        assert force_event.after["rules"][1]["passed"] is False
        assert [(e.actor, e.after["version"]) for e in policies] == [("mona", 1)]
        assert (policies[0].resource_type, policies[0].resource_name) == ("model_policy", "fraud")
        assert policies[0].before is None
        assert policies[0].after["document"] == CHAMPION_POLICY
