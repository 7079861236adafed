"""User text in a card: inline formatting kept, document structure neutralised."""

from __future__ import annotations

import pytest
import yaml

from charter.modelcards import markdown as md


class TestBlock:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("# heading", "\\# heading"),
            ("  ### indented", "  \\### indented"),
            ("title\n===", "title\n\\==="),
            ("title\n---", "title\n\\---"),
            ("***", "\\***"),
            ("```python", "\\```python"),
            ("~~~", "\\~~~"),
            ("<script>x</script>", "&lt;script>x&lt;/script>"),
            ("[home]: https://evil.example", "\\[home]: https://evil.example"),
        ],
    )
    def test_structure_is_escaped(self, text: str, expected: str) -> None:
        assert md.block(text) == expected

    def test_inline_formatting_and_lists_are_kept(self) -> None:
        text = "Use **only** for `EU` data:\n- cards\n- wires\n\nSee [docs](https://x.example)."
        assert md.block(text) == text

    def test_control_characters_and_line_endings(self) -> None:
        assert md.block("a\r\nb\rc\x1b[31m") == "a\nb\nc[31m"


class TestInline:
    def test_one_line_with_specials_escaped(self) -> None:
        assert md.inline("a | b\n# c *d*") == "a \\| b \\# c \\*d\\*"

    def test_code_span_cannot_be_closed_by_the_text(self) -> None:
        assert md.code("ab") == "`ab`"
        assert md.code("a`b") == "`` a`b ``"


class TestFrontMatter:
    @pytest.mark.parametrize(
        "value",
        ["x\n---\ny: 1", "...", "yes", "1.5", "a: b", "- item", "tab\there", "x\u2028---", "#c"],
    )
    def test_any_value_reads_back_as_the_same_string_and_stays_on_one_line(
        self, value: str
    ) -> None:
        text = md.front_matter({"license": value, "tags": [value]})
        lines = text.splitlines()
        assert lines[0] == "---"
        assert lines[-1] == "---"
        assert "---" not in lines[1:-1]
        assert yaml.safe_load(text.removeprefix("---\n").removesuffix("---\n")) == {
            "license": value,
            "tags": [value],
        }
