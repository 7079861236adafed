"""How registry commands print: rich tables for people, JSON for programs, progress on stderr.

Values from the server are wrapped in ``Text`` before they reach rich, so that a model named
``[red]x`` prints as itself and not as markup. Progress bars go to stderr, so stdout stays
parseable, and only on an interactive terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from charter.client import (
    Holding,
    Manifest,
    ModelVersion,
    ProgressCallback,
    RegisteredModel,
    VerifyReport,
)

T = TypeVar("T")


def plain(value: Any) -> Any:
    """Results as JSON-ready dicts and lists (timestamps as ISO 8601 with Z)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def json_text(result: Any) -> str:
    return json.dumps(plain(result), indent=2, ensure_ascii=False)


def emit(result: T, as_json: bool, show: Callable[[T], None]) -> None:
    if as_json:
        typer.echo(json_text(result))
    else:
        show(result)


def message(text: str) -> None:
    """A one-line confirmation for commands that return nothing (a delete)."""
    typer.echo(text)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else ""


def _pairs(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def _print_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    # Folded, never cut with an ellipsis: a digest or a name must survive a narrow terminal.
    table = Table(*(Column(c, overflow="fold") for c in columns), box=box.SIMPLE_HEAD)
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    Console().print(table)


def _print_fields(fields: Sequence[tuple[str, object]]) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, Text("" if value is None else str(value)))
    Console().print(table)


def show_models(models: Sequence[RegisteredModel]) -> None:
    _print_table(
        ("name", "latest", "aliases", "tags", "updated"),
        [
            (m.name, m.latest_version, _pairs(m.aliases), _pairs(m.tags), _when(m.updated_at))
            for m in models
        ],
    )


def show_model(model: RegisteredModel) -> None:
    _print_fields(
        [
            ("name", model.name),
            ("description", model.description),
            ("owner", model.owner),
            ("latest version", model.latest_version),
            ("aliases", _pairs(model.aliases)),
            ("tags", _pairs(model.tags)),
            ("created", _when(model.created_at)),
            ("updated", _when(model.updated_at)),
        ]
    )


def show_versions(versions: Sequence[ModelVersion]) -> None:
    _print_table(
        ("model", "version", "status", "stage", "aliases", "files", "size", "created"),
        [
            (
                v.model,
                v.version,
                v.status,
                v.stage,
                ", ".join(v.aliases),
                v.file_count,
                decimal(v.total_size),
                _when(v.created_at),
            )
            for v in versions
        ],
    )


def show_version(version: ModelVersion) -> None:
    _print_fields(
        [
            ("version", version.ref),
            ("status", version.status),
            ("status message", version.status_message),
            ("stage", version.stage),
            ("aliases", ", ".join(version.aliases)),
            ("source", version.source),
            ("run", version.run_id),
            ("description", version.description),
            ("created by", version.created_by),
            ("tags", _pairs(version.tags)),
            ("metrics", _pairs(version.metrics)),
            ("files", f"{version.file_count} ({decimal(version.total_size)})"),
            ("digest", version.manifest_digest),
            ("created", _when(version.created_at)),
            ("updated", _when(version.updated_at)),
        ]
    )


def show_files(manifest: Manifest) -> None:
    _print_table(
        ("path", "size", "sha256"),
        [(f.path, f.size, f.sha256) for f in manifest.files],
    )


def show_history(holdings: Sequence[Holding]) -> None:
    _print_table(
        ("kind", "label", "version", "from", "by", "until", "ended by", "reason"),
        [
            (
                h.kind,
                h.label,
                h.version,
                _when(h.started_at),
                h.started_by,
                _when(h.ended_at),
                h.ended_by,
                h.end_reason,
            )
            for h in holdings
        ],
    )


def show_verify(report: VerifyReport) -> None:
    if report.ok:
        typer.echo(
            f"ok: {report.files_checked} files, {report.bytes_checked} bytes, "
            f"{report.manifest_digest}"
        )
        return
    typer.echo(f"FAILED: {report.model}/{report.version} has {len(report.problems)} problem(s)")
    for problem in report.problems:
        typer.echo(f"  {problem.path or '(manifest)'}: {problem.problem}")


@contextmanager
def transfer_progress(label: str) -> Iterator[ProgressCallback]:
    """A progress bar with bytes and speed on stderr, fed by the SDK's progress callback.

    Only on an interactive terminal: in logs and pipes a bar is noise. It appears with the
    first report of bytes and is erased if the transfer fails, so that a failure is reported
    by its one-line error alone.
    """
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=console, disable=not console.is_interactive)
    task = progress.add_task(label, total=None)
    started = False

    def update(done: int, total: int | None) -> None:
        nonlocal started
        if not started:
            progress.start()
            started = True
        progress.update(task, completed=done, total=total)

    try:
        yield update
    except BaseException:
        progress.live.transient = True
        raise
    finally:
        if started:
            progress.stop()


# For the command modules that print their own results (charter.cli.promote).
print_table, print_fields, when, pairs = _print_table, _print_fields, _when, _pairs
