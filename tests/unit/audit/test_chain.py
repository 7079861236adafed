"""The canonical form, the hash chain, and how a walk names the first tampered event."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

from charter.audit import chain
from charter.audit.chain import GENESIS_HASH, Problem, Row
from tests.unit.audit.builders import (
    build,
    event,
    link,
    lookup_in,
    no_lookup,
    rehash,
    rows,
    with_field,
)

AWKWARD = ['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "€", "😀", "\u2028", "</", "a b"]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice([*AWKWARD, "x", "Z", "7"]) for _ in range(rng.randint(0, 12)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 7 if depth < 3 else 4)
    scalars: list[Any] = [
        None,
        True,
        rng.randint(-(2**62), 2**62),
        rng.choice([0.1, 1.0, -0.0, 1e-07, 1e16, 123.456, 2.5e-300]),
        random_text(rng),
    ]
    if kind <= 4:
        return scalars[kind]
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def problem_of(table: list[Row], **kwargs: Any) -> Problem | None:
    return chain.walk(table, lookup_in(table), **kwargs).problem


def first_bad(table: list[Row], **kwargs: Any) -> tuple[int, str] | None:
    """The first tampered event's seq and the kind of tampering, as a walk names them."""
    problem = problem_of(table, **kwargs)
    return None if problem is None else (problem.seq, problem.kind)


class TestCanonicalForm:
    def test_the_fast_path_writes_the_same_bytes_as_sorted_json(self) -> None:
        rng = random.Random(20261129)
        for seq in range(1, 400):
            fields = {
                name: random_text(rng) if rng.random() < 0.8 else None
                for name in ("actor_token_id", "client_address", "model", "reason", "user_agent")
            }
            source = event(
                seq,
                actor=random_text(rng),
                resource_name=random_text(rng),
                before={"v": random_value(rng)} if rng.random() < 0.7 else None,
                after={random_text(rng): random_value(rng)},
                **fields,
            )
            row = chain.row_of(chain.normalise(source))
            assert chain.content_bytes(row) == chain.content_bytes_of(chain.normalise(source))

    def test_bytes_are_sorted_compact_utf8_with_nested_json_as_text(self) -> None:
        content = chain.content_bytes_of(event(3, actor="zoë", after={"b": 1, "a": [1.5, None]}))
        text = content.decode("utf-8")
        assert text.startswith('{"action":"alias.set","actor":"zoë","actor_kind":"user",')
        assert '"after":"{\\"a\\":[1.5,null],\\"b\\":1}"' in text
        assert text.endswith(',"seq":3,"time":1780000003000,"user_agent":"pytest","v":1}')
        assert list(json.loads(text)) == sorted(chain.CONTENT_KEYS)

    def test_the_hash_covers_the_previous_hash_and_the_content(self) -> None:
        content = chain.content_bytes_of(event(1))
        expected = hashlib.sha256(GENESIS_HASH.encode() + b"\n" + content).hexdigest()
        assert chain.chain_hash(GENESIS_HASH, content) == expected
        assert chain.chain_hash("1" * 64, content) != expected

    def test_non_finite_floats_and_tuples_become_json(self) -> None:
        value = {"nan": float("nan"), "inf": float("inf"), "ninf": -float("inf"), "t": (1, 2)}
        assert chain.normalise(value) == {
            "nan": "NaN",
            "inf": "Infinity",
            "ninf": "-Infinity",
            "t": [1, 2],
        }

    def test_other_python_objects_are_refused(self) -> None:
        with pytest.raises(TypeError, match="JSON data"):
            chain.normalise({"when": object()})

    def test_bytes_cannot_move_between_before_and_after(self) -> None:
        # A nested key named like the next field must not let an attacker re-split the text.
        original = event(1, after={"k": 1, "before": 2}, before={"x": 1})
        table = rows(link([original]))
        moved = with_field(table[0], "after", '{"k":1')
        moved = with_field(moved, "before", '2},"before":{"x":1}')
        assert first_bad([moved]) == (1, "modified")


