"""Every query of the artifacts area."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from charter.artifacts.models import VersionFile


class FileRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, version_id: int) -> list[VersionFile]:
        return list(
            self.session.scalars(
                select(VersionFile)
                .where(VersionFile.version_id == version_id)
                .order_by(VersionFile.path)
            )
        )

    def get(self, version_id: int, path: str) -> VersionFile | None:
        return self.session.get(VersionFile, (version_id, path))

    def put(self, version_id: int, path: str, size: int, sha256: str) -> VersionFile:
        row = self.get(version_id, path)
        if row is None:
            row = VersionFile(version_id=version_id, path=path, size=size, sha256=sha256)
            self.session.add(row)
        else:
            row.size, row.sha256 = size, sha256
        self.session.flush()
        return row

    def delete(self, version_id: int, path: str) -> bool:
        result = self.session.execute(
            delete(VersionFile).where(
                VersionFile.version_id == version_id, VersionFile.path == path
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def copy(self, source_version_id: int, target_version_id: int) -> None:
        for row in self.list(source_version_id):
            self.session.add(
                VersionFile(
                    version_id=target_version_id, path=row.path, size=row.size, sha256=row.sha256
                )
            )
        self.session.flush()
