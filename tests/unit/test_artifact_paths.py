"""Artifact paths are checked before they reach a filesystem or an object key."""

from __future__ import annotations

import pytest

from charter.artifacts.paths import artifact_path
from charter.errors import InvalidArgument


@pytest.mark.parametrize(
    "path", ["MLmodel", "model/weights.bin", "a/b/c.d", "ünïcode/file", "dir/.hidden", "a..b"]
)
def test_accepts_relative_paths(path: str) -> None:
    assert artifact_path(path) == path


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("C:/windows", "relative"),
        ("../escape", "traversal"),
        ("a/../../escape", "traversal"),
        ("a/./b", "traversal"),
        ("a//b", "empty segment"),
        ("trailing/", "empty segment"),
        ("back\\slash", "backslash"),
        ("nul\x00byte", "NUL"),
        ("bell\x07", "control"),
        ("x" * 1025, "longer than 1024"),
        ("a/" + "y" * 256, "longer than 255"),
    ],
)
def test_rejects(path: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        artifact_path(path)


def test_normalises_to_nfc() -> None:
    assert artifact_path("cafe\u0301") == "caf\u00e9"
