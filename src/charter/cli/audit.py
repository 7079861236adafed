"""``charter audit``: verify, export and checkpoint the audit trail.

These act directly on the installation's database (``CHARTER_DATABASE_URL`` or the SQLite file
under ``CHARTER_DATA_DIR``) and need no server; ``verify --pack`` needs neither server nor
database. ``verify`` exits 0 when everything is intact and 1 when anything is not.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import DBAPIError

from charter.audit import AuditService
from charter.audit.chain import Problem
from charter.audit.evidence import export_pack, verify_database
from charter.audit.pack_verify import verify_pack
from charter.audit.schemas import parse_instant
from charter.audit.signing import Signer, find_signer, fingerprint, load_public_key, load_signer
from charter.config import Settings
from charter.context import Actor, RequestContext
from charter.db import Database, create_db_engine
from charter.errors import CharterError, Conflict, InvalidArgument, Unavailable

audit_app = typer.Typer(
    help="Verify, export and checkpoint the audit trail (directly on the database).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DatabaseUrl = Annotated[str | None, typer.Option(help="Overrides CHARTER_DATABASE_URL")]
DataDir = Annotated[Path | None, typer.Option(help="Overrides CHARTER_DATA_DIR")]
SigningKey = Annotated[
    Path | None, typer.Option(help="Overrides CHARTER_SIGNING_KEY (PEM Ed25519 private key)")
]


def _settings(**overrides: Any) -> Settings:
    """CHARTER_* variables, with the command's flags winning."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _operator() -> RequestContext:
    """The person at the terminal: these commands bypass the API and its authentication."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        user = "unknown"
    return RequestContext(actor=Actor(name=f"cli:{user}", kind="system"))


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    db = Database(create_db_engine(settings))
    try:
        yield db
    except DBAPIError as exc:
        raise Unavailable(
            f"cannot use the audit trail of {db.engine.url.render_as_string(hide_password=True)}"
            f" ({exc.orig or exc}); is it reachable and migrated (`charter db upgrade`)?"
        ) from exc
    finally:
        db.dispose()


def _report(problems: list[Problem]) -> None:
    for problem in problems:
        typer.echo(f"{'TAMPERED' if problem.is_event else 'FAILED'}: {problem}")


@audit_app.command("verify")
def verify(
    pack: Annotated[
        Path | None, typer.Option(help="Verify this evidence pack offline instead")
    ] = None,
    expect_fingerprint: Annotated[
        str | None, typer.Option(help="Fail unless the pack is signed by this key")
    ] = None,
    trust_key: Annotated[
        list[Path] | None,
        typer.Option(help="Also trust checkpoints signed by this public key (PEM); repeatable"),
    ] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    signing_key: SigningKey = None,
) -> None:
    """Verify the whole chain and its signed checkpoints, or an evidence pack (--pack)."""
    if pack is not None:
        _verify_pack(pack, expect_fingerprint)
        return
    settings = _settings(database_url=database_url, data_dir=data_dir, signing_key=signing_key)
    trusted = _trusted_keys(find_signer(settings), trust_key or [])
    with _database(settings) as db:
        result = verify_database(db, _operator(), trusted)
    if not result.intact:
        _report(result.problems)
        raise typer.Exit(1)
    typer.echo(f"intact, {result.events} events")
    keys = ", ".join(sorted(trusted)) or "none configured"
    typer.echo(f"{result.checkpoints} checkpoints verified (trusted keys: {keys})")


def _trusted_keys(signer: Signer | None, extra: list[Path]) -> dict[str, str]:
    trusted = {signer.fingerprint: signer.public_pem} if signer is not None else {}
    for path in extra:
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read the public key {path}: {exc}") from exc
        trusted[fingerprint(load_public_key(pem))] = pem
    return trusted


def _verify_pack(pack: Path, expect_fingerprint: str | None) -> None:
    result = verify_pack(pack, expect_fingerprint)
    if result.fingerprint is not None:
        typer.echo(f"signed by key {result.fingerprint}")
    for other in result.other_keys:
        typer.echo(f"some checkpoints are signed by another key: {other}")
    if not result.intact:
        _report(result.problems)
        raise typer.Exit(1)
    typer.echo(
        f"intact, {result.events} events ({result.links} chain links, "
        f"{result.checkpoints} checkpoints)"
    )


@audit_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="The evidence pack to write (a zip)")],
    model: Annotated[str | None, typer.Option(help="Only this model's events")] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601 date or time (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 date or time (UTC)")] = None,
    full: Annotated[
        bool, typer.Option(help="Include every event of the range in full, not just links")
    ] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    signing_key: SigningKey = None,
) -> None:
    """Write an evidence pack: events, chain proof, checkpoints, public key, reports."""
    settings = _settings(database_url=database_url, data_dir=data_dir, signing_key=signing_key)
    signer = load_signer(settings)
    ctx = _operator()
    start = parse_instant(since, field="since") if since else None
    end = parse_instant(until, field="until", end_of_day=True) if until else None
    with _database(settings) as db:
        # Sign the head first, so that the newest events are covered by a checkpoint.
        try:
            with db.transaction(write=True) as session:
                AuditService(session, ctx).checkpoint(signer)
        except Conflict:
            pass  # an empty trail: nothing to sign and nothing to export
        summary = export_pack(
            db, ctx, signer, out, model=model, since=start, until=end, full_content=full
        )
    span = f"events {summary.first_seq}..{summary.last_seq}" if summary.first_seq else "no events"
    typer.echo(
        f"wrote {summary.path}: {summary.events} events, {summary.links} chain links "
        f"({span}), {summary.checkpoints} checkpoints; signed by key {summary.fingerprint}"
    )


@audit_app.command("checkpoint")
def checkpoint(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    signing_key: SigningKey = None,
) -> None:
    """Sign a checkpoint of the chain's head now."""
    settings = _settings(database_url=database_url, data_dir=data_dir, signing_key=signing_key)
    signer = load_signer(settings)
    with _database(settings) as db, db.transaction(write=True) as session:
        made = AuditService(session, _operator()).checkpoint(signer)
    typer.echo(f"checkpoint {made.id}: event {made.seq}, hash {made.hash}")
    typer.echo(f"signed by key {made.key_fingerprint}")


@audit_app.command("public-key")
def public_key(data_dir: DataDir = None, signing_key: SigningKey = None) -> None:
    """Print the checkpoint signing key's fingerprint and public half (PEM)."""
    signer = load_signer(_settings(data_dir=data_dir, signing_key=signing_key))
    typer.echo(signer.fingerprint)
    typer.echo(signer.public_pem, nl=False)


def main() -> None:
    """Run the sub-app on its own (``python -m charter.cli.audit``), with one-line errors."""
    try:
        audit_app(standalone_mode=True)
    except CharterError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
