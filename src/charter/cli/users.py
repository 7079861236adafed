"""``charter users`` and ``charter tokens``: accounts and API tokens of an installation.

Like every administration command they act directly on the installation's database
(CHARTER_DATA_DIR / CHARTER_DATABASE_URL), with or without a server running. A new token is
the only thing printed on stdout, so ``TOKEN=$(charter users create ...)`` works; everything
else goes to stderr.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from charter import migrate
from charter.cli.admin import apply_migrations
from charter.config import get_settings
from charter.context import Actor, RequestContext
from charter.db import Database, create_db_engine, now_ms
from charter.errors import Unavailable
from charter.identity import tokens
from charter.identity.models import SERVICE, USER, Grant
from charter.identity.schemas import GrantRead, TokenRead, UserRead
from charter.identity.service import (
    GrantService,
    IdentityService,
    IssuedToken,
    TokenView,
    UserView,
)

users_app = typer.Typer(
    help="Manage accounts: people and service accounts (acts on the database directly).",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    help="Manage API tokens (acts on the database directly).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
ExpiresOption = Annotated[
    str | None, typer.Option("--expires-in", help="Lifetime such as 30d, 12h; default: none")
]


def _cli_context() -> RequestContext:
    """Changes made here are recorded as the operating-system user who ran the command."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return RequestContext(actor=Actor(name=f"cli:{who}", kind="system", method="system"))


@contextmanager
def _transaction() -> Iterator[Session]:
    """One transaction on the installation's database, migrated first on SQLite (as serve is)."""
    settings = get_settings()
    if settings.is_sqlite:
        apply_migrations(settings)
    engine = create_db_engine(settings)
    try:
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            raise Unavailable(
                f"the database is at migration {current}, this Charter needs {head}: "
                "run `charter db upgrade`"
            )
        with Database(engine).transaction(write=True) as session:
            yield session
    finally:
        engine.dispose()


def _seconds(expires_in: str | None) -> int | None:
    return tokens.parse_duration(expires_in, "--expires-in") if expires_in else None


def _say_issued(issued: IssuedToken) -> None:
    expiry = _time(issued.expires_at) if issued.expires_at else "never"
    typer.echo(
        f"token {issued.id} ({issued.name!r}) for {issued.user}, expires {expiry}; "
        "it is shown once: store it now",
        err=True,
    )
    typer.echo(issued.token)


@users_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="Account name")],
    role: Annotated[
        str | None,
        typer.Option(help="Global role: reader, contributor, approver, maintainer or admin"),
    ] = None,
    service: Annotated[bool, typer.Option("--service", help="A service account")] = False,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Group membership; repeatable")
    ] = None,
    expires_in: ExpiresOption = None,
) -> None:
    """Create an account and print its first API token (only the token, on stdout)."""
    with _transaction() as session:
        user, issued = IdentityService(session, _cli_context()).create_user(
            name,
            kind=SERVICE if service else USER,
            groups=group or [],
            role=role,
            expires_in_seconds=_seconds(expires_in),
        )
    grant = f" with the global role {role}" if role else " with no role"
    typer.echo(f"created {user.kind} {user.name!r}{grant}", err=True)
    _say_issued(issued)


@users_app.command("list")
def list_users(as_json: JsonOption = False) -> None:
    """List accounts."""
    with _transaction() as session:
        users = IdentityService(session, _cli_context()).list_users()
    if as_json:
        _print_json([UserRead.model_validate(u).model_dump(mode="json") for u in users])
        return
    _print_users(users)


