"""The registry half of the client: models, versions, aliases, stages and their history."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypedDict, TypeVar, Unpack

from charter.client._http import HTTP
from charter.client._models import Holding, ModelVersion, Page, RegisteredModel
from charter.client._references import API, Ref, VersionRef, model_path, parse_ref, segment

T = TypeVar("T")

# Tag filters: {key: value} matches the tag's value; {key: None} matches any version with the tag.
TagFilter = Mapping[str, str | None]


class ModelFilters(TypedDict, total=False):
    """The filters of ``search_models``, for ``iter_models``."""

    name: str | None
    name_like: str | None
    name_ilike: str | None
    tags: TagFilter | None
    order_by: Sequence[str] | None
    max_results: int | None


class VersionFilters(TypedDict, total=False):
    """The filters of ``search_versions``, for ``iter_versions``."""

    model: str | None
    tags: TagFilter | None
    status: str | None
    stage: str | None
    alias: str | None
    run_id: str | None
    order_by: Sequence[str] | None
    max_results: int | None


def _tag_filters(tags: TagFilter | None) -> list[str] | None:
    if not tags:
        return None
    return [key if value is None else f"{key}={value}" for key, value in tags.items()]


def _order(order_by: Sequence[str] | None) -> list[str] | None:
    return list(order_by) if order_by else None


def follow_pages(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a list, fetching the next page only when the previous one is used up."""
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return


