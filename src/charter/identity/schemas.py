"""Request and response shapes of identity (the native API's view of it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from charter.registry.schemas import Strict, Timestamp


# What a user sends to create an API token for themselves.
class TokenCreate(Strict):
    name: str = Field(default="api", min_length=1, max_length=128)
    expires_in: str | None = Field(
        default=None,
        description="How long the token lives, e.g. 30d, 12h; default 90d through the API",
    )


# An API token as listed: never its secret.
class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    user: str
    created_at: Timestamp
    created_by: str
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None


# A token just created: the only response that ever carries the secret.
class TokenIssued(TokenRead):
    token: str = Field(description="The secret; shown once, store it now")


# The caller's own tokens, oldest first; never their secrets.
class TokenList(BaseModel):
    tokens: list[TokenRead]


# The caller as Charter sees it.
class MeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    user_id: int | None
    groups: list[str]
    method: str = Field(description="How the caller authenticated: local, token, session, jwt")
    token_id: str | None
    authentication: bool = Field(description="False in single-user mode")


# A user or service account as listed.
class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    display_name: str | None
    email: str | None
    groups: list[str]
    sso: bool
    disabled: bool
    created_at: Timestamp


# A role grant as listed.
class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    principal_type: str
    principal: str
    role: str
    scope: str
    model_id: int | None
    prefix: str | None
    created_at: Timestamp
    created_by: str


# What an admin (or a model's maintainer, for a grant on that model) sends to grant a role.
class GrantCreate(Strict):
    principal_type: str = Field(default="user", description="user or group")
    principal: str = Field(min_length=1, max_length=256)
    role: str = Field(description="reader, contributor, approver, maintainer or admin")
    model: str | None = Field(default=None, description="Only on this registered model")
    prefix: str | None = Field(default=None, description="Only on models named so, e.g. fraud-*")


# Grants as listed, oldest first.
class GrantList(BaseModel):
    grants: list[GrantRead]
