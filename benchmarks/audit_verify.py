"""How fast ``charter audit verify`` walks the audit chain: seeds events, then times verification.

    .venv/bin/python benchmarks/audit_verify.py                      # 200,000 events, SQLite
    .venv/bin/python benchmarks/audit_verify.py --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/audit_verify.py --events 20000 --via-service

The events are seeded in process. By default they are hashed with the chain's own functions
and inserted in batches (seeding 200,000 through ``AuditService.record``, one statement trio
each, takes minutes and measures appends, not verification); ``--via-service`` seeds through
``record`` instead. Verification is the real thing: ``verify_database`` streams every row
from the database and recomputes every hash. The target is >= 100,000 events/s. Both wall
clock and process CPU time are printed: on a busy machine the CPU figure is the one that
says what the code costs (for PostgreSQL, the server's share is not in it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from charter import migrate
from charter.audit import AuditService
from charter.audit.chain import GENESIS_HASH, chain_hash, content_bytes
from charter.audit.evidence import verify_database
from charter.audit.repository import EVENTS, ROW_COLUMNS
from charter.config import Settings
from charter.context import Actor, RequestContext
from charter.db import Database, create_db_engine, now_ms

TARGET = 100_000
BATCH = 5_000
CTX = RequestContext(
    actor=Actor(name="alice@example.com", token_id="42"),
    request_id="0f8e2d6c4b9a47d1a3c5e7f9b1d3f5a7",
    client_address="10.1.2.3",
    user_agent="python-httpx/0.28.1 charter-sdk/0.1.0",
)


def seed_rows(db: Database, count: int) -> None:
    """Events hashed exactly as ``AuditService.record`` hashes them, inserted in batches."""
    prev, start = GENESIS_HASH, now_ms()
    names = [column.name for column in ROW_COLUMNS]
    with db.transaction() as session:
        connection = session.connection()
        batch: list[dict[str, object]] = []
        for seq in range(1, count + 1):
            model = f"model-{seq % 50}"
            row = (
                seq, start + seq, CTX.actor.name, "user", "42", "alias.set", "alias",
                str(seq % 50), f"{model}@champion", model, f'{{"version":{seq}}}',
                f'{{"version":{seq + 1}}}', "success", None, CTX.request_id,
                CTX.client_address, CTX.user_agent, prev, "",
            )  # fmt: skip
            prev = chain_hash(prev, content_bytes(row))
            batch.append(dict(zip(names, (*row[:-1], prev), strict=True)))
            if len(batch) == BATCH:
                connection.execute(EVENTS.insert(), batch)
                batch = []
        if batch:
            connection.execute(EVENTS.insert(), batch)
        connection.execute(
            text("UPDATE audit_head SET last_seq = :seq, last_hash = :hash WHERE id = 1"),
            {"seq": count, "hash": prev},
        )


def seed_service(db: Database, count: int) -> None:
    for first in range(0, count, BATCH):
        with db.transaction() as session:
            service = AuditService(session, CTX)
            for seq in range(first, min(first + BATCH, count)):
                service.record(
                    "alias.set",
                    "alias",
                    seq % 50,
                    f"model-{seq % 50}@champion",
                    {"version": seq},
                    {"version": seq + 1},
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--database-url", help="an empty, migrated-or-not database (default: a new SQLite file)"
    )
    parser.add_argument(
        "--via-service", action="store_true", help="seed through AuditService.record"
    )
    parser.add_argument("--rounds", type=int, default=3, help="verifications; the best is kept")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="charter-audit-bench-") as directory:
        settings = Settings(data_dir=Path(directory), database_url=args.database_url)
        db = Database(create_db_engine(settings))
        migrate.upgrade(db.engine)
        started = time.perf_counter()
        (seed_service if args.via_service else seed_rows)(db, args.events)
        seeded = time.perf_counter() - started

        rounds = []
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            result = verify_database(db, CTX, {})
            rounds.append((time.perf_counter() - wall, time.process_time() - cpu))
            if not result.intact or result.events != args.events:
                sys.exit(f"verification failed: {result.problems[:1]} after {result.events} events")
        db.dispose()

    wall, cpu = min(r[0] for r in rounds), min(r[1] for r in rounds)
    backend = "SQLite" if settings.is_sqlite else "PostgreSQL"
    load = os.getloadavg()[0]
    print(f"audit verify: {args.events:,} events on {backend}, seeded in {seeded:.1f} s "
          f"({'AuditService.record' if args.via_service else 'batched inserts'}); "
          f"load average {load:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print()
    print("| measure | seconds | events/s | target |")
    print("|---|---|---|---|")
    for label, seconds in (("wall clock", wall), ("process CPU", cpu)):
        rate = args.events / seconds
        verdict = "met" if rate >= TARGET else "below"
        print(f"| {label} | {seconds:.2f} | {rate:,.0f} | {TARGET:,} ({verdict}) |")


if __name__ == "__main__":
    main()
