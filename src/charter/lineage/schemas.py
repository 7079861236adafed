"""Request and response shapes of lineage (the native API's view of it)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from charter.registry.schemas import Timestamp

DatasetRole = Literal["training", "evaluation"]
ParentRelation = Literal["fine_tuned_from", "distilled_from"]
Scalar = str | int | float | bool

MAX_ITEMS = 1000  # per list of one request


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# One column of a dataset's schema.
class SchemaField(Strict):
    name: str = Field(max_length=256)
    type: str = Field(default="", max_length=256)
    description: str | None = Field(default=None, max_length=1024)


# A dataset a version was trained or evaluated on.
class DatasetIn(Strict):
    uri: str = Field(min_length=1, max_length=1024)
    role: DatasetRole = "training"
    snapshot: str | None = Field(
        default=None,
        max_length=256,
        description="What pins the data: a snapshot id, a table version or a content digest.",
    )
    name: str | None = Field(default=None, max_length=500)
    row_count: int | None = Field(default=None, ge=0)
    schema_: list[SchemaField] | None = Field(default=None, alias="schema", max_length=MAX_ITEMS)


# A feature view (or feature set) of a feature store.
class FeatureIn(Strict):
    store: str = Field(min_length=1, max_length=256)
    view: str = Field(min_length=1, max_length=512)
    version: str | None = Field(default=None, max_length=256)
    features: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)


# The code that trained a version.
class CodeIn(Strict):
    repo: str | None = Field(default=None, max_length=1024, description="Repository URL.")
    commit: str = Field(min_length=7, max_length=64, description="Commit SHA (hex).")
    path: str | None = Field(default=None, max_length=1024)
    dirty: bool | None = Field(default=None, description="Uncommitted changes were present.")


# The run that trained a version, with its parameters and metrics.
class RunIn(Strict):
    id: str = Field(min_length=1, max_length=256)
    link: str | None = Field(default=None, max_length=4096)
    tracking: str | None = Field(
        default=None, max_length=256, description="The tracking system, e.g. mlflow."
    )
    params: dict[str, str] = Field(default_factory=dict, max_length=MAX_ITEMS)
    metrics: dict[str, float] = Field(default_factory=dict, max_length=MAX_ITEMS)


# The MLflow logged model a version was registered from.
class LoggedModelIn(Strict):
    id: str = Field(min_length=1, max_length=256)
    name: str | None = Field(default=None, max_length=500)


# A model outside Charter, such as a Hugging Face repository at a revision.
class ExternalModelIn(Strict):
    source: str = Field(default="huggingface", min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=512, description="e.g. a Hugging Face repo id.")
    revision: str | None = Field(default=None, max_length=256)


# A model this version was made from: a Charter version (name/3, name@alias,
# name/Stage) or an external model; exactly one of the two.
class ParentIn(Strict):
    relation: ParentRelation = "fine_tuned_from"
    version: str | None = Field(default=None, max_length=600)
    external: ExternalModelIn | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.version is None) == (self.external is None):
            raise ValueError("a parent needs exactly one of 'version' and 'external'")
        return self


# Where a version was trained.
class EnvironmentIn(Strict):
    python_version: str | None = Field(default=None, max_length=64)
    requirements_digest: str | None = Field(
        default=None, max_length=256, description="Digest of the lock or requirements file."
    )
    image_digest: str | None = Field(
        default=None, max_length=1024, description="Container image digest."
    )


# What a client sends to record (POST: add to) or replace (PUT) a version's lineage.
class LineageIn(Strict):
    datasets: list[DatasetIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    features: list[FeatureIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    code: list[CodeIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    run: RunIn | None = None
    logged_model: LoggedModelIn | None = None
    parents: list[ParentIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    environment: EnvironmentIn | None = None
    hyperparameters: dict[str, Scalar] = Field(default_factory=dict, max_length=MAX_ITEMS)


class Recorded(BaseModel):
    recorded_at: Timestamp
    recorded_by: str


class DatasetRead(Recorded):
    model_config = ConfigDict(populate_by_name=True)

    role: str
    uri: str
    snapshot: str | None
    name: str | None
    row_count: int | None
    schema_: list[SchemaField] | None = Field(alias="schema")


class FeatureRead(Recorded):
    store: str
    view: str
    version: str | None
    features: list[str]


class CodeRead(Recorded):
    repo: str | None
    commit: str
    path: str | None
    dirty: bool | None


class RunRead(Recorded):
    id: str
    link: str | None
    tracking: str | None
    params: dict[str, str]
    metrics: dict[str, float]


class LoggedModelRead(Recorded):
    id: str
    name: str | None


class ExternalModelRead(BaseModel):
    source: str
    name: str
    revision: str | None


# A version as lineage names it.
class VersionKey(BaseModel):
    id: int
    model: str
    version: int

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"


class ParentRead(Recorded):
    relation: str
    version: VersionKey | None
    external: ExternalModelRead | None


# A version's lineage as the API returns it.
class LineageRead(BaseModel):
    model: str
    version: int
    status: str
    datasets: list[DatasetRead]
    features: list[FeatureRead]
    code: list[CodeRead]
    run: RunRead | None
    logged_model: LoggedModelRead | None
    parents: list[ParentRead]
    environment: dict[str, str]
    hyperparameters: dict[str, Any]


# One version upstream of another, with its own lineage.
class UpstreamNode(BaseModel):
    depth: int = Field(description="0 for the version asked about, 1 for its parents, ...")
    lineage: LineageRead


# A parent edge in an upstream graph: ``child`` was made from ``parent``.
class UpstreamEdge(BaseModel):
    child: VersionKey
    parent: VersionKey
    relation: str


# Everything a version depends on, transitively through its parent versions.
class UpstreamRead(BaseModel):
    version: VersionKey
    nodes: list[UpstreamNode]
    edges: list[UpstreamEdge]
    truncated: bool = Field(description="True when max_depth cut the graph short.")


# A version that an impact query found.
class ImpactedVersion(BaseModel):
    id: int
    model: str
    version: int
    status: str
    stage: str
    aliases: list[str]
    live: bool = Field(description="Holds an alias, or a stage other than None and Archived.")
    direct: bool = Field(description="Recorded the entity or parent itself (not via a parent).")


class ImpactPage(BaseModel):
    versions: list[ImpactedVersion]
    next_page_token: str | None


# OpenLineage RunEvents of a model's versions, one per version.
class OpenLineagePage(BaseModel):
    events: list[dict[str, Any]]
    next_page_token: str | None
