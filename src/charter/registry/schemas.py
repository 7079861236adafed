"""Request and response shapes of the registry (the native API's view of it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from charter.registry.views import VersionView


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with 'Z' (what the native API speaks)."""
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


# Stored as milliseconds since the epoch; the native API speaks ISO 8601 UTC with 'Z'.
Timestamp = Annotated[int, PlainSerializer(iso_ms, return_type=str, when_used="json")]

Tags = dict[str, str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What a client sends to register a new model.
class ModelCreate(Strict):
    name: str = Field(max_length=1024)
    description: str | None = None
    tags: Tags = Field(default_factory=dict)


# What a client sends to change a model: a new name, a new description, or both.
class ModelUpdate(Strict):
    name: str | None = Field(default=None, max_length=1024)
    description: str | None = None


# A tag's value (the key is in the URL).
class TagSet(Strict):
    value: str


# A registered model as the API returns it.
class ModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    owner: str
    tags: Tags
    aliases: dict[str, int]
    latest_version: int | None
    created_at: Timestamp
    updated_at: Timestamp


# What a client sends to create a version. Without ``source`` the version waits for uploads.
class VersionCreate(Strict):
    source: str | None = None
    run_id: str | None = Field(default=None, max_length=64)
    run_link: str | None = Field(default=None, max_length=4096)
    description: str | None = None
    tags: Tags = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    await_upload: bool | None = Field(
        default=None,
        description="Start PENDING_REGISTRATION and wait for files and a finalize. "
        "Defaults to true when no source is given.",
    )


# What a client sends to change a version's description.
class VersionUpdate(Strict):
    description: str | None = None


# A model version as the API returns it.
class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model: str
    version: int
    status: str
    status_message: str | None
    stage: str
    aliases: list[str]
    source: str | None
    run_id: str | None
    run_link: str | None
    description: str | None
    created_by: str
    tags: Tags
    metrics: dict[str, float]
    manifest_digest: str | None
    file_count: int
    total_size: int
    created_at: Timestamp
    updated_at: Timestamp


def version_read_data(view: VersionView) -> dict[str, Any]:
    """``VersionRead.model_validate(view)`` as JSON-ready data: pages of up to 1,000 versions
    are written from these without a model per item (a test holds the two alike)."""
    return {
        "id": view.id,
        "model": view.model,
        "version": view.version,
        "status": view.status,
        "status_message": view.status_message,
        "stage": view.stage,
        "aliases": list(view.aliases),
        "source": view.source,
        "run_id": view.run_id,
        "run_link": view.run_link,
        "description": view.description,
        "created_by": view.created_by,
        "tags": view.tags,
        "metrics": view.metrics,
        "manifest_digest": view.manifest_digest,
        "file_count": view.file_count,
        "total_size": view.total_size,
        "created_at": iso_ms(view.created_at),
        "updated_at": iso_ms(view.updated_at),
    }


# What a client sends to point an alias at a version.
class AliasSet(Strict):
    version: int = Field(ge=1)


# What a client sends to move a version to a stage.
class StageSet(Strict):
    stage: str
    archive_existing: bool = False


# One period during which a version held an alias or stage.
class HoldingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    label: str
    version: int
    started_at: Timestamp
    started_by: str
    ended_at: Timestamp | None
    ended_by: str | None
    end_reason: str | None


class ModelPage(BaseModel):
    models: list[ModelRead]
    next_page_token: str | None


class VersionPage(BaseModel):
    versions: list[VersionRead]
    next_page_token: str | None


class HoldingPage(BaseModel):
    history: list[HoldingRead]
    next_page_token: str | None
