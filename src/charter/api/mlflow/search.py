"""MLflow's search grammar for registered models and model versions, compiled to conditions.

``filter`` is a conjunction of comparisons: ``name = 'x'``, ``name LIKE 'a%'``,
``tags.k != "v"``, ``tags.`key with space` = 'v'``, ``run_id IN ('a', 'b')``,
``version_number >= 3``, joined by ``AND``. ``order_by`` items are ``field [ASC|DESC]``.
A lark grammar parses both; the result becomes ``Condition``/``Order`` objects that the
registry repository compiles to SQL, so nothing is filtered in Python after loading.

Quirks of MLflow's parser that are matched: keywords in any case (``and``, ``like``, ``in``),
no spaces needed around ``AND``, values in single or double quotes, ``tag.`` as well as
``tags.``, ``attribute.name``, tag keys in backticks or quotes, ``version_number = '3'``
(a quoted number), ``timestamp`` meaning ``last_updated_timestamp`` when ordering models,
``attribute.`` and backticks in ``order_by``, and MLflow's tie-breakers (models by name;
versions by name, then newest version first).

Prompts (models tagged ``mlflow.prompt.is_prompt``) are left out unless the filter asks for
them, as MLflow's server does.

Where it differs on purpose: a doubled quote inside a string is one quote (``'it''s'``;
MLflow keeps both characters); a filter of only whitespace means no filter (MLflow refuses
it); a trailing ``AND`` is refused (MLflow ignores it); models may also be ordered by
``creation_timestamp`` (MLflow's file store allows it, its SQL store does not); a repeated
``order_by`` field is INVALID_PARAMETER_VALUE (MLflow answers INTERNAL_ERROR); a LIKE pattern
ending in a backslash is refused (PostgreSQL cannot run it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from charter.errors import InvalidArgument
from charter.registry.filters import Condition, Op, Order

Kind = Literal["model", "version"]
Value = str | int | float | tuple[str, ...]

_GRAMMAR = r"""
    filter: comparison (_AND comparison)*

    comparison: field _operator value      -> compare
              | field _IN values           -> in_list
              | field _NOT _IN values      -> not_in_list
    _operator: COMPARATOR | LIKE | ILIKE

    field: NAME                            -> bare_field
         | NAME "." key                    -> qualified_field
    key: KEY                               -> plain_key
       | BACKTICKED                        -> quoted_key
       | STRING                            -> quoted_key

    value: STRING                          -> string
         | INTEGER                         -> integer
         | DECIMAL                         -> decimal
    values: "(" STRING ("," STRING)* ")"

    order: field DIRECTION?
         | BACKTICKED DIRECTION?           -> quoted_order

    COMPARATOR: "!=" | "<=" | ">=" | "=" | "<" | ">"
    LIKE: "like"i
    ILIKE: "ilike"i
    _AND: "and"i
    _IN: "in"i
    _NOT: "not"i
    DIRECTION: "asc"i | "desc"i

    NAME: /[A-Za-z_][A-Za-z0-9_]*/
    KEY: /[\w.\-]+/
    BACKTICKED: /`[^`]*`/
    STRING: /'(?:[^']|'')*'/ | /"(?:[^"]|"")*"/
    INTEGER: /[+-]?\d+/
    DECIMAL: /[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+/

    %import common.WS
    %ignore WS
"""

# One parser per start symbol, so that an error in an order_by lists only what order_by allows.
_PARSERS = {
    start: Lark(_GRAMMAR, start=start, parser="lalr", lexer="contextual")
    for start in ("filter", "order")
}

# Terminals in words, for messages that say what was expected.
_WORDS = {
    "NAME": "a field name",
    "KEY": "a tag key",
    "BACKTICKED": "a `quoted` key",
    "STRING": "a quoted string",
    "INTEGER": "a number",
    "DECIMAL": "a number",
    "COMPARATOR": "a comparison (=, !=, <, <=, >, >=)",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
    "_IN": "IN",
    "_NOT": "NOT IN",
    "_AND": "AND",
    "DIRECTION": "ASC or DESC",
    "DOT": "'.'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "the end",
}
_QUOTES = {"'": "string", '"': "string", "`": "quoted key"}
_ENTITIES = {"attribute": "attribute", "tag": "tag", "tags": "tag"}
_INT64 = 2**63 - 1  # beyond this neither SQLite nor PostgreSQL can compare the value


@dataclass(frozen=True)
class Clause:
    """One parsed comparison, before it is checked against what a resource supports."""

    entity: str  # as written: attribute, tag, tags, or anything else (refused later)
    key: str
    op: Op
    value: Value


@dataclass(frozen=True)
class _Attribute:
    field: str  # the Condition field it compiles to
    ops: frozenset[str]
    numeric: bool = False


_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
_LIST_OPS = frozenset({"IN", "NOT IN"})
_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})