class RegistryMethods:
    """Models, versions and lifecycle; every method is one request unless it says otherwise."""

    _http: HTTP

    # -- models ---------------------------------------------------------------------------

    def create_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": dict(tags or {})}
        return RegisteredModel.model_validate(self._http.json("POST", f"{API}/models", json=body))

    def get_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate(self._http.json("GET", model_path(name)))

    def search_models(
        self,
        *,
        name: str | None = None,
        name_like: str | None = None,
        name_ilike: str | None = None,
        tags: TagFilter | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """One page of models; ``name_like`` is case-sensitive SQL LIKE, ``name_ilike`` is not."""
        params = {
            "name": name,
            "name_like": name_like,
            "name_ilike": name_ilike,
            "tag": _tag_filters(tags),
            "order_by": _order(order_by),
            "max_results": max_results,
            "page_token": page_token,
        }
        body = self._http.json("GET", f"{API}/models", params=params)
        items = tuple(RegisteredModel.model_validate(m) for m in body["models"])
        return Page(items, body.get("next_page_token"))

    def iter_models(self, **filters: Unpack[ModelFilters]) -> Iterator[RegisteredModel]:
        """Every model matching ``search_models``'s filters; ``max_results`` sets the page size."""
        return follow_pages(lambda token: self.search_models(**filters, page_token=token))

    def rename_model(self, name: str, new_name: str) -> RegisteredModel:
        body = self._http.json("PATCH", model_path(name), json={"name": new_name})
        return RegisteredModel.model_validate(body)

    def update_model(self, name: str, *, description: str | None) -> RegisteredModel:
        body = self._http.json("PATCH", model_path(name), json={"description": description})
        return RegisteredModel.model_validate(body)

    def delete_model(self, name: str) -> None:
        """Soft-delete a model and its versions: gone from reads, kept in the audit trail."""
        self._http.request("DELETE", model_path(name))

    def set_model_tag(self, name: str, key: str, value: str) -> RegisteredModel:
        path = f"{model_path(name)}/tags/{segment(key)}"
        return RegisteredModel.model_validate(self._http.json("PUT", path, json={"value": value}))

    def delete_model_tag(self, name: str, key: str) -> None:
        self._http.request("DELETE", f"{model_path(name)}/tags/{segment(key)}")

    # -- versions -------------------------------------------------------------------------

    def create_version(
        self,
        model: str,
        *,
        source: str | None = None,
        run_id: str | None = None,
        run_link: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        await_upload: bool | None = None,
    ) -> ModelVersion:
        """A new version: READY at once from ``source`` alone, else PENDING_REGISTRATION.

        A pending version waits for files (``upload_file``/``upload_dir``) and ``finalize``.
        """
        fields = {
            "source": source,
            "run_id": run_id,
            "run_link": run_link,
            "description": description,
            "await_upload": await_upload,
        }
        body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        body["tags"] = dict(tags or {})
        body["metrics"] = dict(metrics or {})
        path = f"{model_path(model)}/versions"
        return ModelVersion.model_validate(self._http.json("POST", path, json=body))

    def get_version(self, ref: Ref) -> ModelVersion:
        """The version that ``name/3``, ``name@alias`` or ``name/Stage`` names now."""
        return ModelVersion.model_validate(self._http.json("GET", parse_ref(ref).path))

    def search_versions(
        self,
        *,
        model: str | None = None,
        tags: TagFilter | None = None,
        status: str | None = None,
        stage: str | None = None,
        alias: str | None = None,
        run_id: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """One page of versions, of one model or across all of them."""
        params = {
            "model": model,
            "tag": _tag_filters(tags),
            "status": status,
            "stage": stage,
            "alias": alias,
            "run_id": run_id,
            "order_by": _order(order_by),
            "max_results": max_results,
            "page_token": page_token,
        }
        body = self._http.json("GET", f"{API}/versions", params=params)
        items = tuple(ModelVersion.model_validate(v) for v in body["versions"])
        return Page(items, body.get("next_page_token"))

    def iter_versions(self, **filters: Unpack[VersionFilters]) -> Iterator[ModelVersion]:
        """Every version matching ``search_versions``'s filters, page after page."""
        return follow_pages(lambda token: self.search_versions(**filters, page_token=token))

    def update_version(self, ref: Ref, *, description: str | None) -> ModelVersion:
        path = parse_ref(ref).path
        return ModelVersion.model_validate(
            self._http.json("PATCH", path, json={"description": description})
        )

    def delete_version(self, ref: Ref) -> None:
        """Soft-delete a version; its number is never reused."""
        self._http.request("DELETE", parse_ref(ref).path)

    def set_version_tag(self, ref: Ref, key: str, value: str) -> ModelVersion:
        path = f"{parse_ref(ref).path}/tags/{segment(key)}"
        return ModelVersion.model_validate(self._http.json("PUT", path, json={"value": value}))

    def delete_version_tag(self, ref: Ref, key: str) -> None:
        self._http.request("DELETE", f"{parse_ref(ref).path}/tags/{segment(key)}")

    # -- lifecycle ------------------------------------------------------------------------

    def set_alias(self, model: str, alias: str, version: int) -> ModelVersion:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        path = f"{model_path(model)}/aliases/{segment(alias)}"
        return ModelVersion.model_validate(self._http.json("PUT", path, json={"version": version}))

    def get_alias(self, model: str, alias: str) -> ModelVersion:
        path = f"{model_path(model)}/aliases/{segment(alias)}"
        return ModelVersion.model_validate(self._http.json("GET", path))

    def delete_alias(self, model: str, alias: str) -> None:
        self._http.request("DELETE", f"{model_path(model)}/aliases/{segment(alias)}")

    def set_stage(self, ref: Ref, stage: str, *, archive_existing: bool = False) -> ModelVersion:
        """Move a version to a stage; ``archive_existing`` archives the stage's other versions.

        The route takes a version number: a reference by alias or stage costs one more request.
        """
        model, number = self.resolve_number(ref)
        path = f"{model_path(model)}/versions/{number}/stage"
        body = {"stage": stage, "archive_existing": archive_existing}
        return ModelVersion.model_validate(self._http.json("POST", path, json=body))

    def history(
        self,
        model: str,
        *,
        kind: str | None = None,
        label: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Holding]:
        """Who held which alias or stage, when; ``kind`` is "alias" or "stage"."""
        params = {
            "kind": kind,
            "label": label,
            "max_results": max_results,
            "page_token": page_token,
        }
        body = self._http.json("GET", f"{model_path(model)}/history", params=params)
        items = tuple(Holding.model_validate(h) for h in body["history"])
        return Page(items, body.get("next_page_token"))

    def iter_history(
        self,
        model: str,
        *,
        kind: str | None = None,
        label: str | None = None,
        max_results: int | None = None,
    ) -> Iterator[Holding]:
        return follow_pages(
            lambda token: self.history(
                model, kind=kind, label=label, max_results=max_results, page_token=token
            )
        )

    def resolve_number(self, ref: Ref | VersionRef) -> tuple[str, int]:
        """The model name and version number a reference names now (no request if numeric)."""
        parsed = parse_ref(ref)
        if parsed.number is not None:
            return parsed.model, parsed.number
        version = ModelVersion.model_validate(self._http.json("GET", parsed.path))
        return version.model, version.version
