"""Commands that administer an installation directly, with no server: ``serve`` and ``db``."""

from __future__ import annotations

import os
import shutil
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from charter.config import Settings, get_settings
from charter.errors import InvalidArgument, Unavailable

# Alembic, SQLAlchemy, boto3 and the OIDC client are imported by the commands that use them:
# every `charter` invocation imports this module, and most only talk to a server.

db_app = typer.Typer(help="Manage the installation's database.", no_args_is_help=True)


def _settings_with(**overrides: object) -> Settings:
    """Flags win over CHARTER_* variables; exported so that worker processes see them too."""
    for key, value in overrides.items():
        if value is not None:
            os.environ[f"CHARTER_{key.upper()}"] = str(value)
    get_settings.cache_clear()
    return get_settings()


def apply_migrations(settings: Settings) -> str | None:
    from charter import migrate
    from charter.db import create_db_engine

    engine = create_db_engine(settings)
    try:
        migrate.upgrade(engine)
        return migrate.current_revision(engine)
    except Exception as exc:
        raise Unavailable(f"cannot migrate {_safe_url(settings)}: {exc}") from exc
    finally:
        engine.dispose()


def _safe_url(settings: Settings) -> str:
    """The database URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[str | None, typer.Option(help="Overrides CHARTER_DATABASE_URL")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Overrides CHARTER_DATA_DIR")] = None,
) -> None:
    """Apply every pending migration to the database."""
    settings = _settings_with(database_url=database_url, data_dir=data_dir)
    revision = apply_migrations(settings)
    typer.echo(f"database {_safe_url(settings)} is at revision {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one this Charter knows."""
    from charter import migrate
    from charter.db import create_db_engine

    settings = get_settings()
    engine = create_db_engine(settings)
    try:
        typer.echo(f"current: {migrate.current_revision(engine)}  head: {migrate.head_revision()}")
    finally:
        engine.dispose()


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (CHARTER_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (CHARTER_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (CHARTER_WORKERS)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="CHARTER_DATA_DIR")] = None,
    database_url: Annotated[str | None, typer.Option(help="CHARTER_DATABASE_URL")] = None,
    artifact_root: Annotated[str | None, typer.Option(help="CHARTER_ARTIFACT_ROOT")] = None,
    migrate_db: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Apply migrations first (default: on for SQLite; run `charter db upgrade` "
            "once for PostgreSQL)",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    auth: Annotated[
        AuthMode | None,
        typer.Option(help="Require credentials (CHARTER_AUTH); off is for loopback only"),
    ] = None,
) -> None:
    """Run the Charter server."""
    settings = _settings_with(
        host=host,
        port=port,
        workers=workers,
        data_dir=data_dir,
        database_url=database_url,
        artifact_root=artifact_root,
        auth=auth,
    )
    _check_authentication(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate_db if migrate_db is not None else settings.is_sqlite:
        apply_migrations(settings)
    _require_current_schema(settings)
    _sweep_stale_uploads(settings)
    _prepare_metrics_dir(settings)
    typer.echo(
        f"Charter on http://{settings.host}:{settings.port} with {settings.workers} workers; "
        f"database {_safe_url(settings)}; artifacts {settings.resolved_artifact_root}",
        err=True,
    )
    if not settings.auth:
        typer.echo("single-user mode: authentication is off", err=True)
    from charter.api import server

    server.exec_supervisor(settings.host, settings.port, settings.workers, log_level)


class AuthMode(StrEnum):
    ON = "on"
    OFF = "off"


def _check_authentication(settings: Settings) -> None:
    from charter.identity.oidc import OidcConfig, is_loopback

    """Secure by default: with authentication off, only this machine may connect."""
    if settings.auth:
        OidcConfig.from_settings(settings)  # a bad SSO setting fails now, not at first login
        return
    if not is_loopback(settings.host):
        raise InvalidArgument(
            f"refusing to listen on {settings.host} with authentication off: "
            "pass --auth on (CHARTER_AUTH=on) or bind a loopback address such as 127.0.0.1"
        )


def _require_current_schema(settings: Settings) -> None:
    from charter import migrate
    from charter.db import create_db_engine

    engine = create_db_engine(settings)
    try:
        current, head = migrate.current_revision(engine), migrate.head_revision()
    finally:
        engine.dispose()
    if current != head:
        raise Unavailable(
            f"the database is at migration {current}, this Charter needs {head}: "
            "run `charter db upgrade`"
        )


def _sweep_stale_uploads(settings: Settings) -> None:
    from charter.blobs import open_blob_store
    from charter.blobs.factory import S3Options

    """Temp files of uploads cut short by a crash or SIGKILL never become visible; drop them."""
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    store = open_blob_store(
        settings.resolved_artifact_root,
        settings.temp_dir,
        S3Options(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        ),
    )
    store.sweep_temporary(older_than_seconds=0)


def _prepare_metrics_dir(settings: Settings) -> None:
    directory = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
