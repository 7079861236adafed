"""The ``security_scan`` check in promotion policies: the built-in default policy blocks a
version with a dangerous file, a version still being scanned, and (strict) a suspicious one.

Single-user mode (governance off): the local user requests and approves, and the rules still
apply, as they do for everyone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.config import Settings
from charter.inspection.worker import ScanWorker
from tests.factories.registry import create_model, ready_version_with_files
from tests.support import model_files


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No background workers: each test scans when it chooses to, with a worker of its own.
    return Settings(data_dir=tmp_path / "data", database_url=database_url, scan_workers=0)


def scan_all(state: AppState) -> None:
    scanner = ScanWorker(state.db, state.blobs, state.settings, "test")
    while scanner.run_once():
        pass


def version_with(http: TestClient, files: dict[str, bytes]) -> int:
    return int(ready_version_with_files(http, "fraud", files)["version"])


def request_champion(http: TestClient, version: int) -> dict[str, Any]:
    body = {"version": version, "alias": "champion", "justification": "new weights"}
    response = http.post("/api/v1/models/fraud/promotions", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def approve(http: TestClient, request_id: int) -> dict[str, Any]:
    response = http.post(f"/api/v1/promotions/{request_id}/approve", json={"comment": "ok"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def security_rule(request: dict[str, Any]) -> dict[str, Any]:
    [rule] = [r for r in request["rules"] if r["kind"] == "require_checks"]
    return rule


@pytest.fixture
def marker(tmp_path: Path) -> Any:
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a payload was executed"


class TestDefaultPolicy:
    def test_a_scanned_clean_version_is_promoted(self, http: TestClient, state: AppState) -> None:
        create_model(http, "fraud")
        number = version_with(http, {"w.safetensors": model_files.safetensors_file()})
        scan_all(state)
        request = request_champion(http, number)
        assert security_rule(request)["passed"] is True
        assert approve(http, request["id"])["status"] == "executed"
        assert http.get("/api/v1/models/fraud").json()["aliases"] == {"champion": number}

    def test_a_dangerous_version_is_blocked_naming_the_globals(
        self, http: TestClient, state: AppState, marker: Path
    ) -> None:
        create_model(http, "fraud")
        number = version_with(http, {"model.pkl": model_files.malicious_pickle(marker)})
        scan_all(state)
        request = request_champion(http, number)
        rule = security_rule(request)
        assert rule["passed"] is False
        assert "dangerous" in rule["message"]
        assert rule["seen"]["security_scan"]["dangerous_globals"] == ["builtins.exec"]
        assert approve(http, request["id"])["status"] == "blocked"
        refused = http.post(f"/api/v1/promotions/{request['id']}/execute")
        assert refused.status_code == 409
        assert refused.json()["error_code"] == "POLICY_VIOLATION"
        assert "security_scan" in refused.json()["message"]
        assert http.get("/api/v1/models/fraud").json()["aliases"] == {}

    def test_a_version_still_being_scanned_waits_and_then_goes_through(
        self, http: TestClient, state: AppState
    ) -> None:
        create_model(http, "fraud")
        number = version_with(http, {"model.pkl": model_files.sklearn_pickle()})
        request = request_champion(http, number)
        assert "pending" in security_rule(request)["message"]
        assert approve(http, request["id"])["status"] == "blocked"
        scan_all(state)
        executed = http.post(f"/api/v1/promotions/{request['id']}/execute")
        assert executed.status_code == 200, executed.text
        assert executed.json()["status"] == "executed"


class TestStrictCheck:
    def test_suspicious_passes_the_default_check(self, http: TestClient, state: AppState) -> None:
        create_model(http, "fraud")
        number = version_with(http, {"model.pkl": model_files.unknown_global_pickle()})
        scan_all(state)
        rule = security_rule(request_champion(http, number))
        assert rule["passed"] is True
        assert rule["seen"]["security_scan"]["verdict"] == "suspicious"

    def test_the_strict_check_blocks_suspicious_too(
        self, http: TestClient, state: AppState
    ) -> None:
        create_model(http, "fraud")
        policy = (
            "protected: {aliases: [champion]}\nrules:\n  - require_checks: [security_scan_strict]\n"
        )
        response = http.put(
            "/api/v1/models/fraud/policy", content=policy, headers={"content-type": "text/yaml"}
        )
        assert response.status_code in (200, 201), response.text
        number = version_with(http, {"model.pkl": model_files.unknown_global_pickle()})
        scan_all(state)
        rule = security_rule(request_champion(http, number))
        assert rule["passed"] is False
        assert rule["seen"]["security_scan_strict"]["flagged"] == {"model.pkl": "suspicious"}
