"""The throwaway PostgreSQL server that tests run against: databases from templates, cleanup."""

from collections.abc import Iterator

import psycopg
import pytest

from tests.support.postgres import PostgresServer, find_pg_bin


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as started:
        yield started


class TestFindPgBin:
    def test_finds_a_directory_with_the_server_binaries(self) -> None:
        pg_bin = find_pg_bin()

        assert pg_bin is not None
        assert {"initdb", "pg_ctl", "postgres"} <= {path.name for path in pg_bin.iterdir()}


class TestCreateDatabase:
    def test_default_database_answers(self, server: PostgresServer) -> None:
        assert server.dsn == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/charter_test"
        with psycopg.connect(server.conninfo()) as connection:
            assert connection.execute("select 1").fetchone() == (1,)

    def test_copy_of_a_template_has_its_tables_and_rows(self, server: PostgresServer) -> None:
        server.create_database("template_copied")
        with psycopg.connect(server.conninfo("template_copied")) as connection:
            connection.execute("create table marker (value text)")
            connection.execute("insert into marker values ('from the template')")

        dsn = server.create_database("copy_of_template", template="template_copied")

        assert dsn == server.dsn_for("copy_of_template")
        with psycopg.connect(server.conninfo("copy_of_template")) as connection:
            assert connection.execute("select 1").fetchone() == (1,)
            assert connection.execute("select value from marker").fetchall() == [
                ("from the template",)
            ]
        server.drop_database("copy_of_template")
        server.drop_database("template_copied")


class TestDropDatabase:
    def test_ends_open_sessions_and_removes_the_database(self, server: PostgresServer) -> None:
        server.create_database("dropped_while_open")
        open_session = psycopg.connect(server.conninfo("dropped_while_open"), autocommit=True)

        server.drop_database("dropped_while_open")

        with pytest.raises(psycopg.OperationalError):
            open_session.execute("select 1")
        open_session.close()
        with psycopg.connect(server.conninfo("postgres")) as connection:
            names = connection.execute("select datname from pg_database").fetchall()
        assert ("dropped_while_open",) not in names


class TestStop:
    def test_stops_the_server_and_deletes_its_files(self) -> None:
        server = PostgresServer()
        server.start()
        directory, conninfo = server.directory, server.conninfo()
        with psycopg.connect(conninfo) as connection:
            assert connection.execute("select 1").fetchone() == (1,)

        server.stop()

        assert not directory.exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(conninfo, connect_timeout=5)
        server.stop()
