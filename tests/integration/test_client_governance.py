"""The SDK's governance methods against the app with authentication on: policies, promotion
requests and decisions, grants; refusals raise the error of the same name."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.client import Client, NotFound, PermissionDenied
from charter.config import Settings
from tests.integration.access_world import World, build

POLICY = """\
protected: {aliases: [champion], stages: [Production]}
rules:
  - metric: auc
    op: ">="
    value: 0.8
approvals: {min: 1}
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, auth=True)


@pytest.fixture
def world(app: FastAPI, http: TestClient, state: AppState) -> World:
    return build(http, state)


def as_(world: World, who: str) -> Client:
    return Client(http_client=world.http, token=world.tokens[who])


def test_policy_request_approve(world: World) -> None:
    alice, bob, mona = as_(world, "contributor"), as_(world, "approver"), as_(world, "maintainer")
    assert mona.set_policy(POLICY, "fraud").version == 1
    assert alice.get_policy("fraud").policy["approvals"]["min"] == 1
    with pytest.raises(PermissionDenied, match="maintainer role"):
        alice.set_policy(POLICY, "fraud")

    alice.set_version_tag("fraud/3", "note", "x")
    request = alice.request_promotion("fraud/3", alias="champion", justification="AUC")
    assert (request.status, request.target, request.policy_version) == (
        "open",
        "alias champion",
        1,
    )
    (rule,) = request.rules
    assert rule.passed is False  # version 3 has no auc: the request shows it, and waits
    open_ids = [r.id for r in bob.iter_promotions(model="fraud", status="open")]
    assert request.id in open_ids

    with pytest.raises(PermissionDenied, match="approver role"):
        alice.approve_promotion(request.id, "mine")
    blocked = bob.approve_promotion(request.id, "fine by me")
    assert (blocked.status, blocked.decisions[0].decided_by) == ("blocked", "approver")
    rejected = bob.reject_promotion(world.ids["request2"], "not now")
    assert rejected.status == "rejected"
    assert bob.get_promotion(world.ids["request2"]).decisions[0].comment == "not now"


def test_grants_through_the_sdk(world: World) -> None:
    admin, nobody = as_(world, "admin"), as_(world, "nobody")
    with pytest.raises(NotFound):
        nobody.get_model("fraud")
    grant = admin.add_grant("nobody", "reader", model="fraud")
    assert grant.id in [g.id for g in admin.list_grants(model="fraud")]
    assert nobody.get_model("fraud").name == "fraud"
    admin.remove_grant(grant.id)
    with pytest.raises(NotFound):
        nobody.get_model("fraud")
    with pytest.raises(PermissionDenied, match="admin role"):
        nobody.add_grant("nobody", "admin")
