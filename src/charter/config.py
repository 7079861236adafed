"""Settings of one Charter installation, read from ``CHARTER_*`` variables (and CLI flags)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything that can be configured; the defaults run a laptop install with no setup."""

    model_config = SettingsConfigDict(env_prefix="CHARTER_", extra="ignore")

    data_dir: Path = Field(
        default=Path("charter-data"), description="Where the embedded default keeps its files"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite under data_dir when unset"
    )
    artifact_root: str | None = Field(
        default=None, description="Path or s3://bucket/prefix for artifact bytes"
    )
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=2, ge=1, le=64)

    max_request_bytes: int = Field(
        default=1 << 20, ge=1024, description="Limit of JSON request bodies"
    )
    max_artifact_bytes: int | None = Field(
        default=None, ge=1, description="Limit of one uploaded file"
    )
    stale_upload_seconds: float = Field(default=3600.0, ge=0)
    sqlite_busy_timeout_seconds: float = Field(default=60.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    signing_key: Path | None = Field(
        default=None,
        description="PEM Ed25519 private key that signs audit checkpoints; generated under "
        "data_dir when unset",
    )

    auth: bool = Field(
        default=False,
        description="Require credentials on every API request; off is single-user mode, "
        "allowed on a loopback address only",
    )
    oidc_issuer: str | None = Field(
        default=None, description="OpenID Connect issuer URL; enables single sign-on"
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_audience: str | None = Field(
        default=None,
        description="Audience that JWT access tokens must carry to be accepted as Bearer; "
        "unset accepts none",
    )
    oidc_groups_claim: str = Field(default="groups", description="Claim that lists groups")
    oidc_redirect_url: str | None = Field(
        default=None, description="Callback URL registered at the provider; derived when unset"
    )
    oidc_scopes: str = "openid profile email"
    session_ttl_seconds: int = Field(
        default=12 * 3600, ge=60, description="Lifetime of a browser session after SSO login"
    )

    scan_workers: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Background threads per server process that scan uploaded files; 0 disables",
    )
    scan_poll_seconds: float = Field(default=1.0, gt=0, description="How often idle workers look")
    scan_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A claimed scan whose worker is silent this long is retried",
    )
    scan_max_attempts: int = Field(default=3, ge=1, description="Claims before a scan is failed")
    scan_timeout_seconds: float = Field(default=60.0, gt=0, description="Limit per file inspected")
    scan_memory_bytes: int = Field(
        default=4 << 30, ge=64 << 20, description="Address-space limit of an inspection process"
    )
    scan_max_file_bytes: int = Field(
        default=8 << 30, ge=1, description="Larger files are not inspected (verdict failed)"
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'charter.db').resolve()}"

    @property
    def resolved_artifact_root(self) -> str:
        if self.artifact_root:
            return self.artifact_root
        return str((self.data_dir / "artifacts").resolve())

    @property
    def temp_dir(self) -> Path:
        """Where uploads are spooled while they are hashed (local disk, whatever the blob store)."""
        return (self.data_dir / "tmp").resolve()

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
