"""Aliases and stages: moving them atomically and keeping their whole history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from charter import access, naming
from charter.access import Role
from charter.approvals.protection import ensure_direct_change_allowed
from charter.audit import AuditService
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import Conflict, InvalidArgument, NotFound
from charter.pagination import Page, decode_token, encode_token, page_size
from charter.registry import holdings
from charter.registry.lifecycle_repository import AliasRepository, HoldingRepository
from charter.registry.models import ALIAS, READY, STAGE, ModelVersion, RegisteredModel
from charter.registry.references import VersionSelector
from charter.registry.repository import ModelRepository, VersionRepository
from charter.registry.service import VersionService
from charter.registry.views import VersionView

HISTORY_ORDERING = "started_at:d,id:d"
ARCHIVABLE_FROM = ("Staging", "Production")


@dataclass(frozen=True)
class HoldingView:
    kind: str
    label: str
    version: int
    started_at: int
    started_by: str
    ended_at: int | None
    ended_by: str | None
    end_reason: str | None


class LifecycleService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.versions = VersionService(session, ctx)
        self.aliases = AliasRepository(session)

    def _locked_model(self, name: str) -> RegisteredModel:
        # Serialises alias and stage moves per model on PostgreSQL (SQLite writers already are).
        return self.versions.models.get_row(name, lock=True)

    def _ready_version(
        self, model: RegisteredModel, number: int, found: ModelVersion | None = None
    ) -> ModelVersion:
        """The model's live version ``number`` (``found`` when the caller already read it),
        which must be READY."""
        version = found or VersionRepository(self.session).get_live(model.id, number)
        if version is None:
            raise NotFound(
                f"model {model.name!r} has no version {number}", model=model.name, version=number
            )
        if version.status != READY:
            raise Conflict(
                f"version {model.name}/{number} is {version.status}; only READY versions can "
                "hold an alias or a stage",
                status=version.status,
            )
        return version

    def set_alias(self, name: str, alias: str, number: int) -> VersionView:
        return self.versions.view(*self.assign_alias(name, alias, number))

    def assign_alias(
        self, name: str, alias: str, number: int
    ) -> tuple[RegisteredModel, ModelVersion]:
        """``set_alias`` without building its answer (MLflow's answers an empty body)."""
        alias, number = naming.alias(alias), naming.version_number(number)
        model = self._locked_model(name)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        ensure_direct_change_allowed(self.session, self.ctx, model, ALIAS, alias, version=number)
        version = self._ready_version(model, number)
        self._move_alias(model, version, alias)
        return model, version

    def set_alias_via_promotion(self, name: str, alias: str, number: int) -> VersionView:
        """Move an alias without the protection check: only the approvals executor calls this,
        once a promotion request has been approved (or forced by an admin)."""
        alias, number = naming.alias(alias), naming.version_number(number)
        model = self._locked_model(name)
        version = self._ready_version(model, number)
        self._move_alias(model, version, alias)
        return self.versions.view(model, version)

    def _move_alias(self, model: RegisteredModel, version: ModelVersion, alias: str) -> None:
        holder = self.aliases.holder(model.id, alias)
        if holder is not None and holder[0] == version.id:
            return
        at, actor = now_ms(), self.ctx.actor.name
        before = None
        if holder is not None:
            holder_id, holder_number = holder
            HoldingRepository(self.session).close_current(
                model.id, ALIAS, alias, holder_id, at, actor, "alias moved"
            )
            before = {"version": holder_number}
        self.aliases.point(model.id, alias, version.id, at, new=holder is None)
        holdings.begin(self.session, version, ALIAS, alias, at, actor)
        ModelRepository(self.session).touch(model, at)
        after = {"version": version.version}
        self._audit("alias.set", model.id, f"{model.name}@{alias}", before, after)

    def delete_alias(self, name: str, alias: str, *, missing_ok: bool = False) -> None:
        """Remove an alias; ``missing_ok`` makes removing an absent alias a no-op (MLflow's way)."""
        alias = naming.alias(alias)
        model = self.versions.models.get_row(name, lock=True)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        ensure_direct_change_allowed(self.session, self.ctx, model, ALIAS, alias)
        current = self.aliases.get(model.id, alias)
        if current is None:
            if missing_ok:
                return
            raise NotFound(f"model {name!r} has no alias {alias!r}", model=name, alias=alias)
        version = VersionRepository(self.session).get_by_id(current.version_id)
        at = now_ms()
        if version is not None:
            holdings.end(
                self.session, version, ALIAS, alias, at, self.ctx.actor.name, "alias deleted"
            )
        self.aliases.remove(current)
        model.updated_at = at
        self.session.flush()
        before = {"version": version.version} if version is not None else None
        self._audit("alias.delete", model.id, f"{model.name}@{alias}", before, None)

    def transition_stage(
        self, name: str, number: int, stage: str, *, archive_existing: bool = False
    ) -> VersionView:
        stage, number = naming.stage(stage), naming.version_number(number)
        model = self._locked_model(name)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        # Protected stages move only through promotions (when governed): moving a version into
        # a protected stage, and out of one, both change who holds it.
        ensure_direct_change_allowed(self.session, self.ctx, model, STAGE, stage, version=number)
        current = VersionRepository(self.session).get_live(model.id, number)
        if current is not None and current.stage not in ("None", stage):
            ensure_direct_change_allowed(
                self.session, self.ctx, model, STAGE, current.stage, version=number, to=stage
            )
        version = self._ready_version(model, number, current)
        return self._move_stage(model, version, stage, archive_existing)

    def transition_stage_via_promotion(
        self, name: str, number: int, stage: str, *, archive_existing: bool = False
    ) -> VersionView:
        """Move a version to a stage without the protection check: only the approvals executor
        calls this, once a promotion request has been approved (or forced by an admin)."""
        stage, number = naming.stage(stage), naming.version_number(number)
        model = self._locked_model(name)
        version = self._ready_version(model, number)
        return self._move_stage(model, version, stage, archive_existing)

    def _move_stage(
        self, model: RegisteredModel, version: ModelVersion, stage: str, archive_existing: bool
    ) -> VersionView:
        at, actor = now_ms(), self.ctx.actor.name
        if archive_existing and stage in ARCHIVABLE_FROM:
            for other in VersionRepository(self.session).in_stage(model.id, stage):
                if other.id != version.id:
                    self._move(model, other, "Archived", at, actor, "archived by a transition")
        if version.stage != stage:
            self._move(model, version, stage, at, actor, f"moved to {stage}")
        else:
            VersionRepository(self.session).set_stage(version, stage, at)
        ModelRepository(self.session).touch(model, at)
        return self.versions.view(model, version)

    def _move(
        self,
        model: RegisteredModel,
        version: ModelVersion,
        stage: str,
        at: int,
        actor: str,
        reason: str,
    ) -> None:
        before = version.stage
        if version.stage != "None":
            holdings.end(self.session, version, STAGE, version.stage, at, actor, reason)
        if stage != "None":
            holdings.begin(self.session, version, STAGE, stage, at, actor)
        VersionRepository(self.session).set_stage(version, stage, at)
        name = f"{model.name}/{version.version}"
        self._audit("stage.transition", version.id, name, {"stage": before}, {"stage": stage})

    def _audit(
        self,
        action: str,
        resource_id: int,
        resource_name: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        kind = "stage" if action.startswith("stage.") else "alias"
        AuditService(self.session, self.ctx).record(
            action, kind, resource_id, resource_name, before, after
        )

    def history(
        self,
        name: str,
        *,
        kind: str | None = None,
        label: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[HoldingView]:
        model = self.versions.models.get_row(name)
        if kind is not None and kind not in (ALIAS, STAGE):
            raise InvalidArgument(
                f"no history of kind {kind!r}; expected alias or stage", field="kind"
            )
        limit = page_size(max_results)
        rows = HoldingRepository(self.session).list(
            model.id, kind, label, limit + 1, decode_token(page_token, HISTORY_ORDERING)
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1][0]
            token = encode_token(HISTORY_ORDERING, [last.started_at, last.id])
        views = [
            HoldingView(
                kind=h.kind,
                label=h.label,
                version=number,
                started_at=h.started_at,
                started_by=h.started_by,
                ended_at=h.ended_at,
                ended_by=h.ended_by,
                end_reason=h.end_reason,
            )
            for h, number in rows
        ]
        return Page(views, token)

    def resolve(self, name: str, selector: VersionSelector) -> VersionView:
        return self.versions.get(name, selector)
