"""``charter versions``: register versions (uploading their files), find, download and verify them.

A version is named by a reference: ``name/3``, ``name@alias`` or ``name/Stage``.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
from rich.filesize import decimal

from charter.cli import output, scans, signing
from charter.cli.connection import (
    DEFAULT_URL,
    JsonOption,
    TagOption,
    TokenOption,
    UrlOption,
    connect,
    page_size,
    parse_metrics,
    parse_pairs,
    tag_filters,
)
from charter.client import Client, Conflict, ModelVersion

app = typer.Typer(help="Model versions and their files.", no_args_is_help=True)
tag_app = typer.Typer(help="A version's tags.", no_args_is_help=True)
app.add_typer(tag_app, name="tag")

RefArg = Annotated[str, typer.Argument(help="name/VERSION, name@ALIAS or name/STAGE.")]


@app.command("create")
def create(
    model: Annotated[str, typer.Argument(help="The model to add a version to.")],
    file: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="A file to upload; repeatable."),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", exists=True, file_okay=False, help="A directory to upload."),
    ] = None,
    source: Annotated[str | None, typer.Option(help="Where the model's files are.")] = None,
    run_id: Annotated[str | None, typer.Option(help="The run that produced it.")] = None,
    description: Annotated[str | None, typer.Option(help="What changed.")] = None,
    tag: TagOption = None,
    metric: Annotated[
        list[str] | None, typer.Option(help="A metric as KEY=NUMBER; repeatable.")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Create a version; with --file/--dir, upload them and finalize it (READY or an error)."""
    uploads = [*(file or []), *([directory] if directory else [])]
    with connect(url, token) as client:
        version = client.create_version(
            model,
            source=source,
            run_id=run_id,
            description=description,
            tags=parse_pairs(tag, "--tag"),
            metrics=parse_metrics(metric),
            await_upload=True if uploads else None,
        )
        if uploads:
            version = _upload_and_finalize(client, version, uploads)
    output.emit(version, as_json, output.show_version)


def _upload_and_finalize(
    client: Client, version: ModelVersion, uploads: list[Path]
) -> ModelVersion:
    _upload(client, version.ref, uploads)
    finalized = client.finalize(version)
    if finalized.status != "READY":
        raise Conflict(f"version {finalized.ref} is {finalized.status}: {finalized.status_message}")
    return finalized


def _upload(client: Client, ref: str, paths: list[Path]) -> None:
    for path in paths:
        with output.transfer_progress(f"upload {path.name}") as progress:
            if path.is_dir():
                client.upload_dir(ref, path, progress=progress)
            else:
                client.upload_file(ref, path, progress=progress)


