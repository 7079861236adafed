"""Writing Markdown and YAML front matter from text that users typed: no I/O here.

A card mixes Charter's own structure (headings, tables) with user text (descriptions, intended
use, tag values). User text keeps its inline formatting but can never add a heading, open a
code fence that swallows the sections after it, start raw HTML, or end the front matter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

# Lines that would change the document's structure rather than format a paragraph: ATX
# headings, setext underlines and thematic breaks, code fences, HTML blocks, and link
# reference definitions (which could redefine a link used elsewhere in the card).
_BLOCK_START = re.compile(
    r"^( {0,3})(#|=+\s*$|-{3,}\s*$|\*{3,}\s*$|_{3,}\s*$|```|~~~|<|\[[^\]]*\]:)"
)
# Indented (4+ spaces) code is harmless but turns text monospace; list markers stay.
_INLINE_SPECIALS = re.compile(r"([\\`*_{}\[\]<>#|~!])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def inline(text: object) -> str:
    """A value on one line (a table cell, a fact): every Markdown special escaped."""
    flat = " ".join(_CONTROL.sub("", str(text)).split())
    return _INLINE_SPECIALS.sub(r"\\\1", flat)


def block(text: str) -> str:
    """Paragraphs of user text: inline formatting kept, document structure neutralised."""
    lines = []
    for raw in _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.replace("<", "&lt;")  # raw HTML could open a block or a hidden comment
        match = _BLOCK_START.match(line)
        if match:
            indent = match.group(1)
            line = f"{indent}\\{line[len(indent) :]}"
        lines.append(line)
    return "\n".join(lines).strip("\n")


def code(text: str) -> str:
    """Text shown verbatim inline (a digest, a fingerprint): a code span that cannot be closed."""
    flat = " ".join(_CONTROL.sub("", text).split())
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", flat)), default=0) + 1)
    return f"{ticks} {flat} {ticks}" if "`" in flat else f"`{flat}`"


def facts(rows: Sequence[tuple[str, str]]) -> str:
    """A bullet list of ``label: value``; values are already Markdown (escape them first)."""
    return "\n".join(f"- **{label}:** {value}" for label, value in rows)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub table; cells are already Markdown on one line (``inline`` or ``code``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


class _FrontMatterDumper(yaml.SafeDumper):
    """Safe YAML where every string that is not a plain word is double-quoted on one line.

    Double-quoted scalars escape line breaks, so no value can put a ``---`` or ``...`` line
    (the end of the front matter) into the document, whatever the user typed.
    """


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._/+-]*", value) is not None
    style = None if plain and value == value.strip() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FrontMatterDumper.add_representer(str, _represent_str)


def front_matter(data: Mapping[str, Any]) -> str:
    """The card's metadata block, ``---`` YAML ``---``, as the Hugging Face Hub reads it."""
    text = yaml.dump(
        dict(data),
        Dumper=_FrontMatterDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 30,
    )
    return f"---\n{text}---\n"