_ATTRIBUTES: dict[Kind, dict[str, _Attribute]] = {
    "model": {"name": _Attribute("name", _STRING_OPS | _LIST_OPS)},
    "version": {
        "name": _Attribute("name", _STRING_OPS | _LIST_OPS),
        "run_id": _Attribute("run_id", _STRING_OPS | _LIST_OPS),
        "source_path": _Attribute("source", _STRING_OPS),
        "version_number": _Attribute("version", _NUMERIC_OPS, numeric=True),
    },
}

_ORDER_KEYS: dict[Kind, dict[str, str]] = {
    "model": {
        "name": "name",
        "timestamp": "updated_at",  # MLflow's SQL store orders `timestamp` by last update
        "last_updated_timestamp": "updated_at",
        "creation_timestamp": "created_at",
    },
    "version": {
        "name": "name",
        "version_number": "version",
        "creation_timestamp": "created_at",
        "last_updated_timestamp": "updated_at",
    },
}

PROMPT_TAG = "mlflow.prompt.is_prompt"  # marks MLflow prompts, kept in the model registry

# MLflow's SQL store orders versions this way when no order_by is given.
DEFAULT_VERSION_ORDER = ("last_updated_timestamp DESC", "name ASC", "version_number DESC")


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


@v_args(inline=True)
class _ToClauses(Transformer[Token, object]):
    """Turns a parse tree into plain values; checking them is left to the compilers below."""

    def filter(self, *clauses: Clause) -> list[Clause]:
        return list(clauses)

    def compare(self, field: tuple[str, str], op: Token, value: Value) -> Clause:
        return Clause(field[0], field[1], cast(Op, str(op).upper()), value)

    def in_list(self, field: tuple[str, str], values: tuple[str, ...]) -> Clause:
        return Clause(field[0], field[1], "IN", values)

    def not_in_list(self, field: tuple[str, str], values: tuple[str, ...]) -> Clause:
        return Clause(field[0], field[1], "NOT IN", values)

    def values(self, *items: Token) -> tuple[str, ...]:
        return tuple(_unquote(str(item)) for item in items)

    def bare_field(self, name: Token) -> tuple[str, str]:
        return "attribute", str(name)

    def qualified_field(self, entity: Token, key: str) -> tuple[str, str]:
        return str(entity), key

    def plain_key(self, key: Token) -> str:
        return str(key)

    def quoted_key(self, key: Token) -> str:
        return _unquote(str(key))

    def string(self, token: Token) -> str:
        return _unquote(str(token))

    def integer(self, token: Token) -> int:
        return int(token)

    def decimal(self, token: Token) -> float:
        return float(token)

    def order(
        self, field: tuple[str, str], direction: Token | None = None
    ) -> tuple[str, str, bool]:
        descending = direction is not None and str(direction).lower() == "desc"
        return field[0], field[1], descending

    def quoted_order(self, name: Token, direction: Token | None = None) -> tuple[str, str, bool]:
        return self.order(("attribute", _unquote(str(name))), direction)


def parse_clauses(text: str) -> list[Clause]:
    """The comparisons of a filter, as written; raises InvalidArgument naming the problem."""
    if "\x00" in text:
        raise InvalidArgument("filter contains a NUL character", field="filter")
    return cast(list[Clause], _parse(text, "filter", "filter"))


def _parse(text: str, start: str, field: str) -> object:
    try:
        tree = _PARSERS[start].parse(text)
    except UnexpectedInput as exc:
        raise InvalidArgument(_describe(exc, text, field), field=field) from exc
    return _ToClauses().transform(tree)


def _describe(exc: UnexpectedInput, text: str, field: str) -> str:
    column = exc.column if isinstance(exc.column, int) and exc.column > 0 else len(text) + 1
    if isinstance(exc, UnexpectedCharacters):
        char = text[column - 1] if column <= len(text) else ""
        if char in _QUOTES and text.count(char, column - 1) % 2 == 1:
            return f"invalid {field} {text!r}: unterminated {_QUOTES[char]} at character {column}"
        expected = _expected(exc.allowed or set())
        return f"invalid {field} {text!r}: unexpected {char!r} at character {column}{expected}"
    if isinstance(exc, UnexpectedToken):
        expected = _expected(exc.expected)
        if exc.token.type == "$END":
            return f"invalid {field} {text!r}: it ends too early{expected}"
        hint = "; only AND can join conditions" if str(exc.token).upper() == "OR" else ""
        return (
            f"invalid {field} {text!r}: unexpected {str(exc.token)!r} at character {column}"
            f"{expected}{hint}"
        )
    return f"invalid {field} {text!r}: {exc}"


def _expected(terminals: set[str] | frozenset[str]) -> str:
    words = sorted({_WORDS.get(t, t) for t in terminals})
    return f"; expected {' or '.join(words)}" if words else ""


def model_conditions(text: str | None) -> list[Condition]:
    """The conditions of a ``search_registered_models`` filter."""
    return _conditions(text, "model")


