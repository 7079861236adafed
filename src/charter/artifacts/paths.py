"""Artifact paths inside a version: checked before they reach any filesystem or object key."""

from __future__ import annotations

import re
import unicodedata

from charter.errors import InvalidArgument

PATH_MAX = 1024
SEGMENT_MAX = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def artifact_path(value: str) -> str:
    """A relative POSIX path: no '..', '.' or empty segments, backslashes or control characters."""
    path = unicodedata.normalize("NFC", value)
    if not path:
        raise InvalidArgument("artifact path must not be empty", field="path")
    if "\x00" in path:
        raise InvalidArgument("artifact path contains a NUL character", field="path")
    if _CONTROL.search(path):
        raise InvalidArgument(f"artifact path {path!r} contains a control character", field="path")
    if "\\" in path:
        raise InvalidArgument(f"artifact path {path!r} contains a backslash", field="path")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise InvalidArgument(f"artifact path {path!r} must be relative", field="path")
    if len(path.encode()) > PATH_MAX:
        raise InvalidArgument(f"artifact path is longer than {PATH_MAX} bytes", field="path")
    for segment in path.split("/"):
        if segment == "":
            raise InvalidArgument(f"artifact path {path!r} has an empty segment", field="path")
        if segment in (".", ".."):
            raise InvalidArgument(
                f"artifact path {path!r} contains {segment!r}: traversal is not allowed",
                field="path",
            )
        if len(segment.encode()) > SEGMENT_MAX:
            raise InvalidArgument(
                f"artifact path segment is longer than {SEGMENT_MAX} bytes", field="path"
            )
    return path
