"""Every route that takes a database session commits it on its own thread (no deadlocks)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from charter.api.app import create_app
from charter.api.deps import BlobsDep, ContextDep, ReadSessionDep, SessionDep
from charter.api.mlflow import artifacts as mlflow_artifacts
from charter.api.mlflow import registry_models, registry_versions
from charter.api.mlflow import tracking as mlflow_tracking
from charter.api.routes import (
    approvals,
    artifacts,
    audit,
    auth,
    health,
    identity,
    inspection,
    lifecycle,
    lineage,
    modelcards,
    models,
    signatures,
    versions,
)
from charter.api.routing import (
    LOOP_WRITE_WAIT_SECONDS,
    TransactionalRoute,
    _takes,
    on_event_loop,
    on_worker_thread,
)
from charter.api.state import AppState
from charter.config import Settings

ROUTERS = [
    approvals.router,
    artifacts.router,
    audit.router,
    auth.router,
    health.router,
    identity.router,
    inspection.router,
    lifecycle.router,
    lineage.router,
    modelcards.router,
    models.router,
    signatures.router,
    versions.router,
    mlflow_artifacts.router,
    registry_models.router,
    registry_versions.router,
    mlflow_tracking.router,
]


def test_routes_with_a_session_are_transactional() -> None:
    plain = [
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and not isinstance(route, TransactionalRoute)
        and _takes(getattr(route.endpoint, "__wrapped__", route.endpoint), Session)
    ]
    assert plain == []


def test_answers_that_are_their_response_model_are_encoded_on_the_worker_thread() -> None:
    # The encoder must not be left out silently (a router passes response_class as a
    # placeholder, which once made every route fall back to FastAPI's second thread hop).
    encoded = [
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, TransactionalRoute) and getattr(route.endpoint, "encoder", None)
    ]
    assert "/api/v1/models/{name}/versions/{version}" in encoded
    assert "/model-versions/search" in encoded
    modelled = [
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, TransactionalRoute) and hasattr(route.endpoint, "encoder")
    ]
    assert len(encoded) >= 0.8 * len(modelled)


def test_there_are_transactional_routes_in_every_api() -> None:
    for router in (models.router, mlflow_tracking.router, registry_models.router):
        assert any(isinstance(r, TransactionalRoute) for r in router.routes)


READ_ONLY_POSTS = [
    ("/api/2.0/mlflow/registered-models/get-latest-versions", {"name": "m"}),
    ("/api/2.0/mlflow/experiments/search", {"max_results": 10}),
    ("/api/2.0/mlflow/runs/search", {"experiment_ids": ["0"]}),
    ("/api/2.0/mlflow/logged-models/search", {"experiment_ids": ["0"]}),
]


def test_read_only_posts_do_not_wait_for_the_writer(tmp_path: Path, sqlite_template: Path) -> None:
    """MLflow sends some reads as POST; they must not queue behind SQLite's write lock.

    SQLite only: PostgreSQL has no database-wide write lock to wait for.
    """
    target = tmp_path / "data" / "charter.db"
    target.parent.mkdir(parents=True)
    shutil.copyfile(sqlite_template, target)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{target}",
        sqlite_busy_timeout_seconds=0.5,
    )
    state = AppState.open(settings)
    holder = sqlite3.connect(target, isolation_level=None)
    try:
        with TestClient(create_app(settings, state)) as http:
            assert http.post("/api/v1/models", json={"name": "m"}).status_code == 201
            holder.execute("BEGIN IMMEDIATE")  # another process is writing, and keeps on
            for path, body in READ_ONLY_POSTS:
                answer = http.post(path, json=body)
                assert answer.status_code == 200, (path, answer.text)
            # The same lock does stop a write: the check above can fail.
            refused = http.post("/api/v1/models", json={"name": "other"})
            assert refused.status_code == 503, refused.text
    finally:
        holder.rollback()
        holder.close()
        state.close()


def thread_probe_app(state: AppState) -> FastAPI:
    """Endpoints that say which thread ran them; the async one runs on the event loop."""
    router = APIRouter(route_class=TransactionalRoute)

    @router.get("/loop")
    async def loop() -> dict[str, int]:
        return {"thread": threading.get_ident()}

    @router.get("/read")
    def read(session: SessionDep, ctx: ContextDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        return {"thread": threading.get_ident()}

    @router.post("/write")
    def write(session: SessionDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        return {"thread": threading.get_ident()}

    @router.post("/read-post")
    def read_post(session: ReadSessionDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        return {"thread": threading.get_ident()}

    @router.get("/long")
    @on_worker_thread
    def long(session: SessionDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        return {"thread": threading.get_ident()}

    @router.get("/blobs")
    def blobs(session: SessionDep, store: BlobsDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        return {"thread": threading.get_ident()}

    @router.post("/blobs-handed-on")
    @on_event_loop
    def blobs_handed_on(session: SessionDep, store: BlobsDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        return {"thread": threading.get_ident()}

    app = FastAPI()
    app.state.charter = state
    app.include_router(router)
    return app


def test_on_sqlite_endpoints_that_reach_only_the_database_run_on_the_event_loop(
    state: AppState, backend: str
) -> None:
    """On SQLite, reads and writes skip the thread hop; PostgreSQL (network round trips),
    long reads and endpoints that reach past the database (here the blob store) keep to
    worker threads, unless they say they only hand the store on."""
    with TestClient(thread_probe_app(state)) as http:
        loop = http.get("/loop").json()["thread"]

        def ran_on_loop(method: str, path: str) -> bool:
            answer = http.request(method, path)
            assert answer.status_code == 200, answer.text
            return bool(answer.json()["thread"] == loop)

        on_sqlite = backend == "sqlite"
        assert ran_on_loop("GET", "/read") is on_sqlite
        assert ran_on_loop("POST", "/read-post") is on_sqlite
        assert ran_on_loop("POST", "/write") is on_sqlite
        assert ran_on_loop("GET", "/long") is False
        assert ran_on_loop("GET", "/blobs") is False
        assert ran_on_loop("POST", "/blobs-handed-on") is on_sqlite


def test_a_write_that_finds_the_writers_lock_held_waits_on_a_worker_thread(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The event loop waits for SQLite's writers' lock only briefly; a write that finds it
    held longer (by another writer of this installation) waits on a worker thread, and the
    loop answers other requests meanwhile."""
    target = tmp_path / "data" / "charter.db"
    target.parent.mkdir(parents=True)
    shutil.copyfile(sqlite_template, target)
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{target}")
    state = AppState.open(settings)
    try:
        with TestClient(thread_probe_app(state)) as http:
            loop = http.get("/loop").json()["thread"]
            holder = state.db.session(write=True)
            holder.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: holds the writers' lock
            answers: list[int] = []
            writer = threading.Thread(
                target=lambda: answers.append(http.post("/write").json()["thread"])
            )
            writer.start()
            time.sleep(LOOP_WRITE_WAIT_SECONDS * 4)
            # The write is waiting, and not on the loop: a read still gets through.
            assert writer.is_alive()
            assert http.get("/read").status_code == 200
            holder.commit()
            holder.close()
            writer.join(timeout=30)
            assert answers
            assert answers[0] != loop
    finally:
        state.close()
