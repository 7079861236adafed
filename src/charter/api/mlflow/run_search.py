"""MLflow's filter and order-by language for runs, experiments and logged models.

``metrics.rmse < 0.5 AND params.lr = '0.01' AND tags.`mlflow.runName` LIKE 'x%'`` becomes a
list of ``charter.tracking.filters.Condition`` that the tracking repository compiles to SQL.
Clauses are joined by AND only (MLflow has no OR). An identifier without an entity prefix is an
attribute (``name = 'model'``, as the client writes for logged models).
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from charter.errors import InvalidArgument
from charter.tracking.filters import Condition, Entity, Op, Order, Value

GRAMMAR = r"""
    filter: comparison (_AND comparison)*
    order: field DIRECTION?

    comparison: field COMPARATOR literal    -> compare
              | field _IN values            -> in_
              | field _NOT _IN values       -> not_in
              | field _IS _NULL             -> is_null
              | field _IS _NOT _NULL        -> is_not_null

    field: IDENT                            -> plain_field
         | IDENT "." QUOTED_KEY             -> quoted_field

    values: "(" literal ("," literal)* ","? ")"
    literal: STRING | NUMBER

    COMPARATOR: "<=" | ">=" | "!=" | "<>" | "=" | "<" | ">" | /I?LIKE\b/i
    DIRECTION: /(ASC|DESC)\b/i
    _AND: /AND\b/i
    _IN: /IN\b/i
    _NOT: /NOT\b/i
    _IS: /IS\b/i
    _NULL: /NULL\b/i

    IDENT: /[A-Za-z_][A-Za-z0-9_\-:\/]*(\.[A-Za-z0-9_\-:\/]+)*/
    QUOTED_KEY: /`[^`]*`/ | /"(\\.|[^"\\])*"/
    STRING: /'(\\.|''|[^'\\])*'/ | /"(\\.|[^"\\])*"/
    NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/

    %import common.WS
    %ignore WS
"""

Field = tuple[Entity, str]  # (entity, key) of an identifier such as metrics.rmse

ENTITY_PREFIXES: dict[str, Entity] = {
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "dataset": "dataset",
    "datasets": "dataset",
}


@cache
def _parser(start: str) -> Lark:
    return Lark(GRAMMAR, start=start, parser="lalr", maybe_placeholders=False)


def parse_filter(text: str | None) -> list[Condition]:
    """The conditions of an MLflow filter string; an empty filter has none."""
    if text is None or not text.strip():
        return []
    return cast(list[Condition], _transform(_parse("filter", text, "filter")))


def parse_order_by(clauses: list[str] | None) -> list[Order]:
    """``["metrics.rmse DESC", "start_time"]`` as orderings, in the order given."""
    orders: list[Order] = []
    for clause in clauses or []:
        orders.append(cast(Order, _transform(_parse("order", clause, "order_by"))))
    return orders


def _parse(start: str, text: str, field: str) -> Any:
    try:
        return _parser(start).parse(text)
    except LarkError as exc:
        raise InvalidArgument(f"invalid {field} {text!r}: {_reason(exc)}", field=field) from exc


def _transform(tree: Any) -> Any:
    try:
        return _ToConditions().transform(tree)
    except VisitError as exc:
        # A transformer's own InvalidArgument reaches the caller as itself.
        if isinstance(exc.orig_exc, InvalidArgument):
            raise exc.orig_exc from None
        raise


def _reason(exc: LarkError) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return first_line or type(exc).__name__


def _unquote(token: str) -> str:
    body = token[1:-1]
    if token[0] == "'":
        return body.replace("''", "'").replace("\\'", "'").replace("\\\\", "\\")
    if token[0] == '"':
        return body.replace('\\"', '"').replace("\\\\", "\\")
    return body  # backticks quote keys verbatim


@v_args(inline=True)
class _ToConditions(Transformer[Token, Any]):
    def filter(self, *conditions: Condition) -> list[Condition]:
        return list(conditions)

    def order(self, field: Field, direction: Token | None = None) -> Order:
        descending = direction is not None and direction.upper() == "DESC"
        return Order(field[0], field[1], descending)

    def plain_field(self, ident: Token) -> Field:
        prefix, dot, rest = str(ident).partition(".")
        entity = ENTITY_PREFIXES.get(prefix.lower())
        if dot and entity is not None:
            return entity, rest
        return "attribute", str(ident)

    def quoted_field(self, ident: Token, key: Token) -> Field:
        entity = ENTITY_PREFIXES.get(str(ident).lower())
        if entity is None:
            raise InvalidArgument(
                f"unknown entity {str(ident)!r}: expected metrics, params, tags or attributes",
                field="filter",
            )
        return entity, _unquote(str(key))

    def literal(self, token: Token) -> Value:
        if token.type == "NUMBER":
            number = float(token)
            return int(number) if number.is_integer() and "." not in token else number
        return _unquote(str(token))

    def values(self, *items: Value) -> tuple[str, ...]:
        return tuple(str(v) for v in items)

    def compare(self, field: Field, op: Token, value: Value) -> Condition:
        text = str(op).upper()
        return Condition(field[0], field[1], cast(Op, "!=" if text == "<>" else text), value)

    def in_(self, field: Field, items: tuple[str, ...]) -> Condition:
        return Condition(field[0], field[1], "IN", items)

    def not_in(self, field: Field, items: tuple[str, ...]) -> Condition:
        return Condition(field[0], field[1], "NOT IN", items)

    def is_null(self, field: Field) -> Condition:
        return Condition(field[0], field[1], "IS NULL")

    def is_not_null(self, field: Field) -> Condition:
        return Condition(field[0], field[1], "IS NOT NULL")
