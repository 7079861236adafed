"""A version's lineage as an OpenLineage RunEvent (spec 2-0-2), for Marquez, DataHub,
OpenMetadata and other tools that ingest OpenLineage.

The training of a model is a job (``<model>.training``); each version is one COMPLETE run of
it, whose runId is derived from the version (the same version always exports the same
runId, so re-sending an export updates rather than duplicates). Inputs are the datasets,
feature views and parent models (Charter versions or external models); the output is the
model version, as the dataset ``<model>`` at version ``<number>``. Code goes to the job's
``sourceCodeLocation`` facet; the run, hyperparameters and environment to a custom run facet.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from charter import __version__
from charter.lineage import keys
from charter.lineage.schemas import CodeRead, DatasetRead, FeatureRead, LineageRead, ParentRead
from charter.registry.views import VersionView

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
# Identifies Charter as the producer, as OpenLineage asks (a URL of the producing code).
PRODUCER = f"https://github.com/charter-registry/charter/tree/v{__version__}"
CUSTOM_FACETS = f"{PRODUCER}/docs/openlineage"
DEFAULT_NAMESPACE = "charter"
# runIds are UUIDv5 in this namespace of the version's stable identity.
RUN_ID_NAMESPACE = uuid.UUID("0b6f8f54-8f0e-5b6e-9a55-6c696e656167")
OBJECT_STORES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "wasb", "wasbs", "az"})

_FACET_SCHEMAS = {
    "jobType": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "sourceCodeLocation": "https://openlineage.io/spec/facets/1-0-1/SourceCodeLocationJobFacet.json"
    "#/$defs/SourceCodeLocationJobFacet",
    "version": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json"
    "#/$defs/DatasetVersionDatasetFacet",
    "schema": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
    "#/$defs/SchemaDatasetFacet",
    "dataSource": "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json"
    "#/$defs/DatasourceDatasetFacet",
    "dataQualityMetrics": "https://openlineage.io/spec/facets/1-0-2/"
    "DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet",
    "charter_training": f"{CUSTOM_FACETS}/CharterTrainingRunFacet.json",
    "charter_input": f"{CUSTOM_FACETS}/CharterInputDatasetFacet.json",
    "charter_model_version": f"{CUSTOM_FACETS}/CharterModelVersionDatasetFacet.json",
}


def run_id(namespace: str, version_id: int) -> str:
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{namespace}:model_version:{version_id}"))


def job_name(model: str) -> str:
    return f"{model}.training"


def run_event(version: VersionView, lineage: LineageRead, namespace: str) -> dict[str, Any]:
    """One RunEvent: the version's training run, COMPLETE at the version's creation time."""
    job_facets: dict[str, Any] = {
        "jobType": _facet(
            "jobType", processingType="BATCH", integration="CHARTER", jobType="MODEL_TRAINING"
        )
    }
    if lineage.code:
        location = _source_code(lineage.code[0])
        if location is not None:
            job_facets["sourceCodeLocation"] = location
    inputs = [_dataset(d, namespace) for d in lineage.datasets]
    inputs += [_feature(f) for f in lineage.features]
    inputs += [_parent(p, namespace) for p in lineage.parents]
    return {
        "eventType": "COMPLETE",
        "eventTime": _iso(version.created_at),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {
            "runId": run_id(namespace, version.id),
            "facets": {"charter_training": _training(lineage)},
        },
        "job": {"namespace": namespace, "name": job_name(version.model), "facets": job_facets},
        "inputs": inputs,
        "outputs": [_output(version, namespace)],
    }


def dataset_identity(uri: str, fallback_namespace: str) -> tuple[str, str]:
    """OpenLineage's (namespace, name) of a dataset URI, by its naming conventions:
    ``s3://bucket/a/b`` is (``s3://bucket``, ``a/b``), ``hdfs://nn:8020/a`` is
    (``hdfs://nn:8020``, ``/a``), ``file:/a`` is (``file``, ``/a``)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme and parts.netloc:
        name = parts.path.lstrip("/") if scheme in OBJECT_STORES else parts.path or "/"
        return f"{scheme}://{parts.netloc}", name or "/"
    if scheme == "file":
        return "file", parts.path
    if scheme:
        return scheme, uri[len(scheme) + 1 :]
    return fallback_namespace, uri


def _facet(facet: str, /, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": _FACET_SCHEMAS[facet], **fields}


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dataset(dataset: DatasetRead, namespace: str) -> dict[str, Any]:
    ds_namespace, name = dataset_identity(dataset.uri, namespace)
    facets: dict[str, Any] = {"dataSource": _facet("dataSource", name=ds_namespace)}
    if "://" in ds_namespace:
        facets["dataSource"]["uri"] = ds_namespace
    if dataset.snapshot:
        facets["version"] = _facet("version", datasetVersion=dataset.snapshot)
    if dataset.schema_ is not None:
        fields = [f.model_dump(exclude_none=True) for f in dataset.schema_]
        facets["schema"] = _facet("schema", fields=fields)
    input_facets: dict[str, Any] = {
        "charter_input": _facet("charter_input", role=dataset.role, uri=dataset.uri)
    }
    if dataset.row_count is not None:
        input_facets["dataQualityMetrics"] = _facet(
            "dataQualityMetrics", rowCount=dataset.row_count, columnMetrics={}
        )
    return {"namespace": ds_namespace, "name": name, "facets": facets, "inputFacets": input_facets}


def _feature(feature: FeatureRead) -> dict[str, Any]:
    facets: dict[str, Any] = {"dataSource": _facet("dataSource", name=feature.store)}
    if feature.version:
        facets["version"] = _facet("version", datasetVersion=feature.version)
    if feature.features:
        fields = [{"name": name, "type": "feature"} for name in feature.features]
        facets["schema"] = _facet("schema", fields=fields)
    return {
        "namespace": feature.store,
        "name": feature.view,
        "facets": facets,
        "inputFacets": {"charter_input": _facet("charter_input", role="feature")},
    }


def _parent(parent: ParentRead, namespace: str) -> dict[str, Any]:
    role = {"charter_input": _facet("charter_input", role=parent.relation)}
    if parent.version is not None:
        version = _facet("version", datasetVersion=str(parent.version.version))
        return {
            "namespace": namespace,
            "name": parent.version.model,
            "facets": {"version": version},
            "inputFacets": role,
        }
    assert parent.external is not None
    facets: dict[str, Any] = {}
    if parent.external.revision:
        facets["version"] = _facet("version", datasetVersion=parent.external.revision)
    return {
        "namespace": parent.external.source,
        "name": parent.external.name,
        "facets": facets,
        "inputFacets": role,
    }


def _output(version: VersionView, namespace: str) -> dict[str, Any]:
    details = _facet(
        "charter_model_version",
        ref=f"{version.model}/{version.version}",
        status=version.status,
        stage=version.stage,
        aliases=version.aliases,
        manifestDigest=version.manifest_digest,
        source=version.source,
        createdBy=version.created_by,
    )
    return {
        "namespace": namespace,
        "name": version.model,
        "facets": {
            "version": _facet("version", datasetVersion=str(version.version)),
            "charter_model_version": details,
        },
    }


def _source_code(code: CodeRead) -> dict[str, Any] | None:
    if not code.repo:
        return None
    host_path = keys.repository(code.repo)
    fields: dict[str, Any] = {"type": "git", "url": f"https://{host_path}", "repoUrl": code.repo}
    fields["version"] = code.commit
    if code.path:
        fields["path"] = code.path
    return _facet("sourceCodeLocation", **fields)


def _training(lineage: LineageRead) -> dict[str, Any]:
    run = None
    if lineage.run is not None:
        run = {
            "id": lineage.run.id,
            "link": lineage.run.link,
            "tracking": lineage.run.tracking,
            "params": lineage.run.params,
            "metrics": lineage.run.metrics,
        }
    return _facet(
        "charter_training",
        run=run,
        loggedModel=None if lineage.logged_model is None else lineage.logged_model.id,
        hyperparameters=lineage.hyperparameters,
        environment=lineage.environment,
        code=[
            {"repo": c.repo, "commit": c.commit, "path": c.path, "dirty": c.dirty}
            for c in lineage.code
        ],
    )
