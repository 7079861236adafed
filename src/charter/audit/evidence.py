"""What an auditor runs against the database: verify the whole chain, export an evidence pack.

Both read one snapshot of the database, so events appended meanwhile by a running server can
neither look like tampering nor half-appear in a pack: SQLite's read transactions in WAL mode
already see one snapshot; on PostgreSQL the transaction runs at REPEATABLE READ.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from charter.audit import chain
from charter.audit.chain import Problem
from charter.audit.pack import PackSummary, Selection, write_pack
from charter.audit.repository import AuditRepository
from charter.audit.schemas import AuditEventView, AuditFilter, CheckpointView
from charter.audit.service import authorize
from charter.audit.signing import Signer, checkpoint_statement, fingerprint, load_public_key
from charter.audit.signing import verify as verify_signature
from charter.context import RequestContext
from charter.db import Database, now_ms
from charter.errors import Conflict


@dataclass(frozen=True)
class VerifyResult:
    """What a verification found; ``problems[0]``, if any, is the first bad event."""

    events: int
    head_seq: int
    checkpoints: int  # checkpoints whose signature verified with a trusted key
    problems: list[Problem]

    @property
    def intact(self) -> bool:
        return not self.problems


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read-only session that sees one snapshot of the database from start to end."""
    session = db.session(write=False)
    try:
        if not db.is_sqlite:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
    finally:
        session.rollback()
        session.close()


def verify_database(db: Database, ctx: RequestContext, trusted: Mapping[str, str]) -> VerifyResult:
    """Walk the whole chain against its head and the checkpoints signed by trusted keys.

    ``trusted`` maps key fingerprints to PEM public keys. A checkpoint signed by any other key
    is a problem: whoever can write the database could otherwise sign a rewritten history.
    """
    authorize(ctx, "verify")
    with snapshot(db) as session:
        events = AuditRepository(session)
        head_seq, head_hash = events.head()
        vouched, problems, count = checked_checkpoints(events.checkpoints(), trusted)
        result = chain.walk(events.stream(), events.seq_of_hash, vouched=vouched)
    if result.problem is not None:
        problems.insert(0, result.problem)
    else:
        problems[:0] = _against_head(result, head_seq, head_hash, vouched)
    return VerifyResult(result.count, head_seq, count, problems)


def checked_checkpoints(
    checkpoints: list[CheckpointView], trusted: Mapping[str, str]
) -> tuple[dict[int, str], list[Problem], int]:
    """The hashes vouched for by valid checkpoints of trusted keys; what is wrong with the rest."""
    keys = {fp: load_public_key(pem) for fp, pem in trusted.items()}
    vouched: dict[int, str] = {}
    problems: list[Problem] = []
    for cp in sorted(checkpoints, key=lambda c: (c.seq, c.id)):
        problem = _checkpoint_problem(cp, keys)
        if problem is None and vouched.setdefault(cp.seq, cp.hash) != cp.hash:
            problem = f"checkpoint {cp.id} contradicts another checkpoint of the same event"
        if problem is not None:
            problems.append(Problem(cp.seq, "checkpoint", problem))
    return vouched, problems, len(checkpoints) - len(problems)


def _checkpoint_problem(cp: CheckpointView, keys: Mapping[str, Any]) -> str | None:
    key = keys.get(cp.key_fingerprint)
    if key is None:
        return f"checkpoint {cp.id} is signed by an untrusted key {cp.key_fingerprint}"
    if fingerprint(key) != cp.key_fingerprint:
        return f"checkpoint {cp.id} names a key that is not its own"
    statement = checkpoint_statement(cp.seq, cp.hash, cp.time, cp.key_fingerprint)
    if not verify_signature(key, statement, cp.signature):
        return f"checkpoint {cp.id}'s signature does not match its content (altered or forged)"
    return None


def _against_head(
    result: chain.WalkResult, head_seq: int, head_hash: str, vouched: Mapping[int, str]
) -> list[Problem]:
    """What a chain that verifies on its own may still hide: a cut, added or rewritten tail."""
    end = max([head_seq, *vouched])
    if result.last_seq < end:
        return [
            Problem(
                result.last_seq + 1,
                "deleted",
                f"the chain ends at event {result.last_seq} but the head or a signed checkpoint "
                f"records event {end}",
            )
        ]
    if result.last_seq > head_seq:
        return [
            Problem(
                head_seq + 1,
                "inserted",
                f"events {head_seq + 1}..{result.last_seq} were added without moving the head",
            )
        ]
    if result.last_hash != head_hash:
        return [
            Problem(head_seq, "modified", "the chain was rewritten: its hash is not the head's")
        ]
    return []


def export_pack(
    db: Database,
    ctx: RequestContext,
    signer: Signer,
    out: Path,
    *,
    model: str | None = None,
    since: int | None = None,
    until: int | None = None,
    full_content: bool = False,
) -> PackSummary:
    """Write an evidence pack of the events that match (``charter.audit.pack``).

    The range runs from the first matching event to the first checkpoint signed by ``signer``
    at or after the last one; matching events after the newest such checkpoint wait for the
    next export (``charter audit export`` signs the head first, so there are none).
    """
    authorize(ctx, "export", model)
    with snapshot(db) as session:
        events = AuditRepository(session)
        names = model_names(events, model) if model is not None else ()
        selection = Selection(model, names, since, until, full_content)
        where = AuditFilter(models=names or None, since=since, until=until)
        seq_range, anchor = _range(events, where, signer)
        shown = AuditFilter() if full_content else where
        first, last = seq_range or (1, 0)
        return write_pack(
            out,
            signer,
            selection,
            anchor=anchor,
            seq_range=seq_range,
            events=(
                AuditEventView.of_row(row).as_record()
                for row in events.stream_matching(shown, first, last)
            ),
            links=events.stream_links(first, last),
            checkpoints=events.checkpoints_between(first, last) if seq_range else [],
            created_at=now_ms(),
            created_by=ctx.actor.name,
        )


def model_names(events: AuditRepository, model: str) -> tuple[str, ...]:
    """A model's names, past and present, following ``model.rename`` events back."""
    names = {model}
    while True:
        found = events.renamed_from(sorted(names)) | names
        if found == names:
            return tuple(sorted(names))
        names = found


def _range(
    events: AuditRepository, where: AuditFilter, signer: Signer
) -> tuple[tuple[int, int] | None, str | None]:
    """The seq range a pack covers and the hash its first event links to."""
    matching = events.seq_range(where)
    if matching is None:
        return None, None
    first, last = matching
    closing = events.closing_checkpoint(last, signer.fingerprint)
    if closing is None or closing < first:
        raise Conflict(
            "no checkpoint signed with this server's key covers the events to export: "
            "run `charter audit checkpoint` first"
        )
    row = events.get(first)
    return (first, closing), (row[-2] if row is not None else None)
