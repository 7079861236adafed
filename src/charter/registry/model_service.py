"""The rules of registered models: create, rename, describe, tag, delete and search them.

Services check arguments, apply changes and flush; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter import access, naming
from charter.access import Role
from charter.approvals import protection
from charter.audit import AuditService
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import AlreadyExists, NotFound
from charter.pagination import Page, decode_token, encode_token, page_size
from charter.registry import holdings
from charter.registry.filters import Condition, Order, ordering_signature
from charter.registry.models import RegisteredModel
from charter.registry.repository import ModelRepository
from charter.registry.views import ModelView, model_view, model_views

DEFAULT_MODEL_ORDER = [Order("name")]


@dataclass(frozen=True)
class NamedModel:
    """A model known by id and name only: under its new name (the role a rename needs is
    checked on both names), or as a joined query found it (visibility on the hot read)."""

    id: int
    name: str


class ModelService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.models = ModelRepository(session)

    def get_row(self, name: str, *, lock: bool = False) -> RegisteredModel:
        """The live model; one the caller may not read is reported missing, like a deleted one."""
        model = self.models.get_live(naming.model_name(name), lock=lock)
        if model is None:
            raise NotFound(f"registered model {name!r} does not exist", model=name)
        access.require_visible(self.ctx, model)
        return model

    def audit(
        self,
        action: str,
        model: RegisteredModel,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        AuditService(self.session, self.ctx).record(
            action, "model", model.id, model.name, before, after
        )

    def get(self, name: str) -> ModelView:
        return model_views(self.session, [self.get_row(name)])[0]

    def create(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> ModelView:
        name = naming.model_name(name)
        description = naming.description(description)
        clean_tags = naming.tags(tags)
        access.require(self.ctx, Role.CONTRIBUTOR, name=name)
        if self.models.get_live(name) is not None:
            raise AlreadyExists(f"registered model {name!r} already exists", model=name)
        try:
            at = now_ms()
            model = self.models.insert(
                RegisteredModel(
                    name=name,
                    description=description,
                    owner=self.ctx.actor.name,
                    deleted_at=None,
                    next_version=1,
                    created_at=at,
                    updated_at=at,
                )
            )
        except IntegrityError as exc:
            # Another request created the same name between our check and our insert.
            raise AlreadyExists(f"registered model {name!r} already exists", model=name) from exc
        self.models.add_tags(model.id, clean_tags)
        after = {"name": name, "description": description, "tags": clean_tags}
        self.audit("model.create", model, after=after)
        return model_view(model, clean_tags, {}, None)

    def update(
        self, name: str, *, new_name: str | None = None, description: str | None = None
    ) -> ModelView:
        model = self.get_row(name, lock=True)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        if new_name is not None:
            target = naming.model_name(new_name, "new_name")
            if target != model.name:
                # A prefix grant must cover the new name too: a rename cannot escape one.
                access.require(self.ctx, Role.CONTRIBUTOR, NamedModel(model.id, target))
                if self.models.get_live(target) is not None:
                    raise AlreadyExists(f"registered model {target!r} already exists", model=target)
                old = model.name
                model.name = target
                self.audit("model.rename", model, {"name": old}, {"name": target})
        if description is not None:
            old_description, model.description = model.description, naming.description(description)
            if old_description != model.description:
                before, after = {"description": old_description}, {"description": model.description}
                self.audit("model.update", model, before, after)
        model.updated_at = now_ms()
        self.session.flush()
        return model_views(self.session, [model])[0]

    def delete(self, name: str) -> None:
        model = self.get_row(name, lock=True)
        access.require(self.ctx, Role.MAINTAINER, model)
        protection.ensure_model_deletable(self.session, self.ctx, model)
        at = now_ms()
        model.deleted_at = at
        model.updated_at = at
        self.session.flush()
        holdings.release_model(self.session, model.id, at, self.ctx.actor.name, "model deleted")
        self.audit("model.delete", model, before={"name": model.name})

    def set_tag(self, name: str, key: str, value: str) -> ModelView:
        model = self.get_row(name)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        key = naming.tag_key(key)
        value = naming.tag_value(value, key)
        self.models.set_tag(model.id, key, value)
        model.updated_at = now_ms()
        self.session.flush()
        self.audit("model.tag.set", model, after={"key": key, "value": value})
        return model_views(self.session, [model])[0]

    def delete_tag(self, name: str, key: str, *, missing_ok: bool = False) -> None:
        """Remove a tag; ``missing_ok`` makes removing an absent tag a no-op (MLflow's way)."""
        model = self.get_row(name)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        key = naming.tag_key(key)
        if not self.models.delete_tag(model.id, key):
            if missing_ok:
                return
            raise NotFound(f"registered model {name!r} has no tag {key!r}", model=name, key=key)
        model.updated_at = now_ms()
        self.session.flush()
        self.audit("model.tag.delete", model, before={"key": key})

    def search(
        self,
        conditions: Sequence[Condition] = (),
        orders: Sequence[Order] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
        *,
        max_page: int | None = None,
    ) -> Page[ModelView]:
        orders = list(orders or DEFAULT_MODEL_ORDER)
        limit = (
            page_size(max_results) if max_page is None else page_size(max_results, maximum=max_page)
        )
        signature = ordering_signature(orders)
        rows = self.models.search(
            conditions, orders, limit + 1, decode_token(page_token, signature)
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            token = encode_token(signature, [getattr(last, o.field) for o in orders] + [last.id])
        if not access.allowed(self.ctx, Role.READER):
            # Without a global role, only the models its grants reach (pages may come short).
            rows = [m for m in rows if access.visible(self.ctx, m)]
        return Page(model_views(self.session, rows), token)
