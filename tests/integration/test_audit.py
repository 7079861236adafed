"""The audit trail on SQLite and PostgreSQL: appends, append-only tables, tampering found by
``verify``, concurrent writers, signed checkpoints, evidence packs, the query API and the CLI.

Events are produced by calling ``AuditService`` directly, as the other areas' services do.
Tampering is done as an attacker with database access would: drop the triggers, then edit.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from charter.api.routes.audit import run_checkpoints
from charter.api.state import AppState
from charter.audit import AuditFilter, AuditService, checkpoint_if_due, record_denied
from charter.audit.chain import chain_hash, content_bytes
from charter.audit.evidence import VerifyResult, export_pack, verify_database
from charter.audit.pack_verify import verify_pack
from charter.audit.repository import AuditRepository
from charter.audit.signing import Signer, load_signer
from charter.config import Settings
from charter.context import Actor, RequestContext
from charter.db import Database, create_db_engine
from charter.errors import Conflict

ALICE = RequestContext(
    actor=Actor(name="alice", token_id="7"),
    request_id="req-alice",
    client_address="10.0.0.5",
    user_agent="charter-sdk/1.0",
)
BOB = RequestContext(actor=Actor(name="bob"), request_id="req-bob")
SERVICE = RequestContext(actor=Actor(name="deployer", kind="service"), request_id="req-svc")


# -- helpers -----------------------------------------------------------------------------------


def record(db: Database, count: int, ctx: RequestContext = ALICE, model: str = "fraud") -> None:
    """``count`` alias moves of ``model``, each in its own transaction like a request."""
    for i in range(count):
        with db.transaction() as session:
            AuditService(session, ctx).record(
                "alias.set", "alias", 1, f"{model}@champion", {"version": i}, {"version": i + 1}
            )


def verify(db: Database, signer: Signer | None = None) -> VerifyResult:
    trusted = {signer.fingerprint: signer.public_pem} if signer else {}
    return verify_database(db, ALICE, trusted)


def first_bad(db: Database, signer: Signer | None = None) -> tuple[int, str]:
    result = verify(db, signer)
    assert result.problems, "verify found nothing wrong"
    return result.problems[0].seq, result.problems[0].kind


def execute(db: Database, *statements: str, **params: Any) -> None:
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)


def drop_triggers(db: Database) -> None:
    """What an attacker with database access does first."""
    with db.engine.begin() as connection:
        if db.is_sqlite:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit%'")
            ).scalars()
            statements = [f"DROP TRIGGER {name}" for name in names]
        else:
            found = connection.execute(
                text(
                    "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                    "WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'audit%'"
                )
            )
            statements = [f"DROP TRIGGER {name} ON {table}" for name, table in found]
        assert statements
        for statement in statements:
            connection.execute(text(statement))


def event_row(db: Database, seq: int) -> tuple[Any, ...]:
    with db.transaction(write=False) as session:
        row = AuditRepository(session).get(seq)
    assert row is not None
    return row


def forged(db: Database, seq: int, prev_hash: str, actor: str = "mallory") -> dict[str, Any]:
    """Column values of an event the attacker made, hashed correctly after ``prev_hash``."""
    template = list(event_row(db, 1))
    template[0], template[2] = seq, actor
    row = (*template[:-2], prev_hash, "")
    digest = chain_hash(prev_hash, content_bytes(row))
    columns = [
        "seq", "occurred_at", "actor", "actor_kind", "actor_token_id", "action", "resource_type",
        "resource_id", "resource_name", "model", "before_json", "after_json", "outcome", "reason",
        "request_id", "client_address", "user_agent", "prev_hash", "hash",
    ]  # fmt: skip
    return dict(zip(columns, (*row[:-1], digest), strict=True))


def insert_row(db: Database, values: dict[str, Any]) -> None:
    columns = ", ".join(values)
    execute(db, f"INSERT INTO audit_events ({columns}) VALUES (:{', :'.join(values)})", **values)


def shift(db: Database, from_seq: int, by: int) -> None:
    """Renumber events from ``from_seq`` on, in two steps so the primary key never collides."""
    execute(
        db,
        "UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= :start",
        "UPDATE audit_events SET seq = seq - 1000000 + :by WHERE seq >= 1000000",
        start=from_seq,
        by=by,
    )


@pytest.fixture
def db(state: AppState) -> Database:
    return state.db


@pytest.fixture
def signer(settings: Settings) -> Signer:
    return load_signer(settings)


# -- appending -----------------------------------------------------------------------------------


class TestAppend:
    def test_events_are_numbered_chained_and_verify(self, db: Database) -> None:
        with db.transaction() as session:
            made = AuditService(session, ALICE).record(
                "model.create", "model", 42, "fraud", None, {"name": "fraud", "tags": {"a": "b"}}
            )
        record(db, 4, BOB)
        assert (made.seq, made.prev_hash) == (1, "0" * 64)
        assert (made.actor, made.actor_token_id, made.request_id) == ("alice", "7", "req-alice")
        assert (made.client_address, made.user_agent) == ("10.0.0.5", "charter-sdk/1.0")
        assert (made.resource_id, made.model, made.outcome) == ("42", "fraud", "success")
        result = verify(db)
        assert (result.events, result.head_seq, result.problems) == (5, 5, [])

    def test_the_event_is_part_of_the_changes_transaction(self, db: Database) -> None:
        record(db, 2)

        def failing_change() -> None:
            with db.transaction() as session:
                AuditService(session, ALICE).record("model.delete", "model", 1, "fraud")
                raise RuntimeError("the change failed after its event was recorded")

        with pytest.raises(RuntimeError):
            failing_change()
        result = verify(db)
        assert (result.events, result.head_seq, result.problems) == (2, 2, [])

    def test_a_denied_attempt_is_recorded_after_its_request_rolled_back(self, db: Database) -> None:
        request = db.session(write=True)
        AuditService(request, BOB).record("alias.set", "alias", 1, "fraud@champion")
        request.rollback()  # the request was refused: its own changes go
        request.close()
        record_denied(db, BOB, "alias.set", "alias", 1, "fraud@champion", "champion is protected")
        with db.transaction(write=False) as session:
            page = AuditService(session, ALICE).search(AuditFilter())
        assert [(e.seq, e.outcome, e.reason) for e in page.items] == [
            (1, "denied", "champion is protected")
        ]
        assert verify(db).problems == []

    def test_actions_and_outcomes_are_checked(self, db: Database) -> None:
        with db.transaction() as session:
            service = AuditService(session, ALICE)
            with pytest.raises(ValueError, match="dotted lower case"):
                service.record("CreateModel", "model", 1, "fraud")
            with pytest.raises(ValueError, match="outcome"):
                service.record("model.create", "model", 1, "fraud", outcome="maybe")


class TestAppendOnly:
    """With the triggers in place the database itself refuses to rewrite history."""

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
            "DELETE FROM audit_events WHERE seq = 3",
            "DELETE FROM audit_events",
            "UPDATE audit_checkpoints SET hash = 'x'",
            "DELETE FROM audit_checkpoints",
            "DELETE FROM audit_head",
            "UPDATE audit_head SET last_seq = 1",
        ],
    )
    def test_rewrites_are_refused(self, db: Database, signer: Signer, statement: str) -> None:
        record(db, 3)
        with db.transaction() as session:
            AuditService(session, ALICE).checkpoint(signer)
        with pytest.raises(DBAPIError, match=r"append-only|cannot be deleted|only moves forward"):
            execute(db, statement)
        assert verify(db, signer).problems == []

    def test_truncate_is_refused_on_postgresql(self, db: Database, backend: str) -> None:
        record(db, 1)
        statement = (
            "TRUNCATE audit_events" if backend == "postgresql" else "DELETE FROM audit_events"
        )
        with pytest.raises(DBAPIError, match="append-only"):
            execute(db, statement)


class TestTampering:
    """With the triggers dropped, ``verify`` names the first bad event and what happened."""

    @pytest.fixture(autouse=True)
    def _history(self, db: Database) -> None:
        record(db, 10)
        drop_triggers(db)

    def test_an_edited_event(self, db: Database) -> None:
        execute(db, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5")
        assert first_bad(db) == (5, "modified")

    def test_an_edited_value(self, db: Database) -> None:
        execute(db, "UPDATE audit_events SET after_json = :v WHERE seq = 7", v='{"version":99}')
        assert first_bad(db) == (7, "modified")

    def test_a_deleted_event(self, db: Database) -> None:
        execute(db, "DELETE FROM audit_events WHERE seq = 5")
        assert first_bad(db) == (5, "deleted")

    def test_the_newest_event_deleted(self, db: Database) -> None:
        execute(db, "DELETE FROM audit_events WHERE seq = 10")
        assert first_bad(db) == (10, "deleted")

    def test_a_deleted_event_hidden_by_renumbering(self, db: Database) -> None:
        execute(db, "DELETE FROM audit_events WHERE seq = 5")
        shift(db, 6, -1)
        execute(db, "UPDATE audit_head SET last_seq = 9")
        assert first_bad(db) == (5, "deleted")

    def test_an_event_inserted_in_the_middle(self, db: Database) -> None:
        shift(db, 5, 1)
        insert_row(db, forged(db, 5, event_row(db, 4)[-1]))
        assert first_bad(db) == (5, "inserted")

    def test_an_event_appended_behind_the_heads_back(self, db: Database) -> None:
        insert_row(db, forged(db, 11, event_row(db, 10)[-1]))
        assert first_bad(db) == (11, "inserted")

    def test_reordered_events(self, db: Database) -> None:
        execute(
            db,
            "UPDATE audit_events SET seq = 1000 WHERE seq = 4",
            "UPDATE audit_events SET seq = 4 WHERE seq = 7",
            "UPDATE audit_events SET seq = 7 WHERE seq = 1000",
        )
        assert first_bad(db) == (4, "reordered")

    def test_a_history_rewritten_and_re_hashed_is_caught_by_a_checkpoint(
        self, db: Database, signer: Signer
    ) -> None:
        with db.transaction() as session:
            AuditService(session, ALICE).checkpoint(signer)  # vouches for event 10
        execute(db, "DELETE FROM audit_events WHERE seq >= 5")
        prev = event_row(db, 4)[-1]
        for seq in range(5, 11):
            values = forged(db, seq, prev)
            insert_row(db, values)
            prev = values["hash"]
        execute(db, "UPDATE audit_head SET last_hash = :h", h=prev)
        assert first_bad(db, signer) == (10, "modified")

    def test_a_forged_checkpoint(self, db: Database, signer: Signer) -> None:
        with db.transaction() as session:
            AuditService(session, ALICE).checkpoint(signer)
        execute(db, "UPDATE audit_checkpoints SET created_at = created_at + 1")
        result = verify(db, signer)
        assert [(p.seq, p.kind) for p in result.problems] == [(10, "checkpoint")]
        assert "signature does not match" in result.problems[0].message

    def test_a_checkpoint_by_an_untrusted_key(self, db: Database) -> None:
        with db.transaction() as session:
            AuditService(session, ALICE).checkpoint(Signer.generate())
        assert "untrusted key" in verify(db).problems[0].message


# -- concurrency -------------------------------------------------------------------------------


def _append_in_process(settings_json: str, count: int) -> None:
    settings = Settings.model_validate_json(settings_json)
    db = Database(create_db_engine(settings))
    try:
        record(db, count, SERVICE)
    finally:
        db.dispose()


class TestConcurrentWriters:
    def test_threads_on_several_engines_keep_one_intact_chain(
        self, db: Database, settings: Settings
    ) -> None:
        # A second engine is a second connection pool, as a second server process would have.
        other = Database(create_db_engine(settings))
        errors: list[BaseException] = []

        def write(index: int) -> None:
            target = db if index % 2 else other
            try:
                for i in range(15):
                    if i % 5 == 4:
                        record_denied(target, BOB, "model.delete", "model", 1, "fraud", "no")
                    else:
                        record(target, 1, ALICE)
            except BaseException as exc:  # surfaced below, with the thread's traceback
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        other.dispose()
        assert errors == []
        result = verify(db)
        assert (result.events, result.head_seq, result.problems) == (90, 90, [])

    def test_processes_keep_one_intact_chain(self, db: Database, settings: Settings) -> None:
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_append_in_process, args=(settings.model_dump_json(), 20))
            for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=240)
        assert [w.exitcode for w in workers] == [0, 0, 0]
        result = verify(db)
        assert (result.events, result.problems) == (60, [])


# -- checkpoints -------------------------------------------------------------------------------


class TestCheckpoints:
    def test_a_checkpoint_signs_the_head_once(self, db: Database, signer: Signer) -> None:
        record(db, 3)
        with db.transaction() as session:
            first = AuditService(session, ALICE).checkpoint(signer)
        with db.transaction() as session:
            again = AuditService(session, ALICE).checkpoint(signer)
        assert (first.seq, first.key_fingerprint) == (3, signer.fingerprint)
        assert again == first
        result = verify(db, signer)
        assert (result.checkpoints, result.problems) == (1, [])

    def test_an_empty_trail_has_nothing_to_sign(self, db: Database, signer: Signer) -> None:
        with pytest.raises(Conflict, match="empty"), db.transaction() as session:
            AuditService(session, ALICE).checkpoint(signer)

    def test_checkpoints_are_made_every_n_events(self, db: Database, signer: Signer) -> None:
        record(db, 4)
        assert checkpoint_if_due(db, signer, every=5) is None
        record(db, 1)
        made = checkpoint_if_due(db, signer, every=5)
        assert made is not None
        assert made.seq == 5
        assert checkpoint_if_due(db, signer, every=5) is None
        record(db, 5)
        assert (checkpoint_if_due(db, signer, every=5) or made).seq == 10

    def test_the_servers_background_loop_signs_the_head(
        self, state: AppState, signer: Signer
    ) -> None:
        record(state.db, 3)
        stop = threading.Event()
        loop = threading.Thread(target=run_checkpoints, args=(state, stop, 0.01, 3))
        loop.start()
        try:
            for _ in range(3000):  # a deadline, not a timing assertion: it is done when it is done
                with state.db.transaction(write=False) as session:
                    found = AuditService(session, ALICE).checkpoints().items
                if found or stop.wait(0.01):
                    break
        finally:
            stop.set()
            loop.join()
        assert [(c.seq, c.key_fingerprint) for c in found] == [(3, signer.fingerprint)]


# -- the query API -------------------------------------------------------------------------------


class TestQueryApi:
    @pytest.fixture
    def history(self, db: Database) -> None:
        record(db, 3, ALICE, "fraud")
        record(db, 2, BOB, "churn")
        with db.transaction() as session:
            AuditService(session, SERVICE).record(
                "stage.transition",
                "model_version",
                9,
                "fraud/2",
                {"stage": "None"},
                {"stage": "Staging"},
            )
        record_denied(db, BOB, "model.delete", "model", 1, "fraud", "only admins delete models")

    def events(self, http: TestClient, **params: Any) -> list[dict[str, Any]]:
        response = http.get("/api/v1/audit", params=params)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def test_filters(self, http: TestClient, history: None) -> None:
        seqs = lambda **p: [e["seq"] for e in self.events(http, **p)]  # noqa: E731
        assert seqs() == [7, 6, 5, 4, 3, 2, 1]
        assert seqs(model="fraud") == [7, 6, 3, 2, 1]
        assert seqs(resource="churn@champion") == [5, 4]
        assert seqs(actor="bob") == [7, 5, 4]
        assert seqs(action="alias.*") == [5, 4, 3, 2, 1]
        assert seqs(action="stage.transition", resource_type="model_version") == [6]
        assert seqs(outcome="denied") == [7]
        assert seqs(since="2000-01-01", until="2999-12-31") == [7, 6, 5, 4, 3, 2, 1]
        assert seqs(until="2000-01-01") == []

    def test_events_as_the_api_returns_them(self, http: TestClient, history: None) -> None:
        event = self.events(http, resource="fraud/2")[0]
        assert event["time"].endswith("Z")
        assert event["before"] == {"stage": "None"}
        assert event["after"] == {"stage": "Staging"}
        assert (event["actor"], event["actor_kind"], event["request_id"]) == (
            "deployer",
            "service",
            "req-svc",
        )
        assert len(event["hash"]) == len(event["prev_hash"]) == 64

    def test_pages_stay_right_while_events_are_appended(
        self, http: TestClient, history: None, db: Database
    ) -> None:
        first = http.get("/api/v1/audit", params={"max_results": 3}).json()
        assert [e["seq"] for e in first["events"]] == [7, 6, 5]
        record(db, 2)  # newer events do not shift the next page
        token = first["next_page_token"]
        second = http.get("/api/v1/audit", params={"max_results": 3, "page_token": token})
        assert [e["seq"] for e in second.json()["events"]] == [4, 3, 2]
        last = http.get(
            "/api/v1/audit",
            params={"max_results": 3, "page_token": second.json()["next_page_token"]},
        ).json()
        assert ([e["seq"] for e in last["events"]], last["next_page_token"]) == ([1], None)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"max_results": 0}, "max_results"),
            ({"max_results": 1001}, "max_results"),
            ({"page_token": "garbage"}, "page_token"),
            ({"since": "last tuesday"}, "since"),
            ({"outcome": "perhaps"}, "outcome"),
        ],
    )
    def test_bad_parameters_are_400s_naming_the_field(
        self, http: TestClient, params: dict[str, Any], field: str
    ) -> None:
        response = http.get("/api/v1/audit", params=params)
        assert response.status_code == 400
        body = response.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert field in body["message"]

    def test_public_key_and_checkpoints(
        self, http: TestClient, history: None, settings: Settings
    ) -> None:
        # The server made its key when it started (no CHARTER_SIGNING_KEY here).
        assert (settings.data_dir / "keys" / "audit-signing-key.pem").is_file()
        signer = load_signer(settings)
        key = http.get("/api/v1/audit/public-key").json()
        assert key == {
            "algorithm": "Ed25519",
            "fingerprint": signer.fingerprint,
            "pem": signer.public_pem,
        }
        made = http.post("/api/v1/audit/checkpoints")
        assert made.status_code == 201, made.text
        assert (made.json()["seq"], made.json()["key_fingerprint"]) == (7, signer.fingerprint)
        listed = http.get("/api/v1/audit/checkpoints", params={"max_results": 1}).json()
        assert [c["id"] for c in listed["checkpoints"]] == [made.json()["id"]]
        assert listed["next_page_token"] is None

    def test_a_checkpoint_of_an_empty_trail_is_a_conflict(self, http: TestClient) -> None:
        response = http.post("/api/v1/audit/checkpoints")
        assert response.status_code == 409
        assert response.json()["error_code"] == "RESOURCE_CONFLICT"


# -- evidence packs and the CLI ------------------------------------------------------------------


def model_history(db: Database) -> None:
    """fraud: created, renamed from fraud-old, versions, alias and stage moves; churn in between."""
    registered = {"version": 1, "source": "s3://b/m", "run_id": "r1"}
    steps: list[tuple[RequestContext, str, str, str, Any, Any]] = [
        (ALICE, "model.create", "model", "fraud-old", None, {"name": "fraud-old"}),
        (ALICE, "model.rename", "model", "fraud", {"name": "fraud-old"}, {"name": "fraud"}),
        (ALICE, "version.create", "model_version", "fraud/1", None, registered),
        (BOB, "model.create", "model", "churn", None, {"name": "churn"}),
        (BOB, "alias.set", "alias", "fraud@champion", None, {"version": 1}),
        (SERVICE, "stage.transition", "model_version", "fraud/1", {"stage": "None"},
         {"stage": "Production"}),
    ]  # fmt: skip
    for ctx, action, kind, name, before, after in steps:
        with db.transaction() as session:
            AuditService(session, ctx).record(action, kind, 1, name, before, after)


class TestEvidencePacks:
    def test_a_model_pack_verifies_offline(
        self, db: Database, signer: Signer, tmp_path: Path
    ) -> None:
        model_history(db)
        with db.transaction() as session:
            AuditService(session, ALICE).checkpoint(signer)
        summary = export_pack(db, ALICE, signer, tmp_path / "fraud.zip", model="fraud")
        assert (summary.events, summary.links, summary.first_seq, summary.last_seq) == (5, 6, 1, 6)
        result = verify_pack(tmp_path / "fraud.zip", expect_fingerprint=signer.fingerprint)
        assert (result.problems, result.events, result.checkpoints) == ([], 5, 1)
        with zipfile.ZipFile(tmp_path / "fraud.zip") as archive:
            report = archive.read("reports/fraud.md").decode()
        assert "Also known as: `fraud`, `fraud-old`." in report
        assert "- Source: `s3://b/m`" in report
        assert "| alias | champion | 1 |" in report
        assert "| stage | Production | 1 |" in report

    def test_a_period_narrows_the_pack(self, db: Database, signer: Signer, tmp_path: Path) -> None:
        model_history(db)
        with db.transaction() as session:
            AuditService(session, ALICE).checkpoint(signer)
        empty = export_pack(db, ALICE, signer, tmp_path / "none.zip", until=0)
        assert (empty.events, empty.first_seq) == (0, None)
        assert verify_pack(tmp_path / "none.zip").problems == []

    def test_an_export_needs_a_checkpoint_of_its_key(
        self, db: Database, signer: Signer, tmp_path: Path
    ) -> None:
        model_history(db)
        with pytest.raises(Conflict, match="charter audit checkpoint"):
            export_pack(db, ALICE, signer, tmp_path / "x.zip", model="fraud")


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``charter audit ...`` in its own process, configured the way an operator would."""
    env = {**os.environ, "CHARTER_DATABASE_URL": settings.resolved_database_url}
    return subprocess.run(
        [sys.executable, "-m", "charter.cli.audit", *args, "--data-dir", str(settings.data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


class TestCommandLine:
    def test_verify_exits_0_when_intact_and_1_naming_the_tampered_event(
        self, db: Database, settings: Settings
    ) -> None:
        record(db, 6)
        assert cli(settings, "checkpoint").returncode == 0
        intact = cli(settings, "verify")
        assert intact.returncode == 0, intact.stderr
        assert intact.stdout.splitlines()[0] == "intact, 6 events"
        assert "1 checkpoints verified" in intact.stdout
        drop_triggers(db)
        execute(db, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
        tampered = cli(settings, "verify")
        assert tampered.returncode == 1
        assert tampered.stdout.startswith("TAMPERED: event 4 modified")

    def test_export_then_verify_the_pack_offline(
        self, db: Database, settings: Settings, tmp_path: Path
    ) -> None:
        model_history(db)
        pack = tmp_path / "evidence" / "fraud.zip"
        exported = cli(
            settings, "export", "--model", "fraud", "--since", "2000-01-01", "--out", str(pack)
        )
        assert exported.returncode == 0, exported.stderr
        assert "5 events" in exported.stdout
        fingerprint = load_signer(settings).fingerprint
        # Offline: no database URL, no data directory, only the file.
        offline = subprocess.run(
            [sys.executable, "-m", "charter.cli.audit", "verify", "--pack", str(pack),
             "--expect-fingerprint", fingerprint],
            capture_output=True, text=True, timeout=240, check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")},
        )  # fmt: skip
        assert offline.returncode == 0, offline.stdout + offline.stderr
        assert offline.stdout.splitlines() == [
            f"signed by key {fingerprint}",
            "intact, 5 events (6 chain links, 1 checkpoints)",
        ]
        with zipfile.ZipFile(pack) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        lines = members["events.jsonl"].decode().splitlines()
        edited = json.loads(lines[2])
        edited["actor"] = "mallory"
        lines[2] = json.dumps(edited)
        members["events.jsonl"] = ("\n".join(lines) + "\n").encode()
        with zipfile.ZipFile(pack, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        tampered = cli(settings, "verify", "--pack", str(pack))
        assert tampered.returncode == 1
        assert f"TAMPERED: event {edited['seq']} modified" in tampered.stdout

    def test_a_database_that_is_not_there(self, settings: Settings, tmp_path: Path) -> None:
        missing = Settings(
            data_dir=tmp_path / "elsewhere",
            database_url="sqlite:///" + str(tmp_path / "no" / "x.db"),
        )
        result = cli(missing, "verify")
        assert result.returncode == 1
        assert result.stderr.startswith("error: cannot use the audit trail")
