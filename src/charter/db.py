"""Engine, sessions and the declarative base shared by every area's tables.

The request (or CLI command, or background job) owns the session and commits once; services
only flush. On SQLite a writing session begins ``IMMEDIATE`` so that it waits for the write
lock up front instead of failing with SQLITE_BUSY when a deferred read later tries to write.

SQLite makes a writer that finds the lock taken sleep and retry (1, 2, 5, 10... ms), so under
concurrent writes most time went to sleeping and the slowest writer waited half a second.
Charter's own writers therefore queue first on a lock that hands over at once: a thread lock
within the process, then an advisory file lock (flock) across the server's processes. SQLite's
busy timeout still covers any other writer (a CLI command, another tool).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    Executable,
    MetaData,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    SessionTransaction,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.pool import ConnectionPoolEntry

from charter.config import Settings
from charter.errors import Unavailable

# Stable constraint names make Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "charter_write"
LOCAL_READ = "charter_local_read"
WRITERS = "charter_writers"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def now_ms() -> int:
    """Milliseconds since the epoch, UTC: how every timestamp is stored."""
    return time.time_ns() // 1_000_000


class Timestamps:
    """Creation and last-update times in milliseconds since the epoch (UTC)."""

    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


def create_db_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url, settings)
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _create_sqlite_engine(url: str, settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": settings.sqlite_busy_timeout_seconds, "check_same_thread": False},
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode is durable across application crashes; only an OS crash may
        # lose the last transactions, never corrupt the database.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_seconds * 1000)}")
        cursor.close()
        # SQLite's LIKE ignores ASCII case by default; Charter's LIKE is case-sensitive.
        dbapi_conn.execute("PRAGMA case_sensitive_like=ON")

    database = engine.url.database
    writers = WriterLock(Path(f"{database}-writers.lock"), settings.sqlite_busy_timeout_seconds)
    if database and database != ":memory:":
        _WRITER_LOCKS[engine] = writers

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        if not immediate:
            # On the driver's connection: SQLAlchemy's statement machinery costs more than
            # SQLite's deferred BEGIN, and every read transaction runs this.
            conn.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]
            return
        lock = _WRITER_LOCKS.get(engine)
        if lock is not None:
            lock.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    return engine


_POLL_SECONDS = 0.0002  # a write holds the lock for about a millisecond


class WriterLock:
    """Queues this installation's SQLite writers: one at a time, handed over without sleeps.

    Held from BEGIN IMMEDIATE until the session's transaction ends, on one thread (a request's
    transaction never leaves its thread: charter.api.routing). Re-entrant per thread, because
    a nested write on the same thread must reach SQLite's own busy handling, as before.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._threads = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._fd: int | None = None

    def acquire(self) -> None:
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return
        if not self._threads.acquire(timeout=self.timeout):
            raise Unavailable("the database is busy with other writes; retry")
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            # Blocks in the kernel and wakes as soon as the other process unlocks; a process
            # that dies releases it. At most one thread per process waits here.
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._owner, self._depth = me, 1

    def acquire_within(self, seconds: float) -> bool:
        """Takes the lock if it comes within ``seconds``; False (holding nothing) if not.

        For a caller that must not wait long (the event loop): the other process's lock is
        polled, since flock cannot wait with a deadline.
        """
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return True
        deadline = time.monotonic() + seconds
        if not self._threads.acquire(timeout=seconds):
            return False
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self._threads.release()
                        return False
                    time.sleep(_POLL_SECONDS)
        except BaseException:
            self._threads.release()
            raise
        self._owner, self._depth = me, 1
        return True

    def release(self) -> None:
        """Releases the lock if this thread holds it (a no-op otherwise)."""
        if self._owner != threading.get_ident():
            return
        self._depth -= 1
        if self._depth:
            return
        self._owner = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


