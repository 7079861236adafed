"""Every query of the audit trail.

Events are read and written with Core statements, not ORM objects: rows go straight into the
chain's tuples, and no identity map can hold a stale head between transactions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from charter.audit.chain import ROW_FIELDS, Row
from charter.audit.models import HEAD_ROW_ID, AuditCheckpoint, AuditEvent, AuditHead
from charter.audit.schemas import AuditFilter, CheckpointView
from charter.db import Prepared
from charter.errors import Unavailable

EVENTS = cast(Table, AuditEvent.__table__)
# The event columns in the chain's row order (``charter.audit.chain.ROW_FIELDS``).
_COLUMN_OF = {"time": "occurred_at", "before": "before_json", "after": "after_json"}
ROW_COLUMNS = [EVENTS.c[_COLUMN_OF.get(name, name)] for name in ROW_FIELDS]
STREAM_BATCH = 10_000

# Every write appends an event with these three statements: built once, and on SQLite sent to
# the driver directly (``db.Prepared``), since SQLAlchemy's execution cost more than SQLite's.
_HEAD = cast(Table, AuditHead.__table__)
_READ_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ROW_ID)
_LOCK_HEAD = Prepared(_READ_HEAD.with_for_update())
_INSERT_EVENT = Prepared(
    insert(EVENTS).values({c.name: bindparam(f"e_{c.name}") for c in ROW_COLUMNS})
)
_MOVE_HEAD = Prepared(
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW_ID)
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the head and appends -----------------------------------------------------------------

    def lock_head(self) -> tuple[int, str]:
        """The last seq and hash, locked until the transaction ends.

        ``FOR UPDATE`` makes every other appender on PostgreSQL wait here for this transaction
        to commit or roll back; on SQLite a writing transaction already holds the database's
        write lock (BEGIN IMMEDIATE) and the clause is left out.
        """
        rows = _LOCK_HEAD.rows(self.session, {})
        if not rows:
            raise Unavailable("the audit trail has no head row: run `charter db upgrade`")
        return int(rows[0][0]), str(rows[0][1])

    def head(self) -> tuple[int, str]:
        row = self.session.execute(_READ_HEAD).one_or_none()
        if row is None:
            raise Unavailable("the audit trail has no head row: run `charter db upgrade`")
        return int(row[0]), str(row[1])

    def append(self, row: Row) -> None:
        """Insert an event row and move the head to it (the head must be locked)."""
        values = {f"e_{c.name}": value for c, value in zip(ROW_COLUMNS, row, strict=True)}
        _INSERT_EVENT.run(self.session, values)
        _MOVE_HEAD.run(self.session, {"new_seq": row[0], "new_hash": row[-1]})

    # -- reads --------------------------------------------------------------------------------

    def get(self, seq: int) -> Row | None:
        found = self.session.execute(select(*ROW_COLUMNS).where(EVENTS.c.seq == seq)).one_or_none()
        return tuple(found) if found is not None else None

    def search(self, where: AuditFilter, limit: int, before_seq: int | None) -> list[Row]:
        """Events that match, newest first, strictly before ``before_seq`` (the keyset)."""
        query = select(*ROW_COLUMNS).where(*conditions(where))
        if before_seq is not None:
            query = query.where(EVENTS.c.seq < before_seq)
        rows = self.session.execute(query.order_by(EVENTS.c.seq.desc()).limit(limit))
        return [tuple(r) for r in rows]

    def stream(self, first_seq: int = 1, last_seq: int | None = None) -> Iterator[Row]:
        """Every event from ``first_seq`` in seq order, fetched in batches.

        ``yield_per`` streams on the server side on PostgreSQL (a named cursor), so memory
        stays flat however long the chain.
        """
        query = select(*ROW_COLUMNS).where(EVENTS.c.seq >= first_seq)
        if last_seq is not None:
            query = query.where(EVENTS.c.seq <= last_seq)
        yield from self._driver_batches(query.order_by(EVENTS.c.seq))

    def _driver_batches(self, query: Select[Any]) -> Iterator[Row]:
        """Rows as the driver's own tuples, in the session's transaction.

        Verification reads every event, and SQLAlchemy's Row objects cost about a third of
        its time; the query has integer parameters only, so it is compiled with them inline.
        On PostgreSQL a named cursor keeps the result on the server (memory stays flat).
        """
        connection = self.session.connection()
        sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        driver = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            cursor = driver.cursor(name=f"charter_audit_{uuid4().hex}")  # type: ignore[union-attr]
        else:
            cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(STREAM_BATCH):
                yield from batch
        finally:
            cursor.close()

    def stream_matching(self, where: AuditFilter, first_seq: int, last_seq: int) -> Iterator[Row]:
        query = select(*ROW_COLUMNS).where(
            *conditions(where), EVENTS.c.seq >= first_seq, EVENTS.c.seq <= last_seq
        )
        yield from self._batches(query.order_by(EVENTS.c.seq))

    def stream_links(self, first_seq: int, last_seq: int) -> Iterator[Row]:
        """``(seq, prev_hash, hash)`` of every event in the range: the chain's skeleton."""
        query = (
            select(EVENTS.c.seq, EVENTS.c.prev_hash, EVENTS.c.hash)
            .where(EVENTS.c.seq >= first_seq, EVENTS.c.seq <= last_seq)
            .order_by(EVENTS.c.seq)
        )
        yield from self._batches(query)

    def _batches(self, query: Select[Any]) -> Iterator[Row]:
        result = self.session.execute(query.execution_options(yield_per=STREAM_BATCH))
        try:
            for partition in result.partitions():
                yield from partition
        finally:
            result.close()

    def seq_of_hash(self, chain_hash: str) -> int | None:
        """The event with this hash; a full scan, only ever run to explain a broken chain."""
        return self.session.scalars(
            select(EVENTS.c.seq).where(EVENTS.c.hash == chain_hash).limit(1)
        ).first()

    def seq_range(self, where: AuditFilter) -> tuple[int, int] | None:
        low, high = self.session.execute(
            select(func.min(EVENTS.c.seq), func.max(EVENTS.c.seq)).where(*conditions(where))
        ).one()
        return None if low is None else (int(low), int(high))

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(EVENTS)) or 0)

    def renamed_from(self, names: Sequence[str]) -> set[str]:
        """Earlier names of models now called one of ``names`` (from ``model.rename`` events)."""
        rows = self.session.execute(
            select(EVENTS.c.before_json, EVENTS.c.after_json).where(
                EVENTS.c.action == "model.rename", EVENTS.c.model.in_(names)
            )
        )
        return {text for row in rows for text in _names_in(row)}

    # -- checkpoints --------------------------------------------------------------------------

    def add_checkpoint(self, checkpoint: AuditCheckpoint) -> CheckpointView:
        self.session.add(checkpoint)
        self.session.flush()
        return _checkpoint_view(checkpoint)

    def checkpoint_at(self, seq: int, key_fingerprint: str) -> CheckpointView | None:
        found = self.session.scalars(
            select(AuditCheckpoint).where(
                AuditCheckpoint.seq == seq, AuditCheckpoint.key_fingerprint == key_fingerprint
            )
        ).one_or_none()
        return _checkpoint_view(found) if found is not None else None

    def closing_checkpoint(self, seq: int, key_fingerprint: str) -> int | None:
        """The first checkpoint of this key at or after ``seq``, else its newest one."""
        mine = AuditCheckpoint.key_fingerprint == key_fingerprint
        after = self.session.scalar(
            select(func.min(AuditCheckpoint.seq)).where(mine, AuditCheckpoint.seq >= seq)
        )
        if after is not None:
            return int(after)
        newest = self.session.scalar(select(func.max(AuditCheckpoint.seq)).where(mine))
        return None if newest is None else int(newest)

    def latest_checkpoint_seq(self) -> int:
        return int(self.session.scalar(select(func.max(AuditCheckpoint.seq))) or 0)

    def checkpoints(
        self, limit: int | None = None, before_id: int | None = None
    ) -> list[CheckpointView]:
        """Checkpoints newest first (by id), strictly before ``before_id`` (the keyset)."""
        query = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
        if before_id is not None:
            query = query.where(AuditCheckpoint.id < before_id)
        if limit is not None:
            query = query.limit(limit)
        return [_checkpoint_view(c) for c in self.session.scalars(query)]

    def checkpoints_between(self, first_seq: int, last_seq: int | None) -> list[CheckpointView]:
        query = select(AuditCheckpoint).where(AuditCheckpoint.seq >= first_seq)
        if last_seq is not None:
            query = query.where(AuditCheckpoint.seq <= last_seq)
        rows = self.session.scalars(query.order_by(AuditCheckpoint.seq, AuditCheckpoint.id))
        return [_checkpoint_view(c) for c in rows]


