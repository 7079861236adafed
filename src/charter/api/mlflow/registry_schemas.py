"""The model registry in MLflow's JSON form: requests as the mlflow client sends them, responses
as MLflow's server writes them (versions as strings, times in milliseconds, unset fields left
out), and the dependency that reads a request from the query string or the JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)

from charter.api.routing import json_answer
from charter.errors import InvalidArgument, NotFound
from charter.registry.references import VersionSelector
from charter.registry.views import ModelView, VersionView

_MAX_VERSION = 2**31 - 1


class MlflowRequest(BaseModel):
    # MLflow ignores fields it does not know, so that newer clients work with older servers.
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text: refuse it here rather than fail in the database.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain a NUL character")
        return value


# One tag as the client sends it; MLflow stores a missing value as "".
class TagIn(MlflowRequest):
    key: str
    value: str = ""


# A request naming a registered model: get and delete.
class RegisteredModelRef(MlflowRequest):
    name: str


# A request naming one version of a model; MLflow sends the number as a string.
class ModelVersionRef(RegisteredModelRef):
    version: str

    def number(self) -> int:
        """MLflow's reading of ``version``: not an integer is a bad argument, and an integer
        that no version can have (0, -1) is a version that does not exist."""
        try:
            number = int(self.version)
        except ValueError:
            raise InvalidArgument(
                f"version must be an integer, got {self.version!r}", field="version"
            ) from None
        if not 1 <= number <= _MAX_VERSION:
            raise NotFound(f"model {self.name!r} has no version {number}", model=self.name)
        return number

    def selector(self) -> VersionSelector:
        return VersionSelector(number=self.number())


# What the client sends to register a model.
class RegisteredModelCreate(RegisteredModelRef):
    tags: list[TagIn] = Field(default_factory=list)
    description: str | None = None

    def tag_dict(self) -> dict[str, str]:
        return {tag.key: tag.value for tag in self.tags}  # a repeated key: the last one wins


# What the client sends to rename a model.
class RegisteredModelRename(RegisteredModelRef):
    new_name: str


# What the client sends to change a model's description (absent clears it, as in MLflow).
class RegisteredModelUpdate(RegisteredModelRef):
    description: str | None = None


# A search over models or versions: MLflow's filter grammar, ordering and paging.
class SearchQuery(MlflowRequest):
    filter: str | None = None
    max_results: int | None = None
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


# Which stages get-latest-versions should look at (none: every stage).
class LatestVersionsQuery(RegisteredModelRef):
    stages: list[str] = Field(default_factory=list)


# What the client sends to set a tag on a model.
class RegisteredModelTagSet(RegisteredModelRef):
    key: str
    value: str = ""


# What the client sends to remove a tag from a model.
class RegisteredModelTagDelete(RegisteredModelRef):
    key: str


# What the client sends to register a version from a source URI.
class ModelVersionCreate(RegisteredModelRef):
    source: str
    run_id: str | None = Field(default=None, max_length=64)
    tags: list[TagIn] = Field(default_factory=list)
    run_link: str | None = Field(default=None, max_length=4096)
    description: str | None = None
    model_id: str | None = None  # an MLflow 3 logged model the version is promoted from

    def tag_dict(self) -> dict[str, str]:
        return {tag.key: tag.value for tag in self.tags}


# What the client sends to change a version's description (absent clears it, as in MLflow).
class ModelVersionUpdate(ModelVersionRef):
    description: str | None = None


# What the client sends to move a version to a stage.
class StageTransition(ModelVersionRef):
    stage: str
    archive_existing_versions: bool = False


# What the client sends to set a tag on a version.
class ModelVersionTagSet(ModelVersionRef):
    key: str
    value: str = ""


# What the client sends to remove a tag from a version.
class ModelVersionTagDelete(ModelVersionRef):
    key: str


# A request naming an alias of a model: get and delete.
class AliasRef(RegisteredModelRef):
    alias: str


# What the client sends to point an alias at a version.
class AliasSet(AliasRef, ModelVersionRef):
    pass


class ProtoJson(BaseModel):
    """Written as MLflow's server writes protobuf messages: unset fields and empty lists omitted."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _present(handler(self))


# A tag in a response. Plain models (not ProtoJson): they have no field to omit, and a page of
# 100 versions carries hundreds of tags, each of which would run ProtoJson's serializer.
class TagRead(BaseModel):
    key: str
    value: str


# An alias of a registered model and the version it points at.
class AliasRead(BaseModel):
    alias: str
    version: str


