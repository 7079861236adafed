"""Tables of the artifacts area: the manifest entries of every version."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base, now_ms


class VersionFile(Base):
    """One file of a version's manifest; its bytes live in the blob store under ``sha256``."""

    __tablename__ = "version_files"
    __table_args__ = (Index("ix_version_files_sha256", "sha256"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