class Database:
    """One engine and its session factories: one for reads, one for writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(
            bind=engine,
            expire_on_commit=False,
            autoflush=False,
            info={LOCAL_READ: engine.dialect.name == "sqlite"},
        )
        writers = _WRITER_LOCKS.get(engine)
        self._write = sessionmaker(
            bind=engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
            info={WRITE_OPTION: True, WRITERS: writers},
        )
        if writers is not None:

            @event.listens_for(self._write, "after_transaction_end")
            def _release(_session: Session, transaction: SessionTransaction) -> None:
                # After the commit or rollback reached SQLite: the next writer may begin.
                if transaction.parent is None:
                    writers.release()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self, *, write: bool) -> Session:
        return (self._write if write else self._read)()

    @staticmethod
    def writes(session: Session) -> bool:
        """Whether the session came from ``session(write=True)``."""
        return bool(session.info.get(WRITE_OPTION))

    @staticmethod
    @contextmanager
    def writers_lock_within(session: Session, seconds: float) -> Iterator[bool]:
        """For a write session on SQLite: holds the writers' lock for the block if it comes
        within ``seconds`` (True; the session's BEGIN then takes it again, re-entrantly), else
        holds nothing (False). Always False for other sessions."""
        lock: WriterLock | None = session.info.get(WRITERS)
        held = lock is not None and lock.acquire_within(seconds)
        try:
            yield held
        finally:
            if held and lock is not None:
                lock.release()

    @staticmethod
    def is_local_read(session: Session) -> bool:
        """Whether the session is a read on an embedded database (SQLite): no network round
        trip and, in WAL mode, no waiting for a writer; its statements only cost CPU."""
        return bool(session.info.get(LOCAL_READ))

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work for code outside a request: commit on success, roll back on error."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as exc:
            raise Unavailable(f"database unreachable: {exc.orig or exc}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


class Prepared:
    """A statement that hot paths run, executed on SQLite's own cursor.

    SQLAlchemy's way through an execution (cache key, execution context, result processing)
    costs several times what SQLite takes to answer an indexed lookup, and the credential
    check, the audit append and the moves of aliases and stages run on most requests. So on
    SQLite the statement is compiled once and sent to the driver directly; other databases
    take the ordinary way, where the network round trip dwarfs it. Only for statements whose
    columns need no conversion (integers, strings, NULLs): rows come back as the driver gives
    them. Unlike ``session.execute``, neither way flushes the session's pending changes first.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def rows(self, session: Session, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        conn = session.connection()  # begins the session's transaction if need be
        if conn.dialect.name != "sqlite":
            return session.execute(self.statement, params).all()
        return self._on_sqlite(conn, params, fetch=True)

    def run(self, session: Session, params: dict[str, Any]) -> None:
        """Execute a statement that returns no rows (an INSERT, UPDATE or DELETE)."""
        conn = session.connection()
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, params)
            return
        self._on_sqlite(conn, params, fetch=False)

    def _on_sqlite(
        self, conn: Connection, params: dict[str, Any], *, fetch: bool
    ) -> Sequence[Sequence[Any]]:
        sql, names, fixed = self._sqlite or self._compile(conn)
        values = [params[n] if n in params else fixed[n] for n in names]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, values)
            return cursor.fetchall() if fetch else []
        except sqlite3.DatabaseError as exc:
            # As SQLAlchemy would raise it (IntegrityError, OperationalError...), so that the
            # callers' and the routes' handlers see the same errors on every path.
            raise DBAPIError.instance(sql, values, exc, sqlite3.DatabaseError) from exc
        finally:
            cursor.close()

    def _compile(self, conn: Connection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        compiled = self.statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
        self._sqlite = (compiled.string, tuple(compiled.positiontup), compiled.params)
        return self._sqlite


class PreparedInsert(Prepared):
    """A prepared INSERT of a new row of ``model``: every column but ``id``, which comes back.

    ``add`` inserts an ORM object that way instead of through the session's flush (its unit of
    work cost more than the statement) and keeps the object in the session as if it had been
    loaded, so later changes to it in the transaction are flushed as usual. Every column but
    the id must be set on the object: an unset one would be read back from the database.
    """

    def __init__(self, model: type[Base]) -> None:
        table: Table = model.__table__  # type: ignore[assignment]
        self.columns = [c for c in table.columns if c.key != "id"]
        values: dict[str, Any] = {c.key: bindparam(f"i_{c.key}") for c in self.columns}
        super().__init__(insert(table).values(values).returning(table.c.id))

    def add(self, session: Session, row: Base) -> None:
        values = {f"i_{c.key}": getattr(row, c.key) for c in self.columns}
        row.id = int(self.rows(session, values)[0][0])  # type: ignore[attr-defined]
        make_transient_to_detached(row)
        session.add(row)
