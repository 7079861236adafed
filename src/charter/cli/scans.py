"""How ``charter versions scan`` and ``charter versions diff`` print their results."""

from __future__ import annotations

from typing import Any

import typer
from rich.filesize import decimal

from charter.cli.output import _print_table
from charter.client import ScanReport, VersionDiff

# Exit codes of ``charter versions scan``: 0 nothing dangerous found (suspicious files are
# printed, and exit 0), 1 a dangerous file or a file that could not be scanned (the default
# promotion policy blocks such a version), 3 still pending when --timeout ran out.
EXIT_BLOCKED = 1
EXIT_PENDING = 3
BLOCKING = ("dangerous", "failed")


def show_scan(report: ScanReport) -> None:
    typer.echo(f"{report.model}/{report.version}: {report.verdict}")
    if report.reason:
        typer.echo(f"  {report.reason}")
    _print_table(
        ("path", "format", "verdict", "size", "dangerous / suspicious globals", "reason"),
        [
            (
                f.path,
                f.format,
                f.verdict,
                decimal(f.size),
                ", ".join(f.dangerous + f.suspicious),
                f.reason,
            )
            for f in report.files
        ],
    )


def show_diff(diff: VersionDiff) -> None:
    typer.echo(f"{diff.a} -> {diff.b}")
    rows: list[tuple[str, str, str, str]] = []
    for section in ("metadata", "tags", "metrics", "lineage", "scan"):
        rows += _mapping_rows(section, getattr(diff, section))
    for part in ("inputs", "outputs", "params"):
        rows += _mapping_rows(f"signature.{part}", diff.signature.get(part) or {})
    files = diff.files
    rows += [("files", "+ " + f["path"], "", f["sha256"][:12]) for f in files.get("added", [])]
    rows += [("files", "- " + f["path"], f["sha256"][:12], "") for f in files.get("removed", [])]
    rows += [
        ("files", "~ " + f["path"], f["a_sha256"][:12], f["b_sha256"][:12])
        for f in files.get("changed", [])
    ]
    if not rows:
        typer.echo("no differences")
        return
    _print_table(("section", "key", "a", "b"), rows)
    typer.echo(f"{files.get('unchanged', 0)} files unchanged")


def _mapping_rows(section: str, diff: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = [(section, "+ " + k, "", _text(v)) for k, v in (diff.get("added") or {}).items()]
    rows += [(section, "- " + k, _text(v), "") for k, v in (diff.get("removed") or {}).items()]
    rows += [
        (section, "~ " + k, _text(change.get("a")), _text(change.get("b")))
        for k, change in (diff.get("changed") or {}).items()
    ]
    return rows


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if k != "name")
    return "" if value is None else str(value)
