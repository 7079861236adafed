"""Entity keys: the same repository or commit written two ways is one entity."""

from __future__ import annotations

import pytest

from charter.errors import InvalidArgument
from charter.lineage import keys


class TestRepository:
    @pytest.mark.parametrize(
        "url",
        [
            "https://github.com/acme/fraud",
            "https://github.com/acme/fraud.git",
            "https://GitHub.com/acme/fraud/",
            "git@github.com:acme/fraud.git",
            "ssh://git@github.com/acme/fraud.git",
            "https://user:token@github.com/acme/fraud",
            "github.com/acme/fraud",
        ],
    )
    def test_spellings_of_one_repository_are_one_key(self, url: str) -> None:
        assert keys.repository(url) == "github.com/acme/fraud"

    def test_a_port_is_kept(self) -> None:
        assert keys.repository("https://git.acme:8443/a/b") == "git.acme:8443/a/b"

    def test_absent_is_empty(self) -> None:
        assert keys.repository(None) == ""


class TestCommit:
    def test_lower_case_hex(self) -> None:
        assert keys.commit(" ABCDEF1 ") == "abcdef1"

    @pytest.mark.parametrize("sha", ["abc", "g" * 40, "a" * 65, "abc def1"])
    def test_anything_else_is_refused(self, sha: str) -> None:
        with pytest.raises(InvalidArgument, match="not a commit SHA"):
            keys.commit(sha)


class TestText:
    def test_limits_are_in_utf8_bytes(self) -> None:
        assert keys.text("é" * 512, "uri", 1024) == "é" * 512
        with pytest.raises(InvalidArgument, match="1026 bytes long"):
            keys.text("é" * 513, "uri", 1024)

    def test_control_characters_are_refused(self) -> None:
        with pytest.raises(InvalidArgument, match="control character"):
            keys.text("a\x00b", "uri", 10)