# A model version in MLflow's form.
class ModelVersionRead(ProtoJson):
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None
    current_stage: str
    description: str | None = None
    source: str | None = None
    run_id: str | None = None
    status: str
    status_message: str | None = None
    tags: list[TagRead] = Field(default_factory=list)
    run_link: str | None = None
    aliases: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, view: VersionView) -> ModelVersionRead:
        return cls.model_validate(version_data(view))


# A registered model in MLflow's form, with the newest version in each stage.
class RegisteredModelRead(ProtoJson):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None
    description: str | None = None
    latest_versions: list[ModelVersionRead] = Field(default_factory=list)
    tags: list[TagRead] = Field(default_factory=list)
    aliases: list[AliasRead] = Field(default_factory=list)

    @classmethod
    def of(cls, view: ModelView, latest: list[VersionView]) -> RegisteredModelRead:
        return cls.model_validate(model_data(view, latest))


# Pages (searches, get-latest-versions) are written from plain data, without a model per item:
# up to 1,000 items would otherwise spend a quarter of a search's time validating what the
# database has just returned. ``of`` above validates the same data, so both write alike.


def version_data(view: VersionView) -> dict[str, Any]:
    """A version as MLflow's server writes it, unset fields left out."""
    return _present(
        {
            "name": view.model,
            "version": str(view.version),
            "creation_timestamp": view.created_at,
            "last_updated_timestamp": view.updated_at,
            "user_id": view.created_by,
            "current_stage": view.stage,
            # MLflow's server writes "" for a version registered without these, and its
            # client hands "" (not None) to user code.
            "description": view.description or "",
            "source": view.source,
            "run_id": view.run_id or "",
            "status": view.status,
            "status_message": view.status_message or None,
            "tags": [{"key": k, "value": v} for k, v in view.tags.items()],
            "run_link": view.run_link or "",
            "aliases": list(view.aliases),
        }
    )


def model_data(view: ModelView, latest: list[VersionView]) -> dict[str, Any]:
    """A registered model, with the newest version in each stage, as MLflow writes it."""
    return _present(
        {
            "name": view.name,
            "creation_timestamp": view.created_at,
            "last_updated_timestamp": view.updated_at,
            "user_id": view.owner,
            "description": view.description or None,  # MLflow leaves an empty one out
            "latest_versions": [version_data(v) for v in latest],
            "tags": [{"key": k, "value": v} for k, v in view.tags.items()],
            "aliases": [{"alias": a, "version": str(n)} for a, n in view.aliases.items()],
        }
    )


def json_page(key: str, items: list[dict[str, Any]], token: str | None = None) -> Response:
    """A page's answer: ``{key: items, "next_page_token": token}``, empty and unset left out."""
    return json_answer(_present({key: items, "next_page_token": token}))


def _present(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != []}


# The answer of create, get, rename and update of a registered model.
class RegisteredModelResponse(ProtoJson):
    registered_model: RegisteredModelRead


# One page of registered models.
class RegisteredModelPage(ProtoJson):
    registered_models: list[RegisteredModelRead]
    next_page_token: str | None = None


# The answer of every call that returns one version.
class ModelVersionResponse(ProtoJson):
    model_version: ModelVersionRead


# The answer of get-latest-versions.
class ModelVersionList(ProtoJson):
    model_versions: list[ModelVersionRead]


# One page of model versions.
class ModelVersionPage(ProtoJson):
    model_versions: list[ModelVersionRead]
    next_page_token: str | None = None


# Where the client downloads a version's files from.
class DownloadUri(ProtoJson):
    artifact_uri: str


# The answer of calls that return nothing: ``{}``.
class Empty(ProtoJson):
    pass


RequestT = TypeVar("RequestT", bound=MlflowRequest)


def from_request(schema: type[RequestT]) -> Callable[[Request], Awaitable[RequestT]]:
    """A dependency reading ``schema`` as MLflow's server does: from the query string of a GET
    that has one, otherwise from the JSON body (empty means ``{}``)."""

    async def read(request: Request) -> RequestT:
        if request.method == "GET" and request.query_params:
            data = _query(request, schema)
        else:
            data = _json_object(await request.body())
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc

    return read


def _query(request: Request, schema: type[MlflowRequest]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, field in schema.model_fields.items():
        if name not in request.query_params:
            continue
        repeated = get_origin(field.annotation) is list
        data[name] = request.query_params.getlist(name) if repeated else request.query_params[name]
    return data


def _json_object(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
        if isinstance(data, str):  # older clients post their JSON encoded twice
            data = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    return data
