"""``charter alias``, ``charter stage`` and ``charter history``: where versions stand, and stood."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer

from charter.cli import output
from charter.cli.connection import (
    DEFAULT_URL,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    page_size,
)

alias_app = typer.Typer(help="Aliases: named pointers to one version each.", no_args_is_help=True)
stage_app = typer.Typer(help="Stages: None, Staging, Production, Archived.", no_args_is_help=True)

ModelArg = Annotated[str, typer.Argument(help="The model's name.")]
AliasArg = Annotated[str, typer.Argument(help="The alias, e.g. champion.")]


@alias_app.command("set")
def set_alias(
    model: ModelArg,
    alias: AliasArg,
    version: Annotated[int, typer.Argument(min=1, help="The version number to point at.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Point an alias at a version, moving it if it pointed elsewhere."""
    with connect(url, token) as client:
        result = client.set_alias(model, alias, version)
    output.emit(result, as_json, output.show_version)


@alias_app.command("show")
def show_alias(
    model: ModelArg,
    alias: AliasArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show the version an alias points at."""
    with connect(url, token) as client:
        result = client.get_alias(model, alias)
    output.emit(result, as_json, output.show_version)


@alias_app.command("delete")
def delete_alias(
    model: ModelArg,
    alias: AliasArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Remove an alias."""
    with connect(url, token) as client:
        client.delete_alias(model, alias)
    output.emit(
        {"model": model, "deleted_alias": alias},
        as_json,
        lambda _: output.message(f"deleted alias {alias} of model {model}"),
    )


@stage_app.command("set")
def set_stage(
    ref: Annotated[str, typer.Argument(help="name/VERSION, name@ALIAS or name/STAGE.")],
    stage: Annotated[str, typer.Argument(help="None, Staging, Production or Archived.")],
    archive_existing: Annotated[
        bool, typer.Option(help="Archive the versions already in that stage.")
    ] = False,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Move a version to a stage."""
    with connect(url, token) as client:
        result = client.set_stage(ref, stage, archive_existing=archive_existing)
    output.emit(result, as_json, output.show_version)


def history(
    model: ModelArg,
    kind: Annotated[str | None, typer.Option(help="alias or stage.")] = None,
    label: Annotated[str | None, typer.Option(help="One alias or stage name.")] = None,
    max_results: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many periods.")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Which version held which alias or stage, from when to when, and who moved it."""
    with connect(url, token) as client:
        found = client.iter_history(
            model, kind=kind, label=label, max_results=page_size(max_results)
        )
        holdings = list(islice(found, max_results))
    output.emit(holdings, as_json, output.show_history)
