"""What one server process holds for its lifetime: settings, database, blob store."""

from __future__ import annotations

from dataclasses import dataclass

from charter.blobs import BlobStore, open_blob_store
from charter.blobs.factory import S3Options
from charter.config import Settings
from charter.db import Database, create_db_engine


@dataclass
class AppState:
    settings: Settings
    db: Database
    blobs: BlobStore

    @classmethod
    def open(cls, settings: Settings) -> AppState:
        s3 = S3Options(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
        settings.temp_dir.mkdir(parents=True, exist_ok=True)
        blobs = open_blob_store(settings.resolved_artifact_root, settings.temp_dir, s3)
        return cls(settings=settings, db=Database(create_db_engine(settings)), blobs=blobs)

    def close(self) -> None:
        self.db.dispose()