def conditions(where: AuditFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.resource is not None:
        found.append(EVENTS.c.resource_name == where.resource)
    if where.resource_type is not None:
        found.append(EVENTS.c.resource_type == where.resource_type)
    if where.model is not None:
        found.append(EVENTS.c.model == where.model)
    if where.models is not None:
        found.append(EVENTS.c.model.in_(where.models))
    if where.actor is not None:
        found.append(EVENTS.c.actor == where.actor)
    if where.action is not None:
        found.append(_action(where.action))
    if where.outcome is not None:
        found.append(EVENTS.c.outcome == where.outcome)
    if where.since is not None:
        found.append(EVENTS.c.occurred_at >= where.since)
    if where.until is not None:
        found.append(EVENTS.c.occurred_at < where.until)
    return found


def _action(pattern: str) -> ColumnElement[bool]:
    if pattern.endswith(".*"):
        # Compared as a range, not LIKE, so '_' in an action name is not a wildcard.
        prefix = pattern[:-1]
        return (EVENTS.c.action >= prefix) & (EVENTS.c.action < prefix[:-1] + "/")
    return EVENTS.c.action == pattern


def _names_in(row: Any) -> list[str]:
    names = []
    for text in row:
        value = json.loads(text) if text else None
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            names.append(value["name"])
    return names


def _checkpoint_view(c: AuditCheckpoint) -> CheckpointView:
    return CheckpointView(
        id=c.id,
        seq=c.seq,
        hash=c.hash,
        time=c.created_at,
        key_fingerprint=c.key_fingerprint,
        public_key=c.public_key,
        signature=c.signature,
    )
