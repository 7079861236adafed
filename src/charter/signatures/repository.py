"""Every query of the signatures area."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.signatures.models import VersionSignature


class SignatureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: VersionSignature) -> VersionSignature:
        self.session.add(row)
        self.session.flush()
        return row

    def list(self, version_id: int) -> list[VersionSignature]:
        return list(
            self.session.scalars(
                select(VersionSignature)
                .where(VersionSignature.version_id == version_id)
                .order_by(VersionSignature.id)
            )
        )

    def by_key(self, version_id: int, fingerprint: str) -> VersionSignature | None:
        return self.session.scalar(
            select(VersionSignature).where(
                VersionSignature.version_id == version_id,
                VersionSignature.key_fingerprint == fingerprint,
            )
        )
