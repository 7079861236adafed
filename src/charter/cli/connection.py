"""What every registry command shares: where the server is, ``--json``, and ``key=value`` options.

Registry commands talk HTTP to ``CHARTER_URL`` with ``CHARTER_TOKEN`` (or ``--url`` and
``--token``); unlike ``serve`` and ``db`` they never touch a database themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from charter.client import Client

DEFAULT_URL = "http://127.0.0.1:8080"
MAX_PAGE = 1000  # the server's largest page

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="CHARTER_URL", help="Charter server URL.", show_envvar=True),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CHARTER_TOKEN",
        help="API token, sent as a Bearer token.",
        show_envvar=True,
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", help="A tag as KEY=VALUE; repeatable.")
]


def connect(url: str, token: str | None) -> Client:
    """A client for the command's server; no request is sent until the command makes one."""
    return Client(url, token)


def page_size(max_results: int | None) -> int | None:
    """Pages no larger than a --max-results limit needs, within the server's maximum."""
    return None if max_results is None else min(max_results, MAX_PAGE)


def parse_pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict; a malformed one is a usage error (exit code 2)."""
    pairs: dict[str, str] = {}
    for value in values or ():
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        pairs[key] = item
    return pairs


def parse_metrics(values: Sequence[str] | None) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for key, value in parse_pairs(values, "--metric").items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise typer.BadParameter(
                f"{key}={value!r}: the value is not a number", param_hint="--metric"
            ) from None
    return metrics


def tag_filters(values: Sequence[str] | None) -> dict[str, str | None]:
    """``KEY=VALUE`` matches a tag's value; ``KEY`` alone matches any value of the tag."""
    filters: dict[str, str | None] = {}
    for value in values or ():
        key, sep, item = value.partition("=")
        filters[key] = item if sep else None
    return filters
