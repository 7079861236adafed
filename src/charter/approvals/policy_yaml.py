"""Reading a policy's YAML strictly (no repeated keys, no aliases) and naming the line of
each problem, for ``charter.approvals.policy``."""

from __future__ import annotations

from typing import Any

import yaml

from charter.errors import InvalidArgument


def load(text: str) -> tuple[Any, yaml.Node]:
    """The document's data and its node tree (whose marks give line numbers)."""
    try:
        data, node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else "?"
        raise InvalidArgument(
            f"policy is not valid YAML (line {line}): {exc.problem or exc.context}",
            field="policy",
        ) from exc
    except yaml.reader.ReaderError as exc:
        raise InvalidArgument(
            f"policy is not valid YAML: character #x{exc.character:04x} at position "
            f"{exc.position} is not allowed",
            field="policy",
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"policy is not valid YAML: {exc}", field="policy") from exc
    except RecursionError as exc:
        # PyYAML composes nested collections recursively; no real policy nests this deep.
        raise InvalidArgument("policy is nested too deeply", field="policy") from exc
    if not isinstance(data, dict):
        raise InvalidArgument(
            "policy must be a YAML mapping with the key protected (line 1)", field="policy"
        )
    return data, node


def _compose(text: str) -> tuple[Any, yaml.Node]:
    # The loader reads (and may refuse) characters as soon as it is built: it is built here,
    # inside load's handling of YAML errors.
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidArgument("policy is empty", field="policy")
        _refuse_duplicate_keys(node, set())
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def _refuse_duplicate_keys(node: yaml.Node, visited: set[int]) -> None:
    """PyYAML keeps the last of two equal keys silently; in a policy that hides a mistake.

    YAML aliases (``*name``) are refused too: a policy never needs them, and nested ones can
    make a small document expand into an enormous one.
    """
    if id(node) in visited:
        raise InvalidArgument(
            "policy reuses a value through a YAML anchor and alias (the anchor is on line "
            f"{node.start_mark.line + 1}); write the value out instead",
            field="policy",
        )
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:
                    raise InvalidArgument(
                        f"policy repeats the key {key.value!r} (line {key.start_mark.line + 1})",
                        field="policy",
                    )
                keys.add(key.value)
            _refuse_duplicate_keys(value, visited)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, visited)


# pydantic's wording speaks of Python types; a policy's author thinks in YAML.
_MESSAGES = {
    "missing": "is required",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "string_type": "must be a string",
}


def problem(error: Any, root: yaml.Node, path: tuple[str | int, ...]) -> dict[str, Any]:
    """One pydantic error at ``path`` as the policy's author reads it: field, line, problem."""
    kind = str(error["type"])
    if kind == "extra_forbidden":
        message = f"unknown key {path[-1]!r}"
    else:
        message = _MESSAGES.get(kind, str(error["msg"]).removeprefix("Value error, "))
    return {"field": _dotted(path) or "policy", "line": _line(root, path), "problem": message}


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line(node: yaml.Node, path: tuple[str | int, ...]) -> int:
    """The line of the deepest node of ``path`` that exists (its parent's, for a missing key)."""
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