@app.command("upload")
def upload(
    ref: RefArg,
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Files or directories.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Upload files (by name) or directories (by relative path) into a pending version."""
    with connect(url, token) as client:
        _upload(client, ref, paths)


@app.command("finalize")
def finalize(
    ref: RefArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Compute a pending version's manifest and make it READY (or FAILED_REGISTRATION)."""
    with connect(url, token) as client:
        version = client.finalize(ref)
    output.emit(version, as_json, output.show_version)


@app.command("list")
def list_versions(
    model: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only versions in this stage.")] = None,
    alias: Annotated[str | None, typer.Option(help="Only the version with this alias.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, or KEY for any value; repeatable.")
    ] = None,
    status: Annotated[str | None, typer.Option(help="READY, PENDING_REGISTRATION, ...")] = None,
    max_results: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many versions.")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """List versions, of one model or of all, following pages until the end or --max-results."""
    with connect(url, token) as client:
        found = client.iter_versions(
            model=model,
            stage=stage,
            alias=alias,
            tags=tag_filters(tag),
            status=status,
            max_results=page_size(max_results),
        )
        versions = list(islice(found, max_results))
    output.emit(versions, as_json, output.show_versions)


@app.command("show")
def show(
    ref: RefArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show a version."""
    with connect(url, token) as client:
        version = client.get_version(ref)
    output.emit(version, as_json, output.show_version)


@app.command("update")
def update(
    ref: RefArg,
    description: Annotated[str, typer.Option(help="The new description.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Change a version's description."""
    with connect(url, token) as client:
        version = client.update_version(ref, description=description)
    output.emit(version, as_json, output.show_version)


@app.command("delete")
def delete(
    ref: RefArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Delete a version (a soft delete: its number is never reused)."""
    with connect(url, token) as client:
        client.delete_version(ref)
    output.emit({"deleted": ref}, as_json, lambda _: output.message(f"deleted version {ref}"))


@app.command("files")
def files(
    ref: RefArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """List a version's files with their sizes and SHA-256."""
    with connect(url, token) as client:
        manifest = client.list_files(ref)
    output.emit(manifest, as_json, output.show_files)


@app.command("download")
def download(
    ref: RefArg,
    dest: Annotated[Path, typer.Argument(help="Directory (or, with --file, file) to write.")],
    file: Annotated[str | None, typer.Option(help="Only this file of the version.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Download a version's files, each checked against its SHA-256 before it is kept."""
    with connect(url, token) as client, output.transfer_progress(f"download {ref}") as progress:
        if file is not None:
            path = client.download_file(ref, file, dest, progress=progress)
            result: dict[str, object] = {"path": str(path)}
            summary = f"downloaded {file} of {ref} to {path}"
        else:
            manifest = client.download_version(ref, dest, progress=progress)
            result = {"path": str(dest), **output.plain(manifest)}
            summary = (
                f"downloaded {len(manifest.files)} files ({decimal(manifest.total_size)}) "
                f"of {manifest.model}/{manifest.version} to {dest}"
            )
    output.emit(result, as_json, lambda _: output.message(summary))


@app.command("verify")
def verify(
    ref: RefArg,
    require_signature: Annotated[
        bool, typer.Option("--require-signature", help="Fail when the version is not signed.")
    ] = False,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            exists=True,
            dir_okay=False,
            help="PEM public key: only a signature by this key counts, checked with this file.",
        ),
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Have the server re-hash every file; when the version is signed, download it and verify
    each signature here with model_signing. Exit 1 if any problem is found."""
    with connect(url, token) as client:
        report = client.verify(ref)
        checked = None
        if report.ok:  # files that do not match their manifest are reported first, alone
            checked = client.verify_signatures(
                ref, public_key=key, require_signature=require_signature
            )
    if as_json:
        typer.echo(output.json_text({**output.plain(report), "signatures": output.plain(checked)}))
    else:
        output.show_verify(report)
        if checked is not None:
            signing.show_verification(checked)
    if not report.ok or (checked is not None and not checked.ok):
        raise typer.Exit(1)


@app.command("scan")
def scan(
    ref: RefArg,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Scan again, ignoring cached results.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for a pending scan.")
    ] = 300.0,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Wait for a version's security scan and print each file's verdict.

    Exit 0 when nothing dangerous was found (suspicious files are listed), 1 when a file is
    dangerous or could not be scanned, 3 when the scan is still pending after --timeout.
    """
    with connect(url, token) as client:
        if rerun:
            client.request_scan(ref)
        try:
            report = client.wait_for_scan(ref, timeout=timeout)
        except TimeoutError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(scans.EXIT_PENDING) from None
    output.emit(report, as_json, scans.show_scan)
    if report.verdict in scans.BLOCKING:
        raise typer.Exit(scans.EXIT_BLOCKED)


@app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="The older version: name/VERSION, name@ALIAS, ...")],
    b: Annotated[str, typer.Argument(help="The newer version.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Compare two versions: metadata, metrics, lineage, signature and files (by SHA-256)."""
    with connect(url, token) as client:
        result = client.diff(a, b)
    output.emit(result, as_json, scans.show_diff)


@tag_app.command("set")
def set_tag(
    ref: RefArg,
    key: Annotated[str, typer.Argument(help="The tag's key.")],
    value: Annotated[str, typer.Argument(help="The tag's value.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Set a tag on a version."""
    with connect(url, token) as client:
        version = client.set_version_tag(ref, key, value)
    output.emit(version, as_json, output.show_version)


@tag_app.command("delete")
def delete_tag(
    ref: RefArg,
    key: Annotated[str, typer.Argument(help="The tag's key.")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Remove a tag from a version."""
    with connect(url, token) as client:
        client.delete_version_tag(ref, key)
    output.emit(
        {"version": ref, "deleted_tag": key},
        as_json,
        lambda _: output.message(f"deleted tag {key} of version {ref}"),
    )
