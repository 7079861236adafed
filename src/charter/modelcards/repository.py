"""Every query of the model cards area."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from charter.modelcards.models import ModelCardField, VersionCardField


class CardFieldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of_model(self, model_id: int) -> dict[str, ModelCardField]:
        rows = self.session.scalars(
            select(ModelCardField).where(ModelCardField.model_id == model_id)
        )
        return {row.field: row for row in rows}

    def of_version(self, version_id: int) -> dict[str, VersionCardField]:
        rows = self.session.scalars(
            select(VersionCardField).where(VersionCardField.version_id == version_id)
        )
        return {row.field: row for row in rows}

    def put_model(self, model_id: int, field: str, text: str, at: int, by: str) -> None:
        row = self.session.get(ModelCardField, (model_id, field))
        if row is None:
            self.session.add(
                ModelCardField(
                    model_id=model_id, field=field, text=text, updated_at=at, updated_by=by
                )
            )
        else:
            row.text, row.updated_at, row.updated_by = text, at, by
        self.session.flush()

    def put_version(self, version_id: int, field: str, text: str, at: int, by: str) -> None:
        row = self.session.get(VersionCardField, (version_id, field))
        if row is None:
            self.session.add(
                VersionCardField(
                    version_id=version_id, field=field, text=text, updated_at=at, updated_by=by
                )
            )
        else:
            row.text, row.updated_at, row.updated_by = text, at, by
        self.session.flush()

    def clear_model(self, model_id: int, field: str) -> None:
        self.session.execute(
            delete(ModelCardField).where(
                ModelCardField.model_id == model_id, ModelCardField.field == field
            )
        )

    def clear_version(self, version_id: int, field: str) -> None:
        self.session.execute(
            delete(VersionCardField).where(
                VersionCardField.version_id == version_id, VersionCardField.field == field
            )
        )
