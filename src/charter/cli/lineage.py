"""``charter lineage``: what a version was made from, what was made from what, and exports.

A version is named by a reference: ``name/3``, ``name@alias`` or ``name/Stage``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from charter.cli import output
from charter.cli.connection import (
    DEFAULT_URL,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    page_size,
    parse_pairs,
)
from charter.client import ImpactedVersion, Lineage, Upstream

app = typer.Typer(help="Lineage: datasets, code, runs and parent models.", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(help="name/VERSION, name@ALIAS or name/STAGE.")]
EXTERNAL_PREFIX = "hf://"
SECTIONS = frozenset(
    {
        "datasets",
        "features",
        "code",
        "run",
        "logged_model",
        "parents",
        "environment",
        "hyperparameters",
    }
)


@app.command("show")
def show(
    ref: RefArg,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show a version's lineage."""
    with connect(url, token) as client:
        lineage = client.get_lineage(ref)
    output.emit(lineage, as_json, show_lineage)


@app.command("add")
def add(
    ref: RefArg,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Training data as URI[@SNAPSHOT]; repeatable.")
    ] = None,
    eval_dataset: Annotated[
        list[str] | None, typer.Option(help="Evaluation data as URI[@SNAPSHOT]; repeatable.")
    ] = None,
    commit: Annotated[
        list[str] | None, typer.Option(help="Code as [REPO@]SHA; repeatable.")
    ] = None,
    feature: Annotated[
        list[str] | None, typer.Option(help="A feature view as STORE:VIEW[@VERSION]; repeatable.")
    ] = None,
    parent: Annotated[
        list[str] | None,
        typer.Option(help="Fine-tuned from: a version REF or hf://REPO[@REVISION]; repeatable."),
    ] = None,
    distilled_from: Annotated[
        list[str] | None, typer.Option(help="Distilled from: REF or hf://REPO[@REVISION].")
    ] = None,
    hyperparameter: Annotated[
        list[str] | None, typer.Option("--param", help="A hyperparameter as KEY=VALUE.")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="The run that trained it.")] = None,
    run_link: Annotated[str | None, typer.Option(help="A link to that run.")] = None,
    python_version: Annotated[str | None, typer.Option(help="e.g. 3.11.7")] = None,
    requirements_digest: Annotated[
        str | None, typer.Option(help="Digest of the lock/requirements file.")
    ] = None,
    image_digest: Annotated[str | None, typer.Option(help="Container image digest.")] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--file", exists=True, dir_okay=False, help="A JSON document of the lineage API."
        ),
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Add to a version's lineage (a READY version's lineage can be added to, never changed)."""
    body: dict[str, Any] = _load(from_file) if from_file else {}
    body.setdefault("datasets", []).extend(
        [_dataset(d, "training") for d in dataset or ()]
        + [_dataset(d, "evaluation") for d in eval_dataset or ()]
    )
    body.setdefault("code", []).extend(_commit(c) for c in commit or ())
    body.setdefault("features", []).extend(_feature(f) for f in feature or ())
    body.setdefault("parents", []).extend(
        [_parent(p, "fine_tuned_from") for p in parent or ()]
        + [_parent(p, "distilled_from") for p in distilled_from or ()]
    )
    body.setdefault("hyperparameters", {}).update(
        {k: _scalar(v) for k, v in parse_pairs(hyperparameter, "--param").items()}
    )
    if run_id:
        body["run"] = {"id": run_id, "link": run_link}
    environment = {
        "python_version": python_version,
        "requirements_digest": requirements_digest,
        "image_digest": image_digest,
    }
    if any(environment.values()):
        body["environment"] = {k: v for k, v in environment.items() if v}
    with connect(url, token) as client:
        lineage = client.add_lineage(ref, **body)
    output.emit(lineage, as_json, show_lineage)


@app.command("upstream")
def upstream(
    ref: RefArg,
    max_depth: Annotated[int | None, typer.Option(min=0, help="Stop this many parents up.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Everything a version depends on, transitively through its parent models."""
    with connect(url, token) as client:
        graph = client.upstream(ref, max_depth=max_depth)
    output.emit(graph, as_json, show_upstream)


