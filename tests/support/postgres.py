"""A throwaway PostgreSQL server for tests: initdb in a temporary directory, start, stop, delete."""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

from .ports import free_port

DEFAULT_DATABASE = "charter_test"
SUPERUSER = "postgres"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
# Durability is worthless for a server that is deleted after the run, and costs most of its time.
_SERVER_OPTIONS = (
    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
)
_INITDB_ARGS = ("-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
_START_ATTEMPTS = 3


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl, postgres) on this machine."""


class PostgresServerError(RuntimeError):
    """initdb, pg_ctl or the server failed; the message carries their output."""


def postgres_required() -> bool:
    """Whether a missing PostgreSQL must fail the run rather than skip its tests."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("CHARTER_TEST_REQUIRE_POSTGRES") == "1"
    )


def _is_server_bin(directory: Path) -> bool:
    return all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _major_version(bin_dir: Path) -> tuple[int, ...]:
    name = bin_dir.parent.name
    return tuple(int(part) for part in name.split(".")) if name.replace(".", "").isdigit() else ()


def find_pg_bin() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when there is none."""
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        # pg_ctl on PATH may be a symlink or wrapper beside which initdb and postgres do not lie.
        for candidate in (Path(on_path).resolve().parent, Path(on_path).parent):
            if _is_server_bin(candidate):
                return candidate
    installed = [d for d in _DEBIAN_ROOT.glob("*/bin") if _is_server_bin(d)]
    return max(installed, key=_major_version) if installed else None


def _run_as_root() -> bool:
    return os.geteuid() == 0


def _require_superuser_account() -> None:
    # initdb refuses to run as root, so root runs the server as the account the package creates.
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresNotFoundError(
            f"running as root needs a '{SUPERUSER}' account to run PostgreSQL as: "
            "install the 'postgresql' package (`make postgres-deps`)"
        ) from None


class PostgresServer:
    """One PostgreSQL cluster on a free loopback port, trusting local connections as `postgres`."""

    def __init__(self, pg_bin: Path | None = None) -> None:
        self._pg_bin = pg_bin
        self._directory: Path | None = None
        self._port: int | None = None

    @property
    def directory(self) -> Path:
        """The temporary directory with the data dir, the socket and the server log."""
        if self._directory is None:
            raise RuntimeError("the PostgreSQL server has not been started")
        return self._directory

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the PostgreSQL server has not been started")
        return self._port

    @property
    def dsn(self) -> str:
        """SQLAlchemy URL of the `charter_test` database created at start."""
        return self.dsn_for(DEFAULT_DATABASE)

    def dsn_for(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = DEFAULT_DATABASE) -> str:
        """libpq URI of a database, for psycopg.connect()."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        pg_bin = self._pg_bin or find_pg_bin()
        if pg_bin is None:
            raise PostgresNotFoundError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH "
                f"or under {_DEBIAN_ROOT}/*/bin: install the 'postgresql' package "
                "(`make postgres-deps` does so as root)"
            )
        if self._directory is not None:
            raise RuntimeError("the PostgreSQL server is already started")
        if _run_as_root():
            _require_superuser_account()
        self._directory = self._make_directory()
        try:
            self._run(pg_bin / "initdb", "-D", str(self._data_dir), *_INITDB_ARGS)
            self._start_on_free_port(pg_bin)
            self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEFAULT_DATABASE)))
        except BaseException:
            self._remove_directory()
            raise

    def stop(self) -> None:
        """Stop the server and delete its files; safe to call twice or after a failed start."""
        if self._directory is None:
            return
        pg_bin = self._pg_bin or find_pg_bin()
        try:
            if self._port is not None and pg_bin is not None:
                self._run(pg_bin / "pg_ctl", "-D", str(self._data_dir), "-m", "fast", "-w", "stop")
        finally:
            self._remove_directory()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database, as a copy of `template` when given, and return its SQLAlchemy URL.

        Copying an already-migrated template is much cheaper than migrating each new database;
        PostgreSQL refuses the copy while anyone is connected to the template.
        """
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._execute(statement)
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending the sessions still connected to it."""
        # WITH (FORCE) terminates the other sessions and drops in one step, so none can slip in.
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    @property
    def _data_dir(self) -> Path:
        return self.directory / "data"

    def _make_directory(self) -> Path:
        # Under /tmp and 0o755 so that, when we are root, the `postgres` user can reach it.
        directory = Path(tempfile.mkdtemp(prefix="charter-pg-", dir="/tmp"))
        directory.chmod(0o755)
        if _run_as_root():
            shutil.chown(directory, SUPERUSER, SUPERUSER)
        return directory

    def _remove_directory(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory = None
        self._port = None

    def _start_on_free_port(self, pg_bin: Path) -> None:
        log = self.directory / "server.log"
        data = str(self._data_dir)
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = free_port()
            listen = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.directory}"
            start = ("-o", f"{listen} {_SERVER_OPTIONS}", "start")
            try:
                self._run(pg_bin / "pg_ctl", "-D", data, "-l", str(log), "-w", "-t", "60", *start)
            except PostgresServerError as error:
                # Another process may take the port between free_port() and the server's bind.
                log_text = log.read_text(errors="replace") if log.exists() else ""
                if "already in use" not in log_text or attempt == _START_ATTEMPTS:
                    raise PostgresServerError(f"{error}\nserver log:\n{log_text[-4000:]}") from None
                log.unlink()
                continue
            self._port = port
            return

    def _run(self, program: Path, *args: str) -> None:
        command = [str(program), *args]
        if _run_as_root():
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        # The caller's cwd (say /root) may be unreadable by `postgres`; the temp dir never is.
        result = subprocess.run(
            command, cwd=self.directory, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PostgresServerError(
                f"{' '.join(command)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )

    def _execute(self, statement: sql.Composed) -> None:
        # CREATE and DROP DATABASE cannot run inside a transaction block.
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as connection:
            connection.execute(statement)