@users_app.command("disable")
def disable_user(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Disable an account: its tokens and sessions stop working at once."""
    with _transaction() as session:
        user = IdentityService(session, _cli_context()).disable_user(name)
    typer.echo(f"disabled {user.kind} {user.name!r}", err=True)


GroupOption = Annotated[
    bool, typer.Option("--group", help="NAME is a group, not a user (SSO groups included)")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="Only on this registered model (follows renames)")
]
PrefixOption = Annotated[
    str | None, typer.Option("--prefix", help="Only on models whose name starts so: 'fraud-*'")
]


@users_app.command("grant")
def grant(
    name: Annotated[str, typer.Argument(help="User (or, with --group, group) name")],
    role: Annotated[str, typer.Option(help="reader, contributor, approver, maintainer or admin")],
    model: ModelOption = None,
    prefix: PrefixOption = None,
    group: GroupOption = False,
) -> None:
    """Give a role: globally, or on one model, or on every model named by a prefix."""
    with _transaction() as session:
        row = GrantService(session, _cli_context()).add(
            "group" if group else "user", name, role, model=model, prefix=prefix
        )
        where = _where(row, model)
    typer.echo(f"granted {row.role} to {row.principal_type} {row.principal!r} {where}", err=True)


@users_app.command("revoke-grant")
def revoke_grant(
    name: Annotated[str, typer.Argument(help="User (or, with --group, group) name")],
    model: ModelOption = None,
    prefix: PrefixOption = None,
    group: GroupOption = False,
) -> None:
    """Take back the role NAME holds globally (or on --model, or on --prefix)."""
    with _transaction() as session:
        row = GrantService(session, _cli_context()).revoke(
            "group" if group else "user", name, model=model, prefix=prefix
        )
        where = _where(row, model)
    typer.echo(f"revoked {row.role} of {row.principal_type} {row.principal!r} {where}", err=True)


@users_app.command("grants")
def list_grants(
    name: Annotated[str | None, typer.Argument(help="Only this user's or group's")] = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """List role grants."""
    with _transaction() as session:
        rows = GrantService(session, _cli_context()).list_grants(None, name, model)
        views = [GrantRead.model_validate(g) for g in rows]
    if as_json:
        _print_json([v.model_dump(mode="json") for v in views])
        return
    table = Table("id", "principal", "role", "on", "created")
    for v in views:
        on = {"global": "everything", "prefix": v.prefix or ""}.get(v.scope, f"model {v.model_id}")
        table.add_row(str(v.id), Text(f"{v.principal_type} {v.principal}"), v.role, Text(on), "")
    Console().print(table)


def _where(row: Grant, model: str | None) -> str:
    if row.scope == "model":
        return f"on model {model!r}"
    return f"on models {row.prefix!r}" if row.scope == "prefix" else "globally"


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Argument(help="Account that the token acts as")],
    name: Annotated[str, typer.Option("--name", help="A label to recognise it by")] = "cli",
    expires_in: ExpiresOption = None,
) -> None:
    """Create an API token and print it (only the token, on stdout)."""
    with _transaction() as session:
        issued = IdentityService(session, _cli_context()).create_token(
            user, name, _seconds(expires_in)
        )
    _say_issued(issued)


@tokens_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Argument(help="Only this account's tokens")] = None,
    as_json: JsonOption = False,
) -> None:
    """List API tokens (never their secrets)."""
    with _transaction() as session:
        views = IdentityService(session, _cli_context()).list_tokens(user)
    if as_json:
        _print_json([TokenRead.model_validate(v).model_dump(mode="json") for v in views])
        return
    _print_tokens(views)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="Token id from `tokens list`")],
) -> None:
    """Revoke an API token: it stops working at once, on every server."""
    with _transaction() as session:
        view = IdentityService(session, _cli_context()).revoke_token(token_id)
    typer.echo(f"revoked token {view.id} ({view.name!r}) of {view.user}", err=True)


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _status(token: TokenView, now: int) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _print_json(rows: list[dict[str, object]]) -> None:
    typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))


def _print_users(users: list[UserView]) -> None:
    table = Table("name", "kind", "groups", "sso", "status", "created")
    for u in users:
        table.add_row(
            Text(u.name),
            u.kind,
            Text(", ".join(u.groups)),
            "yes" if u.sso else "no",
            "disabled" if u.disabled else "active",
            _time(u.created_at),
        )
    Console().print(table)


def _print_tokens(views: list[TokenView]) -> None:
    table = Table("id", "user", "name", "created", "expires", "last used", "status")
    now = now_ms()
    for t in views:
        table.add_row(
            str(t.id),
            Text(t.user),
            Text(t.name),
            _time(t.created_at),
            _time(t.expires_at) if t.expires_at else "never",
            _time(t.last_used_at),
            _status(t, now),
        )
    Console().print(table)
