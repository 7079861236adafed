"""A lineage request turned into rows to write: normalised entity keys, edge attributes and
JSON values. Parent references are resolved by the service (they need the registry)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from charter import naming
from charter.errors import InvalidArgument
from charter.lineage import keys
from charter.lineage.models import (
    CODE,
    DATASET,
    ENVIRONMENT,
    EXTERNAL_MODEL,
    FEATURE,
    HYPERPARAMETER,
    LOGGED_MODEL,
    RUN,
    RUN_METRIC,
    RUN_PARAM,
)
from charter.lineage.repository import EntityKey
from charter.lineage.schemas import (
    CodeIn,
    DatasetIn,
    EnvironmentIn,
    FeatureIn,
    LineageIn,
    RunIn,
)

VALUE_MAX = naming.TAG_VALUE_MAX
# Roles that a version holds at most once: one run trained it, one logged model it came from.
SINGLE_ROLES = frozenset({RUN, LOGGED_MODEL})


@dataclass(frozen=True)
class EdgeDraft:
    role: str
    label: str  # how messages name it: "training dataset s3://b/x@v3"
    entity: EntityKey | None = None
    parent_id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValueDraft:
    section: str
    key: str
    value: str  # JSON


@dataclass
class Drafts:
    edges: list[EdgeDraft] = field(default_factory=list)
    values: list[ValueDraft] = field(default_factory=list)


def entity_drafts(body: LineageIn) -> Drafts:
    """Everything but Charter parents, validated; raises InvalidArgument naming the field."""
    drafts = Drafts()
    for index, dataset in enumerate(body.datasets):
        drafts.edges.append(_dataset(dataset, f"datasets[{index}]"))
    for index, feature in enumerate(body.features):
        drafts.edges.append(_feature(feature, f"features[{index}]"))
    for index, code in enumerate(body.code):
        drafts.edges.append(_code(code, f"code[{index}]"))
    if body.run is not None:
        drafts.edges.append(_run(body.run))
        drafts.values.extend(_run_values(body.run))
    if body.logged_model is not None:
        model_id = keys.required(body.logged_model.id, "logged_model.id", keys.NAME_MAX_BYTES)
        drafts.edges.append(
            EdgeDraft(
                LOGGED_MODEL,
                f"logged model {model_id}",
                EntityKey(LOGGED_MODEL, model_id),
                attributes={"name": body.logged_model.name},
            )
        )
    for index, parent in enumerate(body.parents):
        if parent.external is not None:
            where = f"parents[{index}].external"
            external = parent.external
            name = keys.required(external.name, f"{where}.name", keys.NAME_MAX_BYTES)
            revision = keys.optional(
                external.revision, f"{where}.revision", keys.REVISION_MAX_BYTES
            )
            source = keys.required(external.source, f"{where}.source", keys.NAMESPACE_MAX_BYTES)
            label = f"{parent.relation} {source}:{name}" + (f"@{revision}" if revision else "")
            drafts.edges.append(
                EdgeDraft(parent.relation, label, EntityKey(EXTERNAL_MODEL, name, revision, source))
            )
    if body.environment is not None:
        drafts.values.extend(_environment(body.environment))
    for key, value in body.hyperparameters.items():
        drafts.values.append(_value(HYPERPARAMETER, key, value, "hyperparameters"))
    return drafts


def _dataset(dataset: DatasetIn, where: str) -> EdgeDraft:
    uri = keys.required(dataset.uri, f"{where}.uri", keys.NAME_MAX_BYTES)
    snapshot = keys.optional(dataset.snapshot, f"{where}.snapshot", keys.REVISION_MAX_BYTES)
    schema = None
    if dataset.schema_ is not None:
        schema = [f.model_dump(exclude_none=True) for f in dataset.schema_]
    label = f"{dataset.role} dataset {uri}" + (f"@{snapshot}" if snapshot else "")
    return EdgeDraft(
        dataset.role,
        label,
        EntityKey(DATASET, uri, snapshot),
        attributes={"name": dataset.name, "row_count": dataset.row_count, "schema": schema},
    )


def _feature(feature: FeatureIn, where: str) -> EdgeDraft:
    store = keys.required(feature.store, f"{where}.store", keys.NAMESPACE_MAX_BYTES)
    view = keys.required(feature.view, f"{where}.view", keys.NAME_MAX_BYTES)
    version = keys.optional(feature.version, f"{where}.version", keys.REVISION_MAX_BYTES)
    label = f"feature view {store}:{view}" + (f"@{version}" if version else "")
    names = [keys.required(n, f"{where}.features", 256) for n in feature.features]
    return EdgeDraft(
        FEATURE,
        label,
        EntityKey(FEATURE, view, version, store),
        attributes={"features": names or None},
    )


def _code(code: CodeIn, where: str) -> EdgeDraft:
    sha = keys.commit(code.commit, f"{where}.commit")
    repo = keys.repository(code.repo, f"{where}.repo")
    path = None if code.path is None else keys.text(code.path, f"{where}.path", 1024)
    label = f"commit {repo + '@' if repo else ''}{sha}"
    return EdgeDraft(
        CODE,
        label,
        EntityKey(CODE, repo, sha),
        attributes={"repo": code.repo and code.repo.strip(), "path": path, "dirty": code.dirty},
    )


def _run(run: RunIn) -> EdgeDraft:
    run_id = keys.required(run.id, "run.id", keys.NAME_MAX_BYTES)
    tracking = keys.optional(run.tracking, "run.tracking", keys.NAMESPACE_MAX_BYTES)
    naming.no_nul(run.link, "run.link")
    return EdgeDraft(
        RUN, f"run {run_id}", EntityKey(RUN, run_id, "", tracking), attributes={"link": run.link}
    )


def _run_values(run: RunIn) -> list[ValueDraft]:
    values = [_value(RUN_PARAM, k, v, "run.params") for k, v in run.params.items()]
    values += [_value(RUN_METRIC, k, v, "run.metrics") for k, v in run.metrics.items()]
    return values


def _environment(environment: EnvironmentIn) -> list[ValueDraft]:
    return [
        _value(ENVIRONMENT, key, value, "environment")
        for key, value in environment.model_dump(exclude_none=True).items()
    ]


def _value(section: str, key: str, value: Any, where: str) -> ValueDraft:
    clean_key = naming.tag_key(key, f"{where} key")
    if isinstance(value, str):
        value = naming.normalise(value)
        naming.no_nul(value, f"{where}.{clean_key}")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN or infinity: JSON has no spelling for them
        raise InvalidArgument(f"{where}.{clean_key} must be a finite number", field=where) from exc
    if len(encoded) > VALUE_MAX:
        raise InvalidArgument(
            f"{where}.{clean_key} is {len(encoded)} characters long; the limit is {VALUE_MAX}",
            field=where,
        )
    return ValueDraft(section, clean_key, encoded)
