"""Fixtures shared by every test: a clean database per test on SQLite and PostgreSQL.

Each backend's schema is migrated once per run into a template (a file for SQLite, a
template database for PostgreSQL) and copied for each test, so every test starts clean
without paying for the migrations again.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from charter import migrate
from charter.api.app import create_app
from charter.api.state import AppState
from charter.config import Settings
from charter.db import create_db_engine
from tests.support.postgres import PostgresServer

TEMPLATE_DB = "charter_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole run; a missing one fails the tests, never skips them."""
    server = PostgresServer()
    server.start()
    try:
        dsn = server.create_database(TEMPLATE_DB)
        settings = Settings(database_url=dsn)
        engine = create_db_engine(settings)
        migrate.upgrade(engine)
        engine.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sqlite-template")
    settings = Settings(data_dir=directory)
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    engine.dispose()
    return directory / "charter.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database of the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "data" / "charter.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"charter_t{next(_counter)}"
    dsn = server.create_database(name, template=TEMPLATE_DB)
    yield dsn
    server.drop_database(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def state(settings: Settings) -> Iterator[AppState]:
    opened = AppState.open(settings)
    yield opened
    opened.close()


@pytest.fixture
def app(settings: Settings, state: AppState) -> FastAPI:
    return create_app(settings, state)


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    """The native API in process, over the ASGI interface."""
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client