class TestIntactChains:
    def test_a_walk_counts_every_event_and_ends_at_the_last_hash(self) -> None:
        table = build(50)
        result = chain.walk(table, no_lookup)
        assert (result.count, result.last_seq, result.last_hash) == (50, 50, table[-1][-1])
        assert result.problem is None

    def test_skeleton_rows_are_checked_by_their_links(self) -> None:
        table = build(20)
        mixed = [row if row[0] % 3 == 0 else (row[0], row[-2], row[-1]) for row in table]
        assert chain.walk(mixed, no_lookup).problem is None

    def test_a_slice_verifies_from_its_anchor(self) -> None:
        table = build(30)
        result = chain.walk(table[9:], no_lookup, first_seq=10, anchor=table[8][-1])
        assert result.problem is None
        assert result.count == 21

    def test_hashes_vouched_for_by_checkpoints_must_match(self) -> None:
        table = build(30)
        assert chain.walk(table, no_lookup, vouched={10: table[9][-1]}).problem is None
        assert first_bad(table, vouched={10: "e" * 64}) == (10, "modified")


class TestTampering:
    """Each kind of tampering an attacker with write access could do, and what a walk says."""

    def test_an_edited_field(self) -> None:
        table = build(30)
        table[9] = with_field(table[9], "actor", "mallory")
        assert first_bad(table) == (10, "modified")

    def test_an_edited_event_re_hashed_on_its_own(self) -> None:
        table = build(30)
        edited = with_field(table[9], "after", '{"version":99}')
        table[9] = rehash([*table[:9], edited], 9)[9]
        problem = problem_of(table)
        assert problem is not None
        assert (problem.seq, problem.kind) == (10, "modified")
        assert "re-hashed" in problem.message

    def test_a_rewritten_tail_is_caught_by_a_checkpoint(self) -> None:
        table = build(30)
        vouched = {20: table[19][-1]}
        table[9] = with_field(table[9], "outcome", "denied")
        table = rehash(table, 9)
        assert chain.walk(table, no_lookup).problem is None  # links alone cannot tell
        assert first_bad(table, vouched=vouched) == (20, "modified")

    def test_a_deleted_event_leaves_a_gap(self) -> None:
        table = build(30)
        del table[9]
        assert first_bad(table) == (10, "deleted")

    def test_a_deleted_event_hidden_by_renumbering(self) -> None:
        table = build(30)
        renumbered = [with_field(row, "seq", row[0] - 1) for row in table[10:]]
        table = [*table[:9], *renumbered]
        assert first_bad(table) == (10, "deleted")

    def test_an_inserted_event_with_a_valid_hash(self) -> None:
        table = build(30)
        forged = rows(link([event(10, actor="mallory")], prev=table[8][-1]))[0]
        shifted = [with_field(row, "seq", row[0] + 1) for row in table[9:]]
        table = [*table[:9], forged, *shifted]
        assert first_bad(table) == (10, "inserted")

    def test_an_inserted_event_with_a_made_up_hash(self) -> None:
        table = build(30)
        forged = (*chain.row_of(event(10, actor="mallory"))[:-2], table[8][-1], "f" * 64)
        shifted = [with_field(row, "seq", row[0] + 1) for row in table[9:]]
        table = [*table[:9], forged, *shifted]
        assert first_bad(table) == (10, "inserted")

    def test_two_events_swapped(self) -> None:
        table = build(30)
        a, b = table[9], table[19]
        table[9], table[19] = with_field(b, "seq", 10), with_field(a, "seq", 20)
        assert first_bad(table) == (10, "reordered")

    def test_two_neighbours_swapped(self) -> None:
        table = build(30)
        a, b = table[9], table[10]
        table[9], table[10] = with_field(b, "seq", 10), with_field(a, "seq", 11)
        assert first_bad(table) == (10, "reordered")

    def test_a_column_set_to_the_wrong_type(self) -> None:
        table = build(5)
        table[2] = with_field(table[2], "actor", None)
        assert first_bad(table) == (3, "modified")

    def test_the_first_event_removed(self) -> None:
        table = build(5)[1:]
        assert first_bad(table) == (1, "deleted")
