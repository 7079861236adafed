"""Audit chains built in memory, with the chain's own functions, for the pure tests."""

from __future__ import annotations

from typing import Any

from charter.audit import chain
from charter.audit.chain import GENESIS_HASH, ROW_FIELDS, Row


def event(seq: int, **fields: Any) -> dict[str, Any]:
    """An event's stored fields (``before``/``after`` as parsed values), without its hashes."""
    values: dict[str, Any] = {
        "seq": seq,
        "time": 1_780_000_000_000 + seq * 1000,
        "actor": "alice",
        "actor_kind": "user",
        "actor_token_id": "7",
        "action": "alias.set",
        "resource_type": "alias",
        "resource_id": "1",
        "resource_name": "fraud@champion",
        "model": "fraud",
        "before": {"version": seq},
        "after": {"version": seq + 1},
        "outcome": "success",
        "reason": None,
        "request_id": f"req-{seq}",
        "client_address": "127.0.0.1",
        "user_agent": "pytest",
    }
    values.update(fields)
    return values


def link(events: list[dict[str, Any]], prev: str = GENESIS_HASH) -> list[dict[str, Any]]:
    """The events with ``prev_hash`` and ``hash`` set, hashed the slow (dict) way."""
    linked = []
    for e in events:
        content = chain.content_bytes_of(e)
        digest = chain.chain_hash(prev, content)
        linked.append({**e, "prev_hash": prev, "hash": digest})
        prev = digest
    return linked


def rows(events: list[dict[str, Any]]) -> list[Row]:
    return [chain.row_of(e) for e in events]


def build(count: int, **fields: Any) -> list[Row]:
    """An intact chain of ``count`` events as database rows."""
    return rows(link([event(seq, **fields) for seq in range(1, count + 1)]))


def rehash(table: list[Row], start: int) -> list[Row]:
    """Recompute hashes and links from position ``start`` on, as an attacker would."""
    fixed = list(table[:start])
    prev = fixed[-1][-1] if fixed else GENESIS_HASH
    for row in table[start:]:
        content = chain.content_bytes(row)
        digest = chain.chain_hash(prev, content)
        fixed.append((*row[:-2], prev, digest))
        prev = digest
    return fixed


def with_field(row: Row, name: str, value: Any) -> Row:
    values = list(row)
    values[ROW_FIELDS.index(name)] = value
    return tuple(values)


def no_lookup(_: str) -> int | None:
    return None


def lookup_in(table: list[Row]) -> chain.HashLookup:
    index = {row[-1]: row[0] for row in table}
    return index.get
