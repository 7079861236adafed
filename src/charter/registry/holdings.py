"""Opening and closing the periods during which versions hold aliases and stages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter.registry.lifecycle_repository import AliasRepository, HoldingRepository
from charter.registry.models import ALIAS, STAGE, ModelVersion
from charter.registry.repository import VersionRepository


def begin(session: Session, version: ModelVersion, kind: str, label: str, at: int, by: str) -> None:
    HoldingRepository(session).open(version.model_id, kind, label, version.id, at, by)


def end(
    session: Session, version: ModelVersion, kind: str, label: str, at: int, by: str, reason: str
) -> None:
    HoldingRepository(session).close_current(
        version.model_id, kind, label, version.id, at, by, reason
    )


def release_version(session: Session, version: ModelVersion, at: int, by: str, reason: str) -> None:
    """A deleted version gives up its aliases and its stage, and its history says why."""
    aliases = AliasRepository(session)
    for row in aliases.for_version(version.id):
        end(session, version, ALIAS, row.alias, at, by, reason)
        aliases.remove(row)
    if version.stage != "None":
        end(session, version, STAGE, version.stage, at, by, reason)


def release_model(session: Session, model_id: int, at: int, by: str, reason: str) -> None:
    versions = VersionRepository(session)
    for alias_holder in versions.holding_anything(model_id):
        release_version(session, alias_holder, at, by, reason)
