"""Every query about the MLflow artifact namespace and its multipart uploads.

A directory is not stored: it exists while a file lies under it. "Under ``a/b``" is the key
range ``['a/b/', 'a/b0')`` (``0`` follows ``/`` in byte order), which the primary key and the
``parent`` index serve without LIKE and its escaping.
"""

from __future__ import annotations

import posixpath

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from charter.tracking.models import MultipartPart, MultipartUpload, TrackedArtifact


def under(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """``column`` names something strictly below the directory ``prefix`` ('' is the root)."""
    if not prefix:
        return column != ""
    return and_(column >= prefix + "/", column < prefix + "0")


def parent_of(path: str) -> str:
    return posixpath.dirname(path)


class TrackedArtifactRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, path: str) -> TrackedArtifact | None:
        return self.session.get(TrackedArtifact, path)

    def put(self, path: str, size: int, sha256: str) -> TrackedArtifact:
        row = self.get(path)
        if row is None:
            row = TrackedArtifact(path=path, parent=parent_of(path), size=size, sha256=sha256)
            self.session.add(row)
        else:
            row.size, row.sha256 = size, sha256
        self.session.flush()
        return row

    def files_in(self, directory: str) -> list[TrackedArtifact]:
        """The files directly in a directory."""
        return list(
            self.session.scalars(
                select(TrackedArtifact)
                .where(TrackedArtifact.parent == directory)
                .order_by(TrackedArtifact.path)
            )
        )

    def directories_below(self, directory: str) -> list[str]:
        """Every directory holding a file somewhere below ``directory`` (distinct)."""
        return list(
            self.session.scalars(
                select(TrackedArtifact.parent)
                .where(under(TrackedArtifact.parent, directory))
                .distinct()
            )
        )

    def files_below(self, directory: str) -> list[TrackedArtifact]:
        """Every file below a directory, at any depth, in path order."""
        return list(
            self.session.scalars(
                select(TrackedArtifact)
                .where(under(TrackedArtifact.path, directory))
                .order_by(TrackedArtifact.path)
            )
        )

    def has_below(self, directory: str) -> bool:
        return (
            self.session.scalars(
                select(TrackedArtifact.path).where(under(TrackedArtifact.path, directory)).limit(1)
            ).first()
            is not None
        )

    def files_at(self, paths: list[str]) -> list[str]:
        """Which of ``paths`` are files."""
        if not paths:
            return []
        return list(
            self.session.scalars(
                select(TrackedArtifact.path).where(TrackedArtifact.path.in_(paths))
            )
        )

    def delete_tree(self, path: str) -> int:
        """Delete the file at ``path`` or every file below it; return how many went."""
        removed = 0
        for condition in (TrackedArtifact.path == path, under(TrackedArtifact.path, path)):
            result = self.session.execute(delete(TrackedArtifact).where(condition))
            removed += int(result.rowcount)  # type: ignore[attr-defined]
        return removed


class MultipartRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, upload: MultipartUpload) -> MultipartUpload:
        self.session.add(upload)
        self.session.flush()
        return upload

    def get(self, upload_id: str, *, lock: bool = False) -> MultipartUpload | None:
        query = select(MultipartUpload).where(MultipartUpload.id == upload_id)
        if lock:
            # Two completions (or a completion and an abort) of one upload must not both win.
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def put_part(self, upload_id: str, number: int, size: int, sha256: str) -> MultipartPart:
        part = self.session.get(MultipartPart, (upload_id, number))
        if part is None:
            part = MultipartPart(upload_id=upload_id, part_number=number, size=size, sha256=sha256)
            self.session.add(part)
        else:
            part.size, part.sha256 = size, sha256
        self.session.flush()
        return part

    def parts(self, upload_id: str) -> list[MultipartPart]:
        return list(
            self.session.scalars(
                select(MultipartPart)
                .where(MultipartPart.upload_id == upload_id)
                .order_by(MultipartPart.part_number)
            )
        )

    def delete(self, upload: MultipartUpload) -> None:
        self.session.execute(delete(MultipartPart).where(MultipartPart.upload_id == upload.id))
        self.session.delete(upload)
        self.session.flush()
