"""The rules of model cards: which texts are editable, who may edit them, and building a card.

Everything else on a card comes from the registry as it is now, so a card is never stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from charter import naming
from charter.approvals.authorization import ModelRef, Role, RoleAuthorizer
from charter.audit import AuditService
from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import InvalidArgument
from charter.modelcards.card import ModelCard, build
from charter.modelcards.repository import CardFieldRepository
from charter.modelcards.sections import CardSubject
from charter.registry.model_service import ModelService
from charter.registry.models import ModelVersion, RegisteredModel
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService

# The texts a person writes on a card; everything else is read from the registry.
FIELDS = (
    "license",
    "intended_use",
    "out_of_scope_use",
    "limitations",
    "recommendations",
    "training_data",
)
LICENSE_MAX = 100  # an identifier such as apache-2.0 or other


@dataclass(frozen=True)
class CardFields:
    model: str
    version: int | None
    fields: dict[str, str]  # set on this model (or version) itself
    effective: dict[str, str]  # with the model's texts the version does not override


def clean_field(field: str, text: str) -> str:
    if field not in FIELDS:
        raise InvalidArgument(
            f"{field!r} is not a model card field; fields: {', '.join(FIELDS)}", field=field
        )
    value = naming.description(text) or ""
    if field == "license":
        value = value.strip()
        if len(value) > LICENSE_MAX or not value.isprintable():
            raise InvalidArgument(
                f"license must be one line of at most {LICENSE_MAX} characters, an identifier "
                "such as apache-2.0",
                field=field,
            )
    return value


class ModelCardService:
    def __init__(self, session: Session, ctx: RequestContext, blobs: BlobStore) -> None:
        self.session = session
        self.ctx = ctx
        self.blobs = blobs
        self.models = ModelService(session, ctx)
        self.versions = VersionService(session, ctx)
        self.fields = CardFieldRepository(session)

    def model_fields(self, name: str) -> CardFields:
        model = self.models.get_row(name)
        own = {f: r.text for f, r in self.fields.of_model(model.id).items()}
        return CardFields(model.name, None, own, dict(own))

    def version_fields(self, name: str, selector: VersionSelector) -> CardFields:
        model, version = self.versions.get_row(name, selector)
        return self._version_fields(model, version)

    def update_model_fields(self, name: str, changes: Mapping[str, str | None]) -> CardFields:
        model = self.models.get_row(name)
        cleaned = self._authorized_changes(model, changes)
        at, by = now_ms(), self.ctx.actor.name
        for field, text in cleaned.items():
            if text:
                self.fields.put_model(model.id, field, text, at, by)
            else:
                self.fields.clear_model(model.id, field)
        self._audit("model.card.update", "model", model.id, model.name, cleaned)
        return self.model_fields(model.name)

    def update_version_fields(
        self, name: str, selector: VersionSelector, changes: Mapping[str, str | None]
    ) -> CardFields:
        model, version = self.versions.get_row(name, selector)
        cleaned = self._authorized_changes(model, changes)
        at, by = now_ms(), self.ctx.actor.name
        for field, text in cleaned.items():
            if text:
                self.fields.put_version(version.id, field, text, at, by)
            else:
                self.fields.clear_version(version.id, field)
        ref = f"{model.name}/{version.version}"
        self._audit("version.card.update", "version", version.id, ref, cleaned)
        return self._version_fields(model, version)

    def card(self, name: str, selector: VersionSelector) -> ModelCard:
        model, version = self.versions.get_row(name, selector)
        subject = CardSubject(
            session=self.session,
            ctx=self.ctx,
            blobs=self.blobs,
            model=self.models.get(model.name),
            version=self.versions.view(model, version),
            fields=self._version_fields(model, version).effective,
        )
        return build(subject)

    def _version_fields(self, model: RegisteredModel, version: ModelVersion) -> CardFields:
        inherited = {f: r.text for f, r in self.fields.of_model(model.id).items()}
        own = {f: r.text for f, r in self.fields.of_version(version.id).items()}
        return CardFields(model.name, version.version, own, {**inherited, **own})

    def _authorized_changes(
        self, model: RegisteredModel, changes: Mapping[str, str | None]
    ) -> dict[str, str]:
        RoleAuthorizer().require(self.ctx, Role.CONTRIBUTOR, ModelRef(model.id, model.name))
        if not changes:
            raise InvalidArgument(
                f"name at least one field to change: {', '.join(FIELDS)}", field="fields"
            )
        return {field: clean_field(field, text or "") for field, text in changes.items()}

    def _audit(
        self, action: str, kind: str, resource_id: int, name: str, cleaned: dict[str, str]
    ) -> None:
        # The texts may be long: the event names the fields changed and which were cleared.
        after = {
            "set": sorted(f for f, t in cleaned.items() if t),
            "cleared": sorted(f for f, t in cleaned.items() if not t),
        }
        AuditService(self.session, self.ctx).record(action, kind, resource_id, name, after=after)
