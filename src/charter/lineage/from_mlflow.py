"""A version registered from an MLflow run or logged model gets its lineage from the tracking
rows: the run (id, parameters, latest metrics), the datasets it logged with ``log_inputs``,
the ``mlflow.source.git.*`` tags and the logged model, and the digest of the logged model's
``requirements.txt``.

What the run logs after the version is registered (metrics of a later evaluation, say) is
not in this snapshot; it can be added through the lineage API.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.errors import InvalidArgument, NotFound
from charter.lineage.drafts import entity_drafts
from charter.lineage.schemas import (
    CodeIn,
    DatasetIn,
    EnvironmentIn,
    LineageIn,
    LoggedModelIn,
    RunIn,
    SchemaField,
)
from charter.lineage.service import LineageService
from charter.registry.references import VersionSelector
from charter.tracking.runs import RunService
from charter.tracking.schemas import DatasetInputRead
from charter.tracking.schemas import RunRead as TrackedRun
from charter.tracking.service import ResolvedSource

logger = logging.getLogger("charter.lineage")

GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_REPO_TAG = "mlflow.source.git.repoURL"
SOURCE_NAME_TAG = "mlflow.source.name"
CONTEXT_TAG = "mlflow.data.context"
EVALUATION_CONTEXTS = frozenset({"eval", "evaluation", "test", "testing", "validation", "valid"})
REQUIREMENTS = ("requirements.txt",)
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")


def record_registration(
    session: Session,
    ctx: RequestContext,
    model: str,
    version: int,
    *,
    run_id: str | None,
    run_link: str | None,
    resolved: ResolvedSource | None,
) -> None:
    """Record the lineage of a version just registered through MLflow's API.

    Tracking data the lineage rules refuse (a malformed tag, an oversized source) leaves the
    version without lineage, with a warning, rather than failing the registration that the
    mlflow client is waiting for.
    """
    if not run_id and not (resolved is not None and resolved.model_id):
        return
    run = None
    if run_id:
        try:
            run = RunService(session, ctx).get(run_id)
        except NotFound:
            run = None  # a run tracked elsewhere: its id and link are all Charter knows
    try:
        body = lineage_of(run, run_id, run_link, resolved)
        entity_drafts(body)
    except (ValidationError, InvalidArgument) as exc:
        logger.warning("lineage of %s/%s not recorded from MLflow: %s", model, version, exc)
        return
    LineageService(session, ctx).add(model, VersionSelector(number=version), body)


def lineage_of(
    run: TrackedRun | None,
    run_id: str | None,
    run_link: str | None,
    resolved: ResolvedSource | None,
) -> LineageIn:
    """The lineage to record for a version registered from ``run`` (a Charter-tracked run, or
    None when the run is unknown here) and/or the logged model of ``resolved``."""
    body = LineageIn()
    if run_id:
        body.run = RunIn(
            id=run_id,
            link=run_link or f"runs:/{run_id}",
            tracking="mlflow",
        )
    if run is not None and body.run is not None:
        body.run.params = {p.key: p.value for p in run.data.params}
        body.run.metrics = {m.key: m.value for m in run.data.metrics if m.value == m.value}
        body.datasets = [_dataset(item) for item in run.inputs.dataset_inputs]
        tags = {t.key: t.value for t in run.data.tags}
        commit = tags.get(GIT_COMMIT_TAG, "").strip()
        if _COMMIT.match(commit):
            body.code = [
                CodeIn(
                    repo=tags.get(GIT_REPO_TAG) or None,
                    commit=commit,
                    path=tags.get(SOURCE_NAME_TAG),
                )
            ]
    if resolved is not None and resolved.model_id:
        body.logged_model = LoggedModelIn(id=resolved.model_id)
    if resolved is not None:
        digest = next((f.sha256 for f in resolved.files if f.path in REQUIREMENTS), None)
        if digest:
            body.environment = EnvironmentIn(requirements_digest=f"sha256:{digest}")
    return body


def _dataset(item: DatasetInputRead) -> DatasetIn:
    dataset = item.dataset
    tags = {t.key: t.value for t in item.tags}
    context = tags.get(CONTEXT_TAG, "").lower()
    return DatasetIn(
        uri=_uri(dataset.source, dataset.source_type, dataset.name),
        role="evaluation" if context in EVALUATION_CONTEXTS else "training",
        snapshot=dataset.digest,
        name=dataset.name,
        row_count=_row_count(dataset.profile),
        schema_=_schema(dataset.schema_),
    )


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _uri(source: str, source_type: str, name: str) -> str:
    """Where the data lives, from MLflow's source JSON (``{"uri": ...}``, ``{"url": ...}``,
    ``{"path": ...}``); an in-memory dataset has none and is named by its MLflow name."""
    parsed = _json(source)
    if isinstance(parsed, dict):
        for key in ("uri", "url", "path", "table_name"):
            value = parsed.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:1024]
    return f"mlflow-dataset:{source_type or 'unknown'}/{name}"[:1024]


def _row_count(profile: str | None) -> int | None:
    """``num_rows`` (pandas, Spark) or the first dimension of a NumPy ``features_shape``."""
    parsed = _json(profile)
    if not isinstance(parsed, dict):
        return None
    rows = parsed.get("num_rows")
    if isinstance(rows, int) and rows >= 0:
        return rows
    shape = parsed.get("features_shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], int) and shape[0] >= 0:
        return shape[0]
    return None


def _schema(schema: str | None) -> list[SchemaField] | None:
    """Columns of MLflow's ``mlflow_colspec``, or one field per tensor of ``mlflow_tensorspec``."""
    parsed = _json(schema)
    if not isinstance(parsed, dict):
        return None
    columns = parsed.get("mlflow_colspec")
    if isinstance(columns, list):
        return [
            SchemaField(name=str(c.get("name", ""))[:256], type=str(c.get("type", ""))[:256])
            for c in columns[:1000]
            if isinstance(c, dict)
        ]
    tensors = parsed.get("mlflow_tensorspec")
    if isinstance(tensors, dict):
        fields = []
        for name, spec in tensors.items():
            specs = _json(spec) if isinstance(spec, str) else spec
            first = specs[0] if isinstance(specs, list) and specs else {}
            tensor = first.get("tensor-spec", {}) if isinstance(first, dict) else {}
            kind = f"tensor {tensor.get('dtype', '')} {tensor.get('shape', '')}".strip()
            fields.append(SchemaField(name=str(name)[:256], type=kind[:256]))
        return fields
    return None