@app.command("impact")
def impact(
    dataset: Annotated[str | None, typer.Option(help="A dataset URI.")] = None,
    snapshot: Annotated[str | None, typer.Option(help="Only this snapshot of it.")] = None,
    commit: Annotated[str | None, typer.Option(help="A commit SHA.")] = None,
    repo: Annotated[str | None, typer.Option(help="Only commits of this repository.")] = None,
    feature: Annotated[str | None, typer.Option(help="A feature view name.")] = None,
    feature_store: Annotated[str | None, typer.Option(help="Only in this store.")] = None,
    feature_version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    parent: Annotated[str | None, typer.Option(help="A parent version REF.")] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Only versions with an alias/stage.")
    ] = False,
    direct: Annotated[bool, typer.Option("--direct", help="Not through parent models.")] = False,
    max_results: Annotated[int | None, typer.Option(min=1, help="Stop after this many.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Which versions were built from a dataset, a commit, a feature view or a parent version."""
    with connect(url, token) as client:
        found = client.iter_impact(
            dataset=dataset,
            snapshot=snapshot,
            commit=commit,
            repo=repo,
            feature=feature,
            feature_store=feature_store,
            feature_version=feature_version,
            parent=parent,
            live_only=live,
            transitive=not direct,
            max_results=page_size(max_results),
        )
        versions = list(islice(found, max_results))
    output.emit(versions, as_json, show_impact)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON Lines).")],
    ref: Annotated[str | None, typer.Argument(help="A version REF (or use --model).")] = None,
    model: Annotated[str | None, typer.Option(help="Every version of this model.")] = None,
    namespace: Annotated[str | None, typer.Option(help="OpenLineage namespace.")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Write OpenLineage RunEvents, one JSON document per line, for a version or a model."""
    if (ref is None) == (model is None):
        raise typer.BadParameter("give a version REF or --model NAME, not both", param_hint="REF")
    with connect(url, token) as client:
        if ref is not None:
            events = [client.openlineage_event(ref, namespace=namespace)]
        else:
            assert model is not None
            events = list(client.iter_openlineage_events(model, namespace=namespace))
    out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    output.message(f"wrote {len(events)} OpenLineage event(s) to {out}")


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc}", param_hint="--file") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold a JSON object", param_hint="--file")
    unknown = sorted(set(data) - SECTIONS)
    if unknown:
        raise typer.BadParameter(
            f"{path} has unknown sections {', '.join(unknown)}", param_hint="--file"
        )
    return data


def _split_revision(value: str) -> tuple[str, str | None]:
    """``URI@REV`` when the part after the last '@' is no path (``s3://u@host/x`` keeps it)."""
    head, sep, tail = value.rpartition("@")
    if sep and head and tail and "/" not in tail:
        return head, tail
    return value, None


def _dataset(value: str, role: str) -> dict[str, Any]:
    uri, snapshot = _split_revision(value)
    return {"uri": uri, "snapshot": snapshot, "role": role}


def _commit(value: str) -> dict[str, Any]:
    repo, sep, sha = value.rpartition("@")
    return {"repo": repo, "commit": sha} if sep and repo else {"commit": value}


def _feature(value: str) -> dict[str, Any]:
    reference, version = _split_revision(value)
    store, sep, view = reference.partition(":")
    if not sep or not store or not view:
        raise typer.BadParameter(f"{value!r} is not STORE:VIEW[@VERSION]", param_hint="--feature")
    return {"store": store, "view": view, "version": version}


def _parent(value: str, relation: str) -> dict[str, Any]:
    if value.startswith(EXTERNAL_PREFIX):
        name, revision = _split_revision(value.removeprefix(EXTERNAL_PREFIX))
        external = {"source": "huggingface", "name": name, "revision": revision}
        return {"relation": relation, "external": external}
    return {"relation": relation, "version": value}


def _scalar(value: str) -> str | int | float | bool:
    """Numbers and booleans as such, so hyperparameters keep their types."""
    if value in ("true", "false"):
        return value == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(*(Column(c, overflow="fold") for c in columns), box=box.SIMPLE_HEAD)
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    Console().print(table)


def show_lineage(lineage: Lineage) -> None:
    rows: list[tuple[str, str, str]] = []
    for d in lineage.datasets:
        extra = f"rows={d.row_count}" if d.row_count is not None else ""
        rows.append((f"{d.role} dataset", d.uri + (f"@{d.snapshot}" if d.snapshot else ""), extra))
    for f in lineage.features:
        rows.append(
            ("feature view", f"{f.store}:{f.view}" + (f"@{f.version}" if f.version else ""), "")
        )
    for c in lineage.code:
        rows.append(("code", f"{c.repo or ''}@{c.commit}", c.path or ""))
    if lineage.run is not None:
        rows.append(("run", lineage.run.id, lineage.run.link or ""))
    if lineage.logged_model is not None:
        rows.append(("logged model", lineage.logged_model.id, ""))
    for p in lineage.parents:
        if p.version is not None:
            target = p.version.ref
        else:
            assert p.external is not None
            target = f"{p.external.source}:{p.external.name}@{p.external.revision or ''}"
        rows.append((p.relation.replace("_", " "), target, ""))
    for key, value in lineage.environment.items():
        rows.append(("environment", key, value))
    for key, value in lineage.hyperparameters.items():
        rows.append(("hyperparameter", key, json.dumps(value)))
    output.message(f"{lineage.model}/{lineage.version} ({lineage.status})")
    _table(("what", "which", "detail"), rows)


def show_upstream(graph: Upstream) -> None:
    _table(
        ("depth", "version", "datasets", "commits", "parents"),
        [
            (
                node.depth,
                f"{node.lineage.model}/{node.lineage.version}",
                len(node.lineage.datasets),
                len(node.lineage.code),
                len(node.lineage.parents),
            )
            for node in graph.nodes
        ],
    )


def show_impact(versions: Sequence[ImpactedVersion]) -> None:
    _table(
        ("version", "status", "stage", "aliases", "live", "direct"),
        [
            (
                v.ref,
                v.status,
                v.stage,
                ", ".join(v.aliases),
                "yes" if v.live else "",
                "yes" if v.direct else "",
            )
            for v in versions
        ],
    )
