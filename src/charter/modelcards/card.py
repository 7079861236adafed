"""A whole card: the providers in order, the Hugging Face front matter, and the Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charter.modelcards import markdown as md
from charter.modelcards.records import governance, integrity
from charter.modelcards.sections import (
    CardSubject,
    Provider,
    Section,
    evaluation,
    model_details,
    model_signature,
    provenance,
    risks,
    training,
    uses,
)

# Hugging Face's model card layout first, then what a registry knows that a hub does not.
PROVIDERS: tuple[Provider, ...] = (
    model_details,
    uses,
    risks,
    training,
    evaluation,
    model_signature,
    provenance,
    integrity,
    governance,
)
SHORT_TAG = 64  # longer tag values stay in the card's body, out of the hub's tag list


@dataclass(frozen=True)
class ModelCard:
    model: str
    version: int
    metadata: dict[str, Any]
    sections: list[Section]

    def markdown(self) -> str:
        title = f"# Model Card for {md.inline(self.model)} version {self.version}"
        body = "\n\n".join(f"## {s.title}\n\n{s.markdown}" for s in self.sections)
        return f"{md.front_matter(self.metadata)}\n{title}\n\n{body}\n"


def build(subject: CardSubject) -> ModelCard:
    sections = [provider(subject) for provider in PROVIDERS]
    return ModelCard(
        model=subject.model.name,
        version=subject.version.version,
        metadata=metadata(subject, {s.key: s for s in sections}),
        sections=sections,
    )


def metadata(subject: CardSubject, sections: dict[str, Section]) -> dict[str, Any]:
    """The YAML front matter, with the keys the Hugging Face Hub reads (license, library_name,
    tags, metrics, model-index) and Charter's own under ``charter``."""
    model, version = subject.model, subject.version
    tags = {**model.tags, **version.tags}
    data: dict[str, Any] = {}
    if subject.fields.get("license"):
        data["license"] = subject.fields["license"]
    if tags.get("library_name"):
        data["library_name"] = tags["library_name"]
    data["tags"] = ["charter"] + [
        f"{k}:{v}" for k, v in sorted(tags.items()) if len(k) + len(v) < SHORT_TAG
    ]
    if version.metrics:
        data["metrics"] = sorted(version.metrics)
        result: dict[str, Any] = {"task": {"type": tags.get("task", "other")}}
        dataset = tags.get("evaluation_dataset") or tags.get("training_dataset")
        if dataset:
            result["dataset"] = {"name": dataset, "type": dataset}
        result["metrics"] = [
            {"type": k, "name": k, "value": v} for k, v in sorted(version.metrics.items())
        ]
        data["model-index"] = [{"name": model.name, "results": [result]}]
    integrity = sections["integrity"].data if "integrity" in sections else {}
    data["charter"] = {
        "model": model.name,
        "version": version.version,
        "status": version.status,
        "stage": version.stage,
        "aliases": list(version.aliases),
        "manifest_digest": version.manifest_digest,
        "scan": integrity.get("scan", {}).get("status"),
        "signature": integrity.get("signature", {}).get("status"),
    }
    return data
