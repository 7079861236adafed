"""``charter versions card`` (export a version's model card) and ``card-fields`` (its texts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from charter.cli import output
from charter.cli.connection import DEFAULT_URL, JsonOption, TokenOption, UrlOption, connect
from charter.client import CardFields

RefArg = Annotated[str, typer.Argument(help="name/VERSION, name@ALIAS or name/STAGE.")]
Text = Annotated[str | None, typer.Option(show_default=False)]
ClearOption = Annotated[
    list[str] | None,
    typer.Option("--clear", help="A field to clear (e.g. limitations); repeatable."),
]


def card(
    ref: RefArg,
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write the card to this file.")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Export a version's model card: Markdown with YAML front matter (Hugging Face layout)."""
    with connect(url, token) as client:
        text = output.json_text(client.get_card_data(ref)) if as_json else client.get_card(ref)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.write_text(text, encoding="utf-8")
    output.message(f"wrote the model card of {ref} to {out}")


def version_fields(
    ref: RefArg,
    license: Text = None,
    intended_use: Text = None,
    out_of_scope_use: Text = None,
    limitations: Text = None,
    recommendations: Text = None,
    training_data: Text = None,
    clear: ClearOption = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show a version's card texts, or set them (a version's text wins over its model's)."""
    changes = _changes(locals())
    with connect(url, token) as client:
        if changes:
            fields = client.update_version_card_fields(ref, changes)
        else:
            fields = client.get_version_card_fields(ref)
    output.emit(fields, as_json, show_fields)


def model_fields(
    model: Annotated[str, typer.Argument(help="The model.")],
    license: Text = None,
    intended_use: Text = None,
    out_of_scope_use: Text = None,
    limitations: Text = None,
    recommendations: Text = None,
    training_data: Text = None,
    clear: ClearOption = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show a model's card texts, or set them for every version of the model."""
    changes = _changes(locals())
    with connect(url, token) as client:
        if changes:
            fields = client.update_model_card_fields(model, changes)
        else:
            fields = client.get_model_card_fields(model)
    output.emit(fields, as_json, show_fields)


FIELDS = (
    "license",
    "intended_use",
    "out_of_scope_use",
    "limitations",
    "recommendations",
    "training_data",
)


def _changes(options: dict[str, object]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {
        f: str(options[f]) for f in FIELDS if options.get(f) is not None
    }
    cleared = options.get("clear") or []
    assert isinstance(cleared, list)
    for field in cleared:
        changes[str(field).replace("-", "_")] = None
    return changes


def show_fields(fields: CardFields) -> None:
    shown = fields.effective
    if not shown:
        output.message("no card texts yet")
        return
    for name, text in shown.items():
        inherited = "" if name in fields.fields else " (from the model)"
        output.message(f"{name}{inherited}:\n  " + text.replace("\n", "\n  "))
