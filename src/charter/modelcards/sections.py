"""The sections of a model card, each made by one provider from registry data.

A provider is a function ``(CardSubject) -> Section``: it reads what it needs through the
services of the area that owns it and returns the section both as data (for ``?format=json``)
and as Markdown. ``PROVIDERS`` lists them in card order; an area that lands later (lineage,
scans, introspection) adds or replaces a provider here, or fills one of the seams below
(``lineage_facts``, ``scan_status``, ``io_schema``), without touching the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.modelcards import markdown as md
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
    """The version's inputs and outputs; the seam where introspection plugs in."""
    del subject
    return None


def model_signature(subject: CardSubject) -> Section:
    schema = io_schema(subject)
    text = (
        md.facts([(md.inline(k), md.inline(v)) for k, v in schema.items()])
        if schema
        else "The inputs and outputs of this version are not recorded."
    )
    return Section("io_signature", "Model Signature", {"schema": schema}, text)


def lineage_facts(subject: CardSubject) -> dict[str, str | None]:
    """Where the version came from; the seam where the lineage area plugs in."""
    version = subject.version
    return {"source": version.source, "run_id": version.run_id, "run_link": version.run_link}


_LINEAGE_LABELS = {"source": "Source", "run_id": "Run", "run_link": "Run link"}


def provenance(subject: CardSubject) -> Section:
    lineage = lineage_facts(subject)
    known = {k: v for k, v in lineage.items() if v}
    text = (
        md.facts([(md.inline(_LINEAGE_LABELS.get(k, k)), md.code(v)) for k, v in known.items()])
        if known
        else "No lineage is recorded for this version."
    )
    return Section("provenance", "Provenance", {"lineage": lineage}, text)
