"""The scan queue in the database: claims by competing workers, leases, retries and restarts.

The app runs no workers of its own here (``scan_workers=0``); the tests drive ``ScanWorker``s
directly, as several replicas would, against SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.config import Settings
from charter.db import now_ms
from charter.inspection.models import ScanJob, VersionScan
from charter.inspection.queue import ScanQueue
from charter.inspection.worker import ScanWorker
from tests.factories.registry import create_model, ready_version_with_files
from tests.support import model_files


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, scan_workers=0)


def worker(state: AppState, name: str) -> ScanWorker:
    return ScanWorker(state.db, state.blobs, state.settings, name)


def jobs(state: AppState) -> list[ScanJob]:
    with state.db.transaction(write=False) as session:
        return list(session.scalars(select(ScanJob).order_by(ScanJob.id)))


@pytest.fixture
def queued(http: TestClient, state: AppState) -> int:
    """A READY version with a pickle, its scan queued and not yet claimed; its version id."""
    create_model(http, "fraud")
    version = ready_version_with_files(http, "fraud", {"m.pkl": model_files.sklearn_pickle()})
    assert [(j.status, j.attempts) for j in jobs(state)] == [("queued", 0)]
    return int(version["id"])


class TestClaims:
    def test_two_workers_racing_for_one_job_run_it_once(self, state: AppState, queued: int) -> None:
        start = threading.Barrier(2)
        ran: dict[str, bool] = {}

        def race(name: str) -> None:
            start.wait()
            ran[name] = worker(state, name).run_once()

        threads = [threading.Thread(target=race, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(ran.values()) == [False, True]
        [job] = jobs(state)
        winner = next(name for name, did in ran.items() if did)
        assert (job.status, job.attempts, job.claimed_by) == ("done", 1, winner)

    def test_a_crashed_workers_lease_expires_and_another_finishes_the_job(
        self, state: AppState, queued: int
    ) -> None:
        crashed, survivor = worker(state, "crashed"), worker(state, "survivor")
        claim = crashed.claim()
        assert claim is not None
        assert survivor.claim() is None
        with state.db.transaction() as session:  # time passes: the lease runs out
            session.execute(update(ScanJob).values(lease_expires_at=now_ms() - 1))
        assert survivor.run_once() is True
        [job] = jobs(state)
        assert (job.status, job.attempts, job.claimed_by) == ("done", 2, "survivor")
        # The first worker comes back to life: its result is not recorded a second time.
        assert crashed.process(claim) is False
        assert jobs(state)[0].claimed_by == "survivor"

    def test_a_job_that_keeps_killing_its_workers_fails_with_a_reason(
        self, state: AppState, queued: int
    ) -> None:
        limit = state.settings.scan_max_attempts
        for attempt in range(limit):
            assert worker(state, f"w{attempt}").claim() is not None
            with state.db.transaction() as session:
                session.execute(update(ScanJob).values(lease_expires_at=now_ms() - 1))
        assert worker(state, "last").claim() is None
        [job] = jobs(state)
        assert job.status == "failed"
        assert f"after {limit} attempts" in (job.error or "")
        with state.db.transaction(write=False) as session:
            summary = session.get(VersionScan, queued)
        assert summary is not None
        assert summary.verdict == "failed"

    def test_a_worker_that_is_stopping_hands_its_job_back(
        self, state: AppState, queued: int
    ) -> None:
        stopping = worker(state, "stopping")
        claim = stopping.claim()
        assert claim is not None
        stopping.stop.set()  # the server shuts down while the job is claimed
        assert stopping.process(claim) is False
        [job] = jobs(state)
        assert (job.status, job.attempts, job.claimed_by) == ("queued", 0, None)
        assert worker(state, "next").run_once() is True
        assert jobs(state)[0].status == "done"

    def test_a_queued_job_survives_a_restart(self, settings: Settings, queued: int) -> None:
        restarted = AppState.open(settings)  # a new process: nothing but the database is shared
        try:
            assert worker(restarted, "after-restart").run_once() is True
            [job] = jobs(restarted)
            assert job.status == "done"
        finally:
            restarted.close()

    def test_enqueueing_twice_keeps_one_waiting_job(self, state: AppState, queued: int) -> None:
        with state.db.transaction() as session:
            again = ScanQueue(session).enqueue(queued, "someone")
            forced = ScanQueue(session).enqueue(queued, "someone", force=True)
        assert len(jobs(state)) == 1
        assert again.id == forced.id
        assert jobs(state)[0].force is True


class TestBacklog:
    def test_versions_from_before_scanning_are_queued_once(
        self, http: TestClient, state: AppState, queued: int
    ) -> None:
        with state.db.transaction() as session:  # as if registered before this feature
            session.execute(delete(ScanJob))
        assert http.get("/api/v1/models/fraud/versions/1/scan").json()["verdict"] == "pending"
        with state.db.transaction() as session:
            assert ScanQueue(session).enqueue_unscanned() == 1
        with state.db.transaction() as session:
            assert ScanQueue(session).enqueue_unscanned() == 0
        assert worker(state, "w").run_once() is True
        scan = http.get("/api/v1/models/fraud/versions/1/scan").json()
        assert scan["verdict"] == "no_known_dangerous_pattern"
        assert scan["job"]["requested_by"] == "system"


class TestWaiting:
    def test_waiting_for_a_scan_no_worker_runs_times_out(
        self, http: TestClient, queued: int
    ) -> None:
        from charter.client import Client

        with Client(http_client=http) as sdk, pytest.raises(TimeoutError, match="still pending"):
            sdk.wait_for_scan("fraud/1", timeout=0.5)
        assert http.get("/api/v1/models/fraud/versions/1/scan").json()["verdict"] == "pending"


class TestWorkerThreads:
    def test_workers_started_with_the_app_drain_the_queue_and_stop(
        self, database_url: str, tmp_path: Path
    ) -> None:
        from charter.api.app import create_app

        settings = Settings(
            data_dir=tmp_path / "live", database_url=database_url, scan_poll_seconds=0.05
        )
        state = AppState.open(settings)
        try:
            with TestClient(create_app(settings, state)) as http:
                assert "charter-scan-0" in {t.name for t in threading.enumerate()}
                create_model(http, "m")
                files = {"w.safetensors": model_files.safetensors_file()}
                number = ready_version_with_files(http, "m", files)["version"]
                scan = http.get(f"/api/v1/models/m/versions/{number}/scan", params={"wait": 30})
                assert scan.json()["verdict"] == "cannot_carry_code"
            assert not [t for t in threading.enumerate() if t.name.startswith("charter-scan")]
        finally:
            state.close()
