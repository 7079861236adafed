"""The rules of model versions: register, describe, tag, finalize, delete, get and search them.

Services check arguments, apply changes and flush; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from charter import access, naming
from charter.access import Role
from charter.approvals import protection
from charter.audit import AuditService
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import Conflict, InvalidArgument, NotFound
from charter.pagination import KeyValue, Page, decode_token, encode_token, page_size
from charter.registry import holdings
from charter.registry.conditions import MODEL_SORTS
from charter.registry.filters import Condition, Order, ordering_signature
from charter.registry.model_service import ModelService, NamedModel
from charter.registry.models import FAILED, PENDING, READY, ModelVersion, RegisteredModel
from charter.registry.references import VersionSelector
from charter.registry.repository import ModelRepository, VersionRepository
from charter.registry.views import (
    VersionView,
    version_view,
    version_views,
    views_of_rows,
)

DEFAULT_VERSION_ORDER = [Order("name"), Order("version", descending=True)]


class VersionService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.models = ModelService(session, ctx)
        self.versions = VersionRepository(session)

    def audit(
        self,
        action: str,
        model_name: str,
        version: ModelVersion,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        AuditService(self.session, self.ctx).record(
            action, "model_version", version.id, f"{model_name}/{version.version}", before, after
        )

    def find_row(
        self, name: str, selector: VersionSelector
    ) -> tuple[RegisteredModel, ModelVersion | None]:
        """The model (which must exist) and the version the selector picks, if any."""
        model = self.models.get_row(name)
        version: ModelVersion | None
        if selector.number is not None:
            version = self.versions.get_live(model.id, selector.number)
        elif selector.alias is not None:
            version = self.versions.by_alias(model.id, selector.alias)
        else:
            version = self.versions.latest_in_stage(model.id, selector.stage or "None")
        return model, version

    def get_row(self, name: str, selector: VersionSelector) -> tuple[RegisteredModel, ModelVersion]:
        model, version = self.find_row(name, selector)
        if version is None:
            raise NotFound(
                f"model {name!r} has no version {selector}", model=name, version=str(selector)
            )
        return model, version

    def live_by_id(self, version_id: int) -> ModelVersion:
        """A live version by its internal id (stable across model renames)."""
        version = self.versions.get_by_id(version_id)
        if version is None or version.deleted_at is not None:
            raise NotFound(f"model version {version_id} does not exist", version_id=version_id)
        model = self.models.models.get_many([version.model_id]).get(version.model_id)
        if model is None or model.deleted_at is not None:
            raise NotFound(f"model version {version_id} does not exist", version_id=version_id)
        access.require_visible(self.ctx, model)
        return version

    def get(self, name: str, selector: VersionSelector) -> VersionView:
        # The hot read: one query for the version, one for its details. Only when nothing
        # is found does get_row run, to say whether the model or the version is missing.
        found = self.versions.find_by_name(naming.model_name(name), selector)
        if found is None:
            model, version = self.get_row(name, selector)
            return self.view(model, version)
        access.require_visible(self.ctx, NamedModel(found.model_id, found.model))
        return views_of_rows(self.session, [found])[0]

    def find(self, name: str, selector: VersionSelector) -> VersionView | None:
        """Like ``get``, but None when the model exists and the selector picks no version."""
        found = self.versions.find_by_name(naming.model_name(name), selector)
        if found is None:  # is the model missing (NotFound), or only the version (None)?
            model, version = self.find_row(name, selector)
            return None if version is None else self.view(model, version)
        access.require_visible(self.ctx, NamedModel(found.model_id, found.model))
        return views_of_rows(self.session, [found])[0]

    def latest_by_stage(
        self, model_ids: Sequence[int], stages: Sequence[str] | None = None
    ) -> dict[int, list[VersionView]]:
        """The newest version in each stage (of ``stages``, or of all), per model id."""
        result: dict[int, list[VersionView]] = {model_id: [] for model_id in model_ids}
        rows = self.versions.latest_per_stage(model_ids, stages)
        for view in views_of_rows(self.session, rows):
            result[view.model_id].append(view)
        return result

    def latest_in_stages(self, name: str, stages: Sequence[str] | None = None) -> list[VersionView]:
        """The newest version of a model in each of ``stages`` (any case), or in every stage."""
        key = self.models.models.live_key(naming.model_name(name))
        if key is None:
            raise NotFound(f"registered model {name!r} does not exist", model=name)
        access.require_visible(self.ctx, NamedModel(*key))
        canonical = [naming.stage(s) for s in stages] if stages else None
        return self.latest_by_stage([key[0]], canonical)[key[0]]

    def view(self, model: RegisteredModel, version: ModelVersion) -> VersionView:
        return version_views(self.session, [(version, model.name)])[0]

    def create(
        self,
        name: str,
        *,
        source: str | None = None,
        run_id: str | None = None,
        run_link: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        await_upload: bool | None = None,
    ) -> VersionView:
        source = naming.source(source)
        naming.no_nul(run_id, "run_id")
        naming.no_nul(run_link, "run_link")
        description = naming.description(description)
        clean_tags, clean_metrics = naming.tags(tags), naming.metrics(metrics)
        pending = await_upload if await_upload is not None else source is None
        model = self.models.get_row(name, lock=True)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        at = now_ms()
        number = ModelRepository(self.session).advance(model, at)
        version = self.versions.insert(
            ModelVersion(
                model_id=model.id,
                version=number,
                status=PENDING if pending else READY,
                status_message=None,
                source=source,
                run_id=run_id,
                run_link=run_link,
                description=description,
                created_by=self.ctx.actor.name,
                stage="None",
                deleted_at=None,
                manifest_digest=None,
                file_count=0,
                total_size=0,
                created_at=at,
                updated_at=at,
            )
        )
        self.versions.add_tags(version.id, clean_tags)
        self.versions.set_metrics(version.id, clean_metrics)
        after = {
            "version": number,
            "status": version.status,
            "source": source,
            "run_id": run_id,
            "run_link": run_link,
        }
        self.audit("version.create", model.name, version, after=after)
        # A new version holds no alias yet: its view needs no query.
        return version_view(version, model.name, clean_tags, clean_metrics, [])

    def update(self, name: str, selector: VersionSelector, description: str | None) -> VersionView:
        model, version = self.get_row(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        if description is not None:
            old, version.description = version.description, naming.description(description)
            if old != version.description:
                before, after = {"description": old}, {"description": version.description}
                self.audit("version.update", model.name, version, before, after)
        version.updated_at = now_ms()
        self.session.flush()
        return self.view(model, version)

    def delete(self, name: str, selector: VersionSelector) -> None:
        model, version = self.get_row(name, selector)
        access.require(self.ctx, Role.MAINTAINER, model)
        protection.ensure_version_deletable(self.session, self.ctx, model, version)
        before = {"version": version.version, "stage": version.stage, "status": version.status}
        at = now_ms()
        version.deleted_at = at
        version.updated_at = at
        self.session.flush()
        holdings.release_version(self.session, version, at, self.ctx.actor.name, "version deleted")
        self.audit("version.delete", model.name, version, before=before)

    def set_tag(self, name: str, selector: VersionSelector, key: str, value: str) -> VersionView:
        model, version = self.get_row(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        key = naming.tag_key(key)
        value = naming.tag_value(value, key)
        self.versions.set_tag(version.id, key, value)
        version.updated_at = now_ms()
        self.session.flush()
        self.audit("version.tag.set", model.name, version, after={"key": key, "value": value})
        return self.view(model, version)

    def delete_tag(
        self, name: str, selector: VersionSelector, key: str, *, missing_ok: bool = False
    ) -> None:
        """Remove a tag; ``missing_ok`` makes removing an absent tag a no-op (MLflow's way)."""
        model, version = self.get_row(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        key = naming.tag_key(key)
        if not self.versions.delete_tag(version.id, key):
            if missing_ok:
                return
            raise NotFound(
                f"version {name}/{version.version} has no tag {key!r}", model=name, key=key
            )
        version.updated_at = now_ms()
        self.session.flush()
        self.audit("version.tag.delete", model.name, version, before={"key": key})

    def mark_ready(
        self, version: ModelVersion, *, digest: str, file_count: int, total_size: int
    ) -> None:
        self._require_pending(version)
        version.status = READY
        version.status_message = None
        version.manifest_digest = digest
        version.file_count = file_count
        version.total_size = total_size
        version.updated_at = now_ms()
        self.session.flush()
        after = {"status": READY, "manifest_digest": digest, "file_count": file_count}
        self.audit("version.finalize", self._model_name(version), version, after=after)

    def mark_failed(self, version: ModelVersion, reason: str) -> None:
        self._require_pending(version)
        version.status = FAILED
        version.status_message = reason
        version.updated_at = now_ms()
        self.session.flush()
        after = {"status": FAILED, "reason": reason}
        self.audit("version.finalize", self._model_name(version), version, after=after)

    def _model_name(self, version: ModelVersion) -> str:
        # The model row is already in the session's identity map: no query.
        model = self.session.get(RegisteredModel, version.model_id)
        return model.name if model is not None else str(version.model_id)

    def _require_pending(self, version: ModelVersion) -> None:
        if version.status != PENDING:
            raise Conflict(
                f"version {version.version} is {version.status}, not {PENDING}",
                status=version.status,
            )

    def search(
        self,
        conditions: Sequence[Condition] = (),
        orders: Sequence[Order] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
        *,
        max_page: int | None = None,
    ) -> Page[VersionView]:
        orders = list(orders or DEFAULT_VERSION_ORDER)
        for order in orders:
            if order.field not in ("name", "version", *MODEL_SORTS):
                raise InvalidArgument(f"cannot order versions by {order.field!r}", field="order_by")
        limit = (
            page_size(max_results) if max_page is None else page_size(max_results, maximum=max_page)
        )
        signature = ordering_signature(orders)
        rows = self.versions.search(
            conditions, orders, limit + 1, decode_token(page_token, signature)
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            values: dict[str, KeyValue] = {
                "name": last.model,
                "version": last.version,
                "created_at": last.created_at,
                "updated_at": last.updated_at,
            }
            token = encode_token(signature, [values[o.field] for o in orders] + [last.id])
        if not access.allowed(self.ctx, Role.READER):
            rows = [r for r in rows if access.visible(self.ctx, NamedModel(r.model_id, r.model))]
        return Page(views_of_rows(self.session, rows), token)
