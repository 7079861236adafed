"""Entry point of the ``charter`` command: sub-commands and one-line errors."""

from __future__ import annotations

import sys

import typer

from charter.cli import (
    admin,
    audit,
    cards,
    lifecycle,
    lineage,
    models,
    promote,
    signing,
    users,
    versions,
)
from charter.errors import CharterError

app = typer.Typer(
    name="charter",
    help="Charter: a model registry with governance built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(admin.serve)
app.add_typer(admin.db_app, name="db")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(audit.audit_app, name="audit")
# Registry commands talk HTTP to CHARTER_URL through the SDK.
app.add_typer(models.app, name="models")
app.add_typer(versions.app, name="versions")
versions.app.command("sign")(signing.sign)
versions.app.command("signatures")(signing.signatures)
versions.app.command("card")(cards.card)
versions.app.command("card-fields")(cards.version_fields)
models.app.command("card-fields")(cards.model_fields)
app.add_typer(lifecycle.alias_app, name="alias")
app.add_typer(lifecycle.stage_app, name="stage")
app.command("history")(lifecycle.history)
app.add_typer(lineage.app, name="lineage")
app.add_typer(promote.promote_app, name="promote")
app.add_typer(promote.policy_app, name="policy")


def main() -> None:
    try:
        app(standalone_mode=True)
    except CharterError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
