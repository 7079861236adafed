"""The Alembic migrations: they go up and down cleanly on both backends, on a migrated and on
an empty database, ``charter db upgrade`` applies them, and head matches the models exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from charter import migrate
from charter.config import Settings
from charter.db import create_db_engine
from charter.tables import metadata
from tests.support.postgres import PostgresServer

CHARTER = Path(sys.executable).parent / "charter"
# Autogenerate cannot compare the expression indexes on tag values (key, substr(value, 1, 200)):
# SQLite's reflection skips them and Alembic then skips their metadata side. Only these two
# indexes are allowed to go uncompared; any other warning still fails the test.
EXPRESSION_INDEXES = ("ix_registered_model_tags_key_value", "ix_model_version_tags_key_value")
APPLICATION_TABLES = {
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "model_version_metrics",
    "model_aliases",
    "lifecycle_holdings",
    "version_files",
    "version_signatures",
    "model_card_fields",
    "version_card_fields",
}


def downgrade(engine: Engine, revision: str = "base") -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def schema_differences(engine: Engine) -> list[object]:
    """What autogenerate would write to bring the database to the models; empty when equal."""
    with warnings.catch_warnings(), engine.connect() as connection:
        for index in EXPRESSION_INDEXES:
            warnings.filterwarnings(
                "ignore", message=f".*expression-based index '?{index}'?", category=Warning
            )
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


@pytest.fixture
def migrated_engine(settings: Settings) -> Iterator[Engine]:
    """The test's database, already at head (the conftest migrates its template)."""
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database that has never seen a migration: a new SQLite file or a new PostgreSQL db."""
    if backend == "sqlite":
        engine = create_db_engine(Settings(data_dir=tmp_path / "fresh"))
        yield engine
        engine.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"charter_fresh_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    engine = create_db_engine(Settings(data_dir=tmp_path / "unused", database_url=url))
    yield engine
    engine.dispose()
    server.drop_database(name)


class TestUpAndDown:
    def test_migrated_database_goes_down_to_base_and_up_again(
        self, migrated_engine: Engine
    ) -> None:
        head = migrate.head_revision()
        migrate.upgrade(migrated_engine)  # already at head: a no-op
        assert migrate.current_revision(migrated_engine) == head

        downgrade(migrated_engine)
        assert migrate.current_revision(migrated_engine) is None
        assert tables(migrated_engine) & APPLICATION_TABLES == set()

        migrate.upgrade(migrated_engine)
        assert migrate.current_revision(migrated_engine) == head
        assert tables(migrated_engine) >= APPLICATION_TABLES
        assert schema_differences(migrated_engine) == []

    def test_empty_database_goes_up_down_and_up(self, empty_engine: Engine) -> None:
        head = migrate.head_revision()
        assert migrate.current_revision(empty_engine) is None

        migrate.upgrade(empty_engine)
        assert migrate.current_revision(empty_engine) == head
        assert tables(empty_engine) >= APPLICATION_TABLES

        downgrade(empty_engine)
        assert migrate.current_revision(empty_engine) is None
        assert tables(empty_engine) & APPLICATION_TABLES == set()

        migrate.upgrade(empty_engine)
        assert migrate.current_revision(empty_engine) == head
        assert schema_differences(empty_engine) == []


class TestHeadMatchesTheModels:
    def test_autogenerate_finds_no_difference(self, migrated_engine: Engine) -> None:
        assert schema_differences(migrated_engine) == []


def run_charter(*args: str) -> subprocess.CompletedProcess[str]:
    # Only the flags may configure the command: no CHARTER_* variable of this shell leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    return subprocess.run(
        [str(CHARTER), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


class TestDbUpgradeCommand:
    def test_fresh_data_dir_is_migrated_and_the_revision_printed(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "fresh-install"
        head = migrate.head_revision()
        assert head is not None

        result = run_charter("db", "upgrade", "--data-dir", str(data_dir))

        assert result.returncode == 0, result.stderr
        assert head in result.stdout
        engine = create_db_engine(Settings(data_dir=data_dir))
        try:
            assert migrate.current_revision(engine) == head
            assert tables(engine) >= APPLICATION_TABLES
        finally:
            engine.dispose()

        again = run_charter("db", "upgrade", "--data-dir", str(data_dir))
        assert again.returncode == 0, again.stderr
        assert head in again.stdout

    def test_fresh_postgres_database_is_migrated(
        self, postgres_server: PostgresServer, tmp_path: Path
    ) -> None:
        name = f"charter_cli_{uuid.uuid4().hex[:12]}"
        url = postgres_server.create_database(name)
        try:
            result = run_charter(
                "db", "upgrade", "--database-url", url, "--data-dir", str(tmp_path / "d")
            )
            assert result.returncode == 0, result.stderr
            head = migrate.head_revision()
            assert head is not None
            assert head in result.stdout
            engine = create_db_engine(Settings(data_dir=tmp_path / "d", database_url=url))
            try:
                assert migrate.current_revision(engine) == head
            finally:
                engine.dispose()
        finally:
            postgres_server.drop_database(name)
