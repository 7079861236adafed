"""Versions' lineage as the API returns it, loaded for many versions in three queries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

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
    LineageEdge,
    LineageEntity,
)
from charter.lineage.repository import LineageRepository
from charter.lineage.schemas import (
    CodeRead,
    DatasetRead,
    ExternalModelRead,
    FeatureRead,
    LineageRead,
    LoggedModelRead,
    ParentRead,
    RunRead,
    SchemaField,
    VersionKey,
)


def lineage_reads(session: Session, version_ids: Sequence[int]) -> dict[int, LineageRead]:
    repo = LineageRepository(session)
    edges = repo.edges(version_ids)
    values = repo.values(version_ids)
    parent_ids = {e.parent_version_id for e, _ in edges if e.parent_version_id is not None}
    names = repo.version_keys(sorted(set(version_ids) | parent_ids))
    sections: dict[int, dict[str, dict[str, Any]]] = {}
    for row in values:
        sections.setdefault(row.version_id, {}).setdefault(row.section, {})[row.key] = json.loads(
            row.value
        )
    by_version: dict[int, list[tuple[LineageEdge, LineageEntity | None]]] = {}
    for edge, entity in edges:
        by_version.setdefault(edge.version_id, []).append((edge, entity))
    result = {}
    for version_id in version_ids:
        model, number, status = names[version_id]
        result[version_id] = _read(
            model,
            number,
            status,
            by_version.get(version_id, []),
            sections.get(version_id, {}),
            names,
        )
    return result


def version_key(version_id: int, names: dict[int, tuple[str, int, str]]) -> VersionKey:
    model, number, _ = names[version_id]
    return VersionKey(id=version_id, model=model, version=number)


def _read(
    model: str,
    number: int,
    status: str,
    edges: list[tuple[LineageEdge, LineageEntity | None]],
    sections: dict[str, dict[str, Any]],
    names: dict[int, tuple[str, int, str]],
) -> LineageRead:
    read = LineageRead(
        model=model,
        version=number,
        status=status,
        datasets=[],
        features=[],
        code=[],
        run=None,
        logged_model=None,
        parents=[],
        environment={k: str(v) for k, v in sections.get(ENVIRONMENT, {}).items()},
        hyperparameters=sections.get(HYPERPARAMETER, {}),
    )
    for edge, entity in edges:
        recorded = {"recorded_at": edge.created_at, "recorded_by": edge.created_by}
        attrs = edge.attributes
        if entity is None:
            assert edge.parent_version_id is not None  # the check constraint holds
            key = version_key(edge.parent_version_id, names)
            read.parents.append(
                ParentRead(relation=edge.role, version=key, external=None, **recorded)
            )
            continue
        revision = entity.revision or None
        if entity.kind == DATASET:
            schema = attrs.get("schema")
            read.datasets.append(
                DatasetRead(
                    role=edge.role,
                    uri=entity.name,
                    snapshot=revision,
                    name=attrs.get("name"),
                    row_count=attrs.get("row_count"),
                    schema=None if schema is None else [SchemaField(**f) for f in schema],
                    **recorded,
                )
            )
        elif entity.kind == FEATURE:
            read.features.append(
                FeatureRead(
                    store=entity.namespace,
                    view=entity.name,
                    version=revision,
                    features=attrs.get("features") or [],
                    **recorded,
                )
            )
        elif entity.kind == CODE:
            read.code.append(
                CodeRead(
                    repo=attrs.get("repo"),
                    commit=entity.revision,
                    path=attrs.get("path"),
                    dirty=attrs.get("dirty"),
                    **recorded,
                )
            )
        elif entity.kind == RUN:
            read.run = RunRead(
                id=entity.name,
                link=attrs.get("link"),
                tracking=entity.namespace or None,
                params={k: str(v) for k, v in sections.get(RUN_PARAM, {}).items()},
                metrics={k: float(v) for k, v in sections.get(RUN_METRIC, {}).items()},
                **recorded,
            )
        elif entity.kind == LOGGED_MODEL:
            read.logged_model = LoggedModelRead(id=entity.name, name=attrs.get("name"), **recorded)
        elif entity.kind == EXTERNAL_MODEL:
            external = ExternalModelRead(
                source=entity.namespace, name=entity.name, revision=revision
            )
            read.parents.append(
                ParentRead(relation=edge.role, version=None, external=external, **recorded)
            )
    return read
