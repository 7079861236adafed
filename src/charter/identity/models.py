"""Tables of identity: users, their groups, API tokens, SSO sessions and role grants."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from charter.db import Base, Timestamps, now_ms

USER = "user"
SERVICE = "service"
USER_KINDS = (USER, SERVICE)
NAME_MAX = 256


class User(Timestamps, Base):
    """A person or a service account. SSO users carry the issuer and subject that name them."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("name"),
        # One account per identity at the provider; local accounts have neither column.
        UniqueConstraint("oidc_issuer", "oidc_subject"),
        CheckConstraint("kind IN ('user', 'service')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    kind: Mapped[str] = mapped_column(String(16), default=USER)
    display_name: Mapped[str | None] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(320))
    oidc_issuer: Mapped[str | None] = mapped_column(String(512))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(NAME_MAX))
    disabled_at: Mapped[int | None] = mapped_column(BigInteger)


class UserGroup(Base):
    """Membership of a user in a group: set by an administrator, or from the SSO groups claim."""

    __tablename__ = "user_groups"
    __table_args__ = (Index("ix_user_groups_name", "name"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True)


class ApiToken(Base):
    """An API token; the secret itself is never stored, only its SHA-256 (``token_hash``)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        # The lookup of every authenticated request goes through this index.
        UniqueConstraint("token_hash"),
        Index("ix_api_tokens_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    created_by: Mapped[str] = mapped_column(String(NAME_MAX))
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_by: Mapped[str | None] = mapped_column(String(NAME_MAX))


class LoginSession(Base):
    """A browser session after SSO login; the cookie holds the secret, the row its hash."""

    __tablename__ = "login_sessions"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_login_sessions_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class Grant(Base):
    """A role given to a user or a group, globally, on one model, or on a name prefix.

    ``target`` folds the scope and its object into one column ('*', 'model:12', 'prefix:fraud-*')
    so that a plain unique constraint forbids two grants of the same principal on the same
    target, identically on SQLite and PostgreSQL (NULLs would slip through a constraint on
    ``model_id`` and ``prefix``).
    """

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("principal_type", "principal", "target"),
        Index("ix_grants_model_id", "model_id"),
        CheckConstraint("principal_type IN ('user', 'group')", name="principal_type"),
        CheckConstraint(
            "role IN ('reader', 'contributor', 'approver', 'maintainer', 'admin')", name="role"
        ),
        CheckConstraint(
            "(scope = 'global' AND model_id IS NULL AND prefix IS NULL)"
            " OR (scope = 'model' AND model_id IS NOT NULL AND prefix IS NULL)"
            " OR (scope = 'prefix' AND model_id IS NULL AND prefix IS NOT NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_type: Mapped[str] = mapped_column(String(8))
    principal: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(8))
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    prefix: Mapped[str | None] = mapped_column(String(NAME_MAX + 1))
    target: Mapped[str] = mapped_column(String(NAME_MAX + 16))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    created_by: Mapped[str] = mapped_column(String(NAME_MAX))
