"""``charter models``: register, find, describe, rename, tag and delete models."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer

from charter.cli import output
from charter.cli.connection import (
    DEFAULT_URL,
    JsonOption,
    TagOption,
    TokenOption,
    UrlOption,
    connect,
    page_size,
    parse_pairs,
    tag_filters,
)

app = typer.Typer(help="Registered models.", no_args_is_help=True)
tag_app = typer.Typer(help="A model's tags.", no_args_is_help=True)
app.add_typer(tag_app, name="tag")

NameArg = Annotated[str, typer.Argument(help="The model's name.")]


@app.command("create")
def create(
    name: NameArg,
    description: Annotated[str | None, typer.Option(help="What the model is for.")] = None,
    tag: TagOption = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Register a new model."""
    tags = parse_pairs(tag, "--tag")
    with connect(url, token) as client:
        model = client.create_model(name, description=description, tags=tags)
    output.emit(model, as_json, output.show_model)


@app.command("list")
def list_models(
    name_like: Annotated[
        str | None, typer.Option(help="SQL LIKE pattern on the name, case-sensitive.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, or KEY for any value; repeatable.")
    ] = None,
    max_results: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many models.")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """List models, following pages until the end or --max-results."""
    with connect(url, token) as client:
        found = client.iter_models(
            name_like=name_like, tags=tag_filters(tag), max_results=page_size(max_results)
        )
        models = list(islice(found, max_results))
    output.emit(models, as_json, output.show_models)


@app.command("show")
def show(
    name: NameArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show a model."""
    with connect(url, token) as client:
        model = client.get_model(name)
    output.emit(model, as_json, output.show_model)


@app.command("rename")
def rename(
    name: NameArg,
    new_name: Annotated[str, typer.Argument(help="The new name.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Rename a model; its versions, aliases and grants follow it."""
    with connect(url, token) as client:
        model = client.rename_model(name, new_name)
    output.emit(model, as_json, output.show_model)


@app.command("update")
def update(
    name: NameArg,
    description: Annotated[str, typer.Option(help="The new description.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Change a model's description."""
    with connect(url, token) as client:
        model = client.update_model(name, description=description)
    output.emit(model, as_json, output.show_model)


@app.command("delete")
def delete(
    name: NameArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Delete a model and its versions (a soft delete: the audit trail keeps them)."""
    with connect(url, token) as client:
        client.delete_model(name)
    output.emit({"deleted": name}, as_json, lambda _: output.message(f"deleted model {name}"))


@tag_app.command("set")
def set_tag(
    name: NameArg,
    key: Annotated[str, typer.Argument(help="The tag's key.")],
    value: Annotated[str, typer.Argument(help="The tag's value.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Set a tag on a model."""
    with connect(url, token) as client:
        model = client.set_model_tag(name, key, value)
    output.emit(model, as_json, output.show_model)


@tag_app.command("delete")
def delete_tag(
    name: NameArg,
    key: Annotated[str, typer.Argument(help="The tag's key.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Remove a tag from a model."""
    with connect(url, token) as client:
        client.delete_model_tag(name, key)
    output.emit(
        {"model": name, "deleted_tag": key},
        as_json,
        lambda _: output.message(f"deleted tag {key} of model {name}"),
    )
