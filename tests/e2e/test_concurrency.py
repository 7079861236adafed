"""Concurrent writers against a real ``charter serve`` with two worker processes, on SQLite
and PostgreSQL: numbering, aliases, stages and names stay consistent, and no request fails.

Every burst releases its requests together from a barrier, so they really overlap across both
workers; nothing here measures time.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import CharterServer, running_server

pytestmark = pytest.mark.e2e

WORKERS = 2
REQUEST_TIMEOUT = 60.0
BURST_TIMEOUT = 120.0
HISTORY_PAGE = 1000


@pytest.fixture
def workers() -> int:
    return WORKERS


@pytest.fixture
def server(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, workers: int
) -> Iterator[CharterServer]:
    """``charter serve`` (two workers unless a test says otherwise) over a fresh database of
    the test's backend."""
    env = {"CHARTER_DATABASE_URL": database_url}
    with running_server(tmp_path / "data", request=request, env=env, workers=workers) as started:
        yield started


@pytest.fixture
def http(server: CharterServer) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        yield client


def burst(count: int, send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Send ``count`` requests at once (``send(i)`` makes the i-th) and return the responses."""
    barrier = threading.Barrier(count, timeout=BURST_TIMEOUT)

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one, i) for i in range(count)]
        return [f.result(timeout=BURST_TIMEOUT) for f in futures]


def assert_no_failure(responses: list[httpx.Response]) -> None:
    """No 5xx, and no SQLite lock error leaking out as any status."""
    failures = [
        (r.status_code, r.text)
        for r in responses
        if r.status_code >= 500 or "database is locked" in r.text
    ]
    assert failures == []


def create_model(http: httpx.Client, name: str) -> None:
    response = http.post("/api/v1/models", json={"name": name})
    assert response.status_code == 201, response.text


def ready_versions(http: httpx.Client, name: str, count: int) -> list[int]:
    numbers = []
    for i in range(count):
        body = {"source": f"s3://bucket/{name}/{i}"}
        response = http.post(f"/api/v1/models/{name}/versions", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "READY"
        numbers.append(response.json()["version"])
    return numbers


def all_versions(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    response = http.get(f"/api/v1/models/{name}/versions", params={"max_results": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["next_page_token"] is None
    versions: list[dict[str, Any]] = response.json()["versions"]
    return versions


def history(http: httpx.Client, name: str, kind: str, label: str) -> list[dict[str, Any]]:
    """Every period of ``label``, oldest first (the API lists the newest first)."""
    params: dict[str, str | int] = {"kind": kind, "label": label, "max_results": HISTORY_PAGE}
    response = http.get(f"/api/v1/models/{name}/history", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next_page_token"] is None
    periods: list[dict[str, Any]] = response.json()["history"]
    return list(reversed(periods))


def assert_one_chain(periods: list[dict[str, Any]]) -> None:
    """The periods form one total order: each ends exactly when the next begins, only the
    last is open, and each hands over to a different version (a move onto the current holder
    is a no-op, never a new period)."""
    assert periods, "no period was recorded"
    open_periods = [p for p in periods if p["ended_at"] is None]
    assert open_periods == [periods[-1]]
    for earlier, later in itertools.pairwise(periods):
        assert earlier["ended_at"] == later["started_at"], (earlier, later)
        assert earlier["started_at"] <= earlier["ended_at"], earlier
        assert earlier["version"] != later["version"], (earlier, later)


class TestVersionNumbers:
    # One worker receives all fifty requests for certain; with two, how the kernel spreads
    # the connections decides how many each gets.
    @pytest.mark.parametrize("workers", [WORKERS, 1])
    def test_fifty_concurrent_creations_get_one_to_fifty(self, http: httpx.Client) -> None:
        create_model(http, "busy")

        responses = burst(
            50,
            lambda i: http.post(
                "/api/v1/models/busy/versions", json={"source": f"s3://bucket/busy/{i}"}
            ),
        )

        assert_no_failure(responses)
        assert [r.status_code for r in responses] == [201] * 50
        numbers = sorted(r.json()["version"] for r in responses)
        assert numbers == list(range(1, 51))
        stored = all_versions(http, "busy")
        assert sorted(v["version"] for v in stored) == list(range(1, 51))
        sources = {v["version"]: v["source"] for v in stored}
        assert {r.json()["version"]: r.json()["source"] for r in responses} == sources
        latest = http.get("/api/v1/models/busy").json()["latest_version"]
        assert latest == 50


class TestAliasMoves:
    def test_forty_concurrent_moves_leave_one_holder_and_one_history(
        self, http: httpx.Client
    ) -> None:
        create_model(http, "m")
        versions = ready_versions(http, "m", 5)

        responses = burst(
            40,
            lambda i: http.put(
                "/api/v1/models/m/aliases/champion", json={"version": versions[i % 5]}
            ),
        )

        assert_no_failure(responses)
        assert [r.status_code for r in responses] == [200] * 40
        holder = http.get("/api/v1/models/m/aliases/champion")
        assert holder.status_code == 200
        holder_version = holder.json()["version"]
        holding = [v["version"] for v in all_versions(http, "m") if "champion" in v["aliases"]]
        assert holding == [holder_version]
        assert http.get("/api/v1/models/m").json()["aliases"] == {"champion": holder_version}

        periods = history(http, "m", "alias", "champion")
        assert_one_chain(periods)
        # The last move the server serialised is the one whose period is still open.
        assert periods[-1]["version"] == holder_version
        assert {p["version"] for p in periods} <= set(versions)
        assert all(p["label"] == "champion" and p["kind"] == "alias" for p in periods)


class TestStageTransitions:
    @pytest.mark.parametrize("contenders", [2, 10])
    def test_concurrent_promotions_leave_exactly_one_in_production(
        self, http: httpx.Client, contenders: int
    ) -> None:
        create_model(http, "m")
        versions = ready_versions(http, "m", contenders)

        responses = burst(
            contenders,
            lambda i: http.post(
                f"/api/v1/models/m/versions/{versions[i]}/stage",
                json={"stage": "Production", "archive_existing": True},
            ),
        )

        assert_no_failure(responses)
        assert [r.status_code for r in responses] == [200] * contenders
        stages = {v["version"]: v["stage"] for v in all_versions(http, "m")}
        in_production = [n for n, stage in stages.items() if stage == "Production"]
        assert len(in_production) == 1, stages
        assert all(stage == "Archived" for n, stage in stages.items() if n not in in_production)
        resolved = http.get("/api/v1/resolve", params={"ref": "m/Production"})
        assert resolved.json()["version"] == in_production[0]

        periods = history(http, "m", "stage", "Production")
        assert_one_chain(periods)
        assert periods[-1]["version"] == in_production[0]
        assert len(periods) == contenders  # every promotion happened, each archived the last


class TestModelNames:
    def test_concurrent_creations_of_one_name_make_one_model(self, http: httpx.Client) -> None:
        responses = burst(20, lambda _: http.post("/api/v1/models", json={"name": "same"}))

        assert_no_failure(responses)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 19
        refused = [r.json() for r in responses if r.status_code == 409]
        assert {body["error_code"] for body in refused} == {"RESOURCE_ALREADY_EXISTS"}
        assert all(set(body) == {"error_code", "message", "details"} for body in refused)
        listed = http.get("/api/v1/models", params={"name": "same"}).json()["models"]
        assert len(listed) == 1
        created = next(r for r in responses if r.status_code == 201).json()
        assert listed[0]["id"] == created["id"]
