"""The manifest digest: one SHA-256 that identifies all of a version's content.

It is the SHA-256 of the canonical JSON list of the files, sorted by path, each as
``{"path": ..., "sha256": ..., "size": ...}`` with sorted keys, no spaces and UTF-8 text,
prefixed ``sha256:``. Anyone can recompute it from a downloaded manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Protocol


class FileEntry(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...


def canonical_manifest(files: Iterable[FileEntry]) -> bytes:
    entries = sorted(
        ({"path": f.path, "sha256": f.sha256, "size": f.size} for f in files),
        key=lambda e: str(e["path"]),
    )
    return json.dumps(entries, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_digest(files: Iterable[FileEntry]) -> str:
    return "sha256:" + hashlib.sha256(canonical_manifest(files)).hexdigest()
