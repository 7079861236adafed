"""Tables of the signatures area: the bundles that sign a version's files."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base


class VersionSignature(Base):
    """One signature of a version's files: the bundle as the signer wrote it, and its key.

    A version may carry several (one per key); adding one never changes the version's files.
    """

    __tablename__ = "version_signatures"
    __table_args__ = (
        UniqueConstraint("version_id", "key_fingerprint"),
        Index("ix_version_signatures_fingerprint", "key_fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    bundle: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    key_fingerprint: Mapped[str] = mapped_column(String(80))
    # The content signed: the manifest digest the bundle's files were checked against.
    manifest_digest: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256))
