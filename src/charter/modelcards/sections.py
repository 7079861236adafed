"""The sections of a model card, each made by one provider from registry data.

A provider is a function ``(CardSubject) -> Section``: it reads what it needs through the
services of the area that owns it and returns the section both as data (for ``?format=json``)
and as Markdown. ``PROVIDERS`` lists them in card order; another area's data comes in through
one seam each (``lineage_facts`` from lineage, ``io_schema`` and ``scan_status`` from inspection).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.inspection.service import InspectionService
from charter.lineage.schemas import LineageRead, ParentRead
from charter.lineage.service import LineageService
from charter.modelcards import markdown as md
from charter.registry.references import VersionSelector
from charter.registry.views import ModelView, VersionView

NOT_DOCUMENTED = "_Not documented yet._"


@dataclass(frozen=True)
class CardSubject:
    """The version a card describes, its card texts, and the means to read more about it."""

    session: Session
    ctx: RequestContext
    blobs: BlobStore
    model: ModelView
    version: VersionView
    fields: Mapping[str, str]  # the effective texts: the version's, else the model's

    @property
    def ref(self) -> str:
        return f"{self.model.name}/{self.version.version}"

    @property
    def selector(self) -> VersionSelector:
        return VersionSelector(number=self.version.version)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    data: dict[str, Any]
    markdown: str


Provider = Callable[[CardSubject], Section]


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")
    return moment.replace("+00:00", "Z")


def _text(subject: CardSubject, field: str) -> str:
    value = subject.fields.get(field)
    return md.block(value) if value else NOT_DOCUMENTED


def model_details(subject: CardSubject) -> Section:
    model, version = subject.model, subject.version
    tags = {**model.tags, **version.tags}
    data: dict[str, Any] = {
        "model": model.name,
        "version": version.version,
        "status": version.status,
        "model_description": model.description,
        "version_description": version.description,
        "owner": model.owner,
        "created_by": version.created_by,
        "created_at": iso(version.created_at),
        "license": subject.fields.get("license"),
        "tags": tags,
    }
    rows = [
        ("Model", md.inline(model.name)),
        ("Version", str(version.version)),
        ("Status", md.inline(version.status)),
        ("Owner", md.inline(model.owner)),
        ("Registered by", md.inline(version.created_by)),
        ("Registered at", iso(version.created_at) or ""),
        ("License", md.inline(data["license"] or "not specified")),
    ]
    parts = [md.block(model.description) if model.description else NOT_DOCUMENTED]
    if version.description:
        parts.append(f"**This version:** {md.block(version.description)}")
    parts.append(md.facts(rows))
    if tags:
        parts.append(
            md.table(["Tag", "Value"], [[md.inline(k), md.inline(v)] for k, v in tags.items()])
        )
    return Section("model_details", "Model Details", data, "\n\n".join(parts))


def uses(subject: CardSubject) -> Section:
    data = {
        "intended_use": subject.fields.get("intended_use"),
        "out_of_scope_use": subject.fields.get("out_of_scope_use"),
    }
    text = (
        f"### Direct Use\n\n{_text(subject, 'intended_use')}\n\n"
        f"### Out-of-Scope Use\n\n{_text(subject, 'out_of_scope_use')}"
    )
    return Section("uses", "Uses", data, text)


def risks(subject: CardSubject) -> Section:
    data = {
        "limitations": subject.fields.get("limitations"),
        "recommendations": subject.fields.get("recommendations"),
    }
    text = (
        f"{_text(subject, 'limitations')}\n\n"
        f"### Recommendations\n\n{_text(subject, 'recommendations')}"
    )
    return Section("risks", "Bias, Risks, and Limitations", data, text)


def training(subject: CardSubject) -> Section:
    version = subject.version
    data = {"training_data": subject.fields.get("training_data"), "run_id": version.run_id}
    procedure = (
        md.facts([("Run", md.code(version.run_id))])
        if version.run_id
        else "No training run is linked to this version."
    )
    text = (
        f"### Training Data\n\n{_text(subject, 'training_data')}\n\n"
        f"### Training Procedure\n\n{procedure}"
    )
    return Section("training", "Training Details", data, text)


def evaluation(subject: CardSubject) -> Section:
    metrics = dict(sorted(subject.version.metrics.items()))
    if metrics:
        text = "### Results\n\n" + md.table(
            ["Metric", "Value"], [[md.inline(k), f"{v:g}"] for k, v in metrics.items()]
        )
    else:
        text = "No metrics are recorded for this version."
    return Section("evaluation", "Evaluation", {"metrics": metrics}, text)


def io_schema(subject: CardSubject) -> Mapping[str, Any] | None:
    """The version's inputs, outputs and params as introspection read them (from its MLmodel,
    else its ONNX graph); None until a scan has read them, or when no file declares them."""
    return InspectionService(subject.session, subject.ctx).signature(subject.version.id)


_SIGNATURE_PARTS = (("inputs", "Inputs"), ("outputs", "Outputs"), ("params", "Parameters"))


def _spec_row(spec: Mapping[str, Any]) -> list[str]:
    kind = spec.get("type") or ""
    if spec.get("dtype"):
        kind = f"{kind} ({spec['dtype']})" if kind else spec["dtype"]
    shape = spec.get("shape")
    return [
        md.inline(spec.get("name") or ""),
        md.inline(kind),
        md.code(json.dumps(shape)) if shape is not None else "",
    ]


def model_signature(subject: CardSubject) -> Section:
    schema = io_schema(subject)
    if not schema:
        text = "The inputs and outputs of this version are not recorded."
        return Section("io_signature", "Model Signature", {"schema": None}, text)
    parts = [f"Read from {md.code(str(schema.get('source') or 'the model files'))}."]
    for key, title in _SIGNATURE_PARTS:
        specs = [s for s in schema.get(key) or [] if isinstance(s, Mapping)]
        if specs:
            table = md.table(["Name", "Type", "Shape"], [_spec_row(s) for s in specs])
            parts.append(f"**{title}**\n\n{table}")
    return Section("io_signature", "Model Signature", {"schema": dict(schema)}, "\n\n".join(parts))


def lineage_facts(subject: CardSubject) -> LineageRead:
    """Where the version came from, as the lineage area recorded it."""
    return LineageService(subject.session, subject.ctx).get(subject.model.name, subject.selector)


def provenance(subject: CardSubject) -> Section:
    version, lineage = subject.version, lineage_facts(subject)
    run_id = lineage.run.id if lineage.run else version.run_id
    run_link = (lineage.run.link if lineage.run else None) or version.run_link
    recorded = lineage.model_dump(
        mode="json", by_alias=True, exclude={"model", "version", "status"}
    )
    data = {"source": version.source, "run_id": run_id, "run_link": run_link, "lineage": recorded}
    facts = [
        (label, md.code(value))
        for label, value in (
            ("Source", version.source),
            ("Run", run_id),
            ("Run link", run_link),
            ("Logged model", lineage.logged_model.id if lineage.logged_model else None),
        )
        if value
    ]
    parts = [md.facts(facts)] if facts else []
    parts += [f"**{title}**\n\n{body}" for title, body in provenance_tables(lineage) if body]
    text = "\n\n".join(parts) or "No lineage is recorded for this version."
    return Section("provenance", "Provenance", data, text)


def provenance_tables(lineage: LineageRead) -> list[tuple[str, str]]:
    """(title, Markdown table) per part of the lineage; an empty table for a part not recorded."""

    def table(header: list[str], rows: list[list[str]]) -> str:
        return md.table(header, rows) if rows else ""

    def opt(value: object) -> str:
        return "" if value is None else md.inline(value)

    run_params = lineage.run.params if lineage.run else {}
    return [
        (
            "Datasets",
            table(
                ["Role", "URI", "Snapshot", "Rows"],
                [
                    [md.inline(d.role), md.code(d.uri), opt(d.snapshot), opt(d.row_count)]
                    for d in lineage.datasets
                ],
            ),
        ),
        (
            "Code",
            table(
                ["Repository", "Commit", "Path"],
                [[opt(c.repo), md.code(c.commit), opt(c.path)] for c in lineage.code],
            ),
        ),
        (
            "Features",
            table(
                ["Store", "View", "Version", "Features"],
                [
                    [
                        md.inline(f.store),
                        md.inline(f.view),
                        opt(f.version),
                        md.inline(", ".join(f.features)),
                    ]
                    for f in lineage.features
                ],
            ),
        ),
        (
            "Parents",
            table(["Relation", "Model", "Revision"], [_parent_row(p) for p in lineage.parents]),
        ),
        (
            "Environment",
            md.facts([(md.inline(k), md.code(v)) for k, v in lineage.environment.items()]),
        ),
        (
            "Hyperparameters",
            table(
                ["Name", "Value"],
                [[md.inline(k), md.inline(_scalar(v))] for k, v in lineage.hyperparameters.items()],
            ),
        ),
        (
            "Run parameters",
            table(["Name", "Value"], [[md.inline(k), md.inline(v)] for k, v in run_params.items()]),
        ),
    ]


def _scalar(value: object) -> str:
    """A hyperparameter as written in JSON (``true``, ``0.01``), text as it is."""
    return value if isinstance(value, str) else json.dumps(value)


def _parent_row(parent: ParentRead) -> list[str]:
    relation = md.inline(parent.relation.replace("_", " "))
    if parent.version is not None:
        return [relation, md.inline(parent.version.ref), ""]
    external = parent.external
    assert external is not None  # a parent is a version or an external model
    name = f"{external.name} ({external.source})"
    return [relation, md.inline(name), md.inline(external.revision or "")]
