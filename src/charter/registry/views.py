"""What the registry's services return: plain values, never ORM rows.

Every interface (native API, MLflow adapter, CLI via the SDK) shapes its responses from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from charter.registry.models import ModelVersion, RegisteredModel
from charter.registry.repository import ModelRepository, VersionRepository
from charter.registry.statements import VersionRow


@dataclass(frozen=True)
class ModelView:
    id: int
    name: str
    description: str | None
    owner: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class VersionView:
    id: int
    model_id: int
    model: str
    version: int
    status: str
    status_message: str | None
    stage: str
    source: str | None
    run_id: str | None
    run_link: str | None
    description: str | None
    created_by: str
    manifest_digest: str | None
    file_count: int
    total_size: int
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


def model_views(session: Session, models: list[RegisteredModel]) -> list[ModelView]:
    """Views of many models with three batched queries, whatever their number (no N+1)."""
    repo = ModelRepository(session)
    ids = [m.id for m in models]
    tags, aliases, latest = repo.tags(ids), repo.aliases(ids), repo.latest_versions(ids)
    return [
        model_view(m, tags.get(m.id, {}), aliases.get(m.id, {}), latest.get(m.id)) for m in models
    ]


def model_view(
    m: RegisteredModel, tags: dict[str, str], aliases: dict[str, int], latest: int | None
) -> ModelView:
    """One model's view from what the caller already holds (a model it just created)."""
    return ModelView(
        id=m.id,
        name=m.name,
        description=m.description,
        owner=m.owner,
        tags=dict(sorted(tags.items())),
        aliases=dict(sorted(aliases.items())),
        latest_version=latest,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def views_of_rows(session: Session, rows: Sequence[VersionRow]) -> list[VersionView]:
    """Views of versions read as plain rows (``VIEW_COLUMNS``), with one more query (no N+1).

    The hot path of gets and searches: each view is built positionally from its row, and the
    details come back ordered by key, so nothing is sorted here.
    """
    details = VersionRepository(session).details([row.id for row in rows])
    tags, metrics, aliases = details.tags, details.metrics, details.aliases
    return [
        _view(row, tags.get(row.id, {}), metrics.get(row.id, {}), aliases.get(row.id, []))
        for row in rows
    ]


def _view(row: VersionRow, *details: object) -> VersionView:
    # The row's columns, then tags, metrics and aliases: VersionView's fields in order.
    values: tuple[Any, ...] = (*row, *details)
    return VersionView(*values)


def version_views(session: Session, rows: list[tuple[ModelVersion, str]]) -> list[VersionView]:
    """Views of many versions (each with its model's name) with one more query (no N+1)."""
    details = VersionRepository(session).details([v.id for v, _ in rows])
    return [
        version_view(
            v,
            name,
            details.tags.get(v.id, {}),
            details.metrics.get(v.id, {}),
            details.aliases.get(v.id, []),
        )
        for v, name in rows
    ]


def version_view(
    v: ModelVersion,
    model: str,
    tags: dict[str, str],
    metrics: dict[str, float],
    aliases: list[str],
) -> VersionView:
    """One version's view from what the caller already holds (a version it just created)."""
    return VersionView(
        id=v.id,
        model_id=v.model_id,
        model=model,
        version=v.version,
        status=v.status,
        status_message=v.status_message,
        stage=v.stage,
        source=v.source,
        run_id=v.run_id,
        run_link=v.run_link,
        description=v.description,
        created_by=v.created_by,
        manifest_digest=v.manifest_digest,
        file_count=v.file_count,
        total_size=v.total_size,
        created_at=v.created_at,
        updated_at=v.updated_at,
        tags=dict(sorted(tags.items())),
        metrics=dict(sorted(metrics.items())),
        aliases=sorted(aliases),
    )