def version_conditions(text: str | None) -> list[Condition]:
    """The conditions of a ``search_model_versions`` filter."""
    return _conditions(text, "version")


def _conditions(text: str | None, kind: Kind) -> list[Condition]:
    if text is None or not text.strip():
        return _prompt_rule([])
    return _prompt_rule([_condition(clause, kind) for clause in parse_clauses(text)])


def _prompt_rule(conditions: list[Condition]) -> list[Condition]:
    """MLflow keeps prompts (models and versions tagged ``mlflow.prompt.is_prompt = 'true'``)
    out of a search unless the filter asks for them; its client appends
    ``tag.`mlflow.prompt.is_prompt` != 'true'``, a tag ordinary models do not have, so that
    condition is read as "not a prompt" rather than as a tag that must exist."""
    on_tag = [c for c in conditions if c.field == "tag" and c.key == PROMPT_TAG]
    if on_tag and _asks_for_prompts(on_tag[0]):
        return conditions
    rest = [c for c in conditions if c not in on_tag]
    return [*rest, Condition("tag", "=", "true", key=PROMPT_TAG, negate=True)]


def _asks_for_prompts(condition: Condition) -> bool:
    value = str(condition.value).lower()
    return (condition.op == "=" and value == "true") or (condition.op == "!=" and value == "false")


def _condition(clause: Clause, kind: Kind) -> Condition:
    entity = _ENTITIES.get(clause.entity)
    if entity is None:
        raise InvalidArgument(
            f"invalid entity {clause.entity!r} in filter; expected attribute, tag or tags",
            field="filter",
        )
    if entity == "tag":
        return _tag_condition(clause)
    attribute = _ATTRIBUTES[kind].get(clause.key)
    if attribute is None:
        valid = ", ".join(sorted(_ATTRIBUTES[kind]))
        raise InvalidArgument(
            f"invalid attribute {clause.key!r} in filter; {kind}s can be filtered by {valid} "
            "and tags.<key>",
            field="filter",
        )
    if clause.op not in attribute.ops:
        ops = ", ".join(sorted(attribute.ops))
        raise InvalidArgument(
            f"invalid comparator {clause.op} for {clause.key} in filter; expected one of {ops}",
            field="filter",
        )
    value = _number(clause) if attribute.numeric else _text(clause)
    return Condition(attribute.field, clause.op, value)


def _tag_condition(clause: Clause) -> Condition:
    if clause.op not in _STRING_OPS:
        raise InvalidArgument(
            f"invalid comparator {clause.op} for tags.{clause.key} in filter; expected one of "
            f"{', '.join(sorted(_STRING_OPS))}",
            field="filter",
        )
    if not clause.key:
        raise InvalidArgument("a tag key in the filter is empty", field="filter")
    return Condition("tag", clause.op, _text(clause), key=clause.key)


def _text(clause: Clause) -> str | tuple[str, ...]:
    value = clause.value
    if isinstance(value, tuple):
        return value
    if not isinstance(value, str):
        raise InvalidArgument(
            f"expected a quoted string value for {clause.key} in filter, got {value}",
            field="filter",
        )
    if clause.op in ("LIKE", "ILIKE") and (len(value) - len(value.rstrip("\\"))) % 2 == 1:
        raise InvalidArgument(
            f"the {clause.op} pattern for {clause.key} in filter ends with a lone backslash",
            field="filter",
        )
    return value


def _number(clause: Clause) -> int:
    value = clause.value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = int(value)  # MLflow accepts version_number = '3'
    if not isinstance(value, int) or abs(value) > _INT64:
        raise InvalidArgument(
            f"invalid value for {clause.key} in filter: expected an integer, got {value!r}",
            field="filter",
        )
    return value


def model_orders(items: Sequence[str]) -> list[Order]:
    """The ordering of ``search_registered_models``: as given, then by name."""
    return _orders(items, "model", (Order("name"),))


def version_orders(items: Sequence[str]) -> list[Order]:
    """The ordering of ``search_model_versions``: as given, then by name and newest version."""
    return _orders(
        items or DEFAULT_VERSION_ORDER, "version", (Order("name"), Order("version", True))
    )


def _orders(items: Sequence[str], kind: Kind, tiebreaks: Sequence[Order]) -> list[Order]:
    orders: list[Order] = []
    for item in items:
        entity, key, descending = cast(tuple[str, str, bool], _parse(item, "order", "order_by"))
        field = _ORDER_KEYS[kind].get(key) if entity == "attribute" else None
        if field is None:
            valid = ", ".join(sorted(_ORDER_KEYS[kind]))
            raise InvalidArgument(
                f"invalid order_by key {item!r}; {kind}s can be ordered by {valid}",
                field="order_by",
            )
        if any(o.field == field for o in orders):
            raise InvalidArgument(
                f"order_by names the same field twice: {list(items)}", field="order_by"
            )
        orders.append(Order(field, descending))
    orders.extend(t for t in tiebreaks if all(o.field != t.field for o in orders))
    return orders
