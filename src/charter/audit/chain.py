"""The hash chain of audit events: canonical form, hashing, and the walk that verifies it.

Canonical form (version 1)
--------------------------
An event's *content* is a JSON object with exactly these keys::

    action  actor  actor_kind  actor_token_id  after  before  client_address  model  outcome
    reason  request_id  resource_id  resource_name  resource_type  seq  time  user_agent  v

``v`` is the format version (1). ``seq`` and ``time`` (milliseconds since the epoch, UTC) are
integers; ``resource_id`` is text (an integer id is written in decimal); every other value is
a string or ``null``. ``before`` and ``after`` are the *text* of the canonical JSON of the
values (a JSON string holding JSON), so that where one ends and the next begins never depends
on what a caller put in them: no arrangement of nested keys can move bytes from one field to
another and keep the hash.

``canonical_json`` writes a value as: keys sorted by Unicode code point, no whitespace
(separators ``,`` and ``:``), UTF-8, non-ASCII characters as themselves, and only the escapes
JSON requires (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other control characters as
lowercase ``\\u00XX``). Integers are written as integers; floats as the shortest text that
reads back as the same double (Python's ``repr``: ``0.1``, ``1.0``, ``1e-07``); NaN and
infinities are not JSON, so they are recorded as the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"``.

An event's hash is ``SHA-256(prev_hash || "\\n" || canonical_json(content))`` in lowercase
hex, where ``prev_hash`` is the previous event's hash as 64 hex characters (ASCII) and the
first event's ``prev_hash`` is 64 zeros (``GENESIS_HASH``). ``seq`` is 1, 2, 3 … with no gaps,
and is inside the hashed content, so renumbering, reordering, inserting or deleting events
changes a hash or breaks a link.

``before`` and ``after`` are stored as their canonical text, so the database verifier hashes
the columns as stored (the fast path, ``content_text``, which writes the object by hand
instead of building and sorting a dict) while the pack verifier re-serialises parsed values
(``content_bytes_of``); both give the same bytes for an untouched event, and the unit tests
hold them to it.

Verification
------------
``walk`` streams rows in ``seq`` order and checks, per row, the sequence number, the link to
the previous hash and the recomputed hash. On the first failure ``diagnose`` looks at that row
(and the next) to say what happened: *modified* (content no longer matches its hash, or an
earlier event was rewritten and re-hashed), *deleted* (a gap, or later events renumbered down),
*inserted* (an event that is not part of the original chain, found because the events after it
were renumbered up or do not link to it), or *reordered* (an event that links to an event other
than its predecessor). Rows are tuples in ``ROW_FIELDS`` order; a 3-tuple ``(seq, prev_hash,
hash)`` is a *skeleton* whose content is withheld (evidence packs), checked by its links only.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring  # the C speedup when it is available
from typing import Any

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64

# The columns of an event row, in the order repositories select them and ``walk`` reads them.
ROW_FIELDS = (
    "seq",
    "time",
    "actor",
    "actor_kind",
    "actor_token_id",
    "action",
    "resource_type",
    "resource_id",
    "resource_name",
    "model",
    "before",
    "after",
    "outcome",
    "reason",
    "request_id",
    "client_address",
    "user_agent",
    "prev_hash",
    "hash",
)
CONTENT_KEYS = tuple(sorted([*ROW_FIELDS[:-2], "v"]))
SEQ, TIME, PREV, HASH = 0, 1, -2, -1
BEFORE, AFTER = ROW_FIELDS.index("before"), ROW_FIELDS.index("after")

Row = tuple[Any, ...]
HashLookup = Callable[[str], int | None]  # the seq of the event with this hash, if any
# How many renumbering steps ``diagnose`` tries when it explains a failure (deleted runs).
MAX_SHIFT = 64

_quote: Callable[[str], str] = encode_basestring
_sha256 = hashlib.sha256


def canonical_json(value: Any) -> str:
    """The canonical text of a JSON value (see the module docstring)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def normalise(value: Any) -> Any:
    """A JSON-ready copy of ``value``: mappings with text keys, lists, non-finite floats as text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    raise TypeError(f"audit values must be JSON data, not {type(value).__name__}")


def content_text(row: Row, seq: int | None = None) -> str:
    """The canonical content of a full row (fast path), optionally as if it had another seq.

    Written out by hand in ``CONTENT_KEYS`` order so that a row costs a few string
    concatenations instead of building and sorting a dict; ``tests/unit/audit`` checks it
    against ``canonical_json`` of the same event.
    """
    q = _quote
    r = row
    return (
        f'{{"action":{q(r[5])},"actor":{q(r[2])},"actor_kind":{q(r[3])},'
        f'"actor_token_id":{"null" if r[4] is None else q(r[4])},'
        f'"after":{"null" if r[11] is None else q(r[11])},'
        f'"before":{"null" if r[10] is None else q(r[10])},'
        f'"client_address":{"null" if r[15] is None else q(r[15])},'
        f'"model":{"null" if r[9] is None else q(r[9])},"outcome":{q(r[12])},'
        f'"reason":{"null" if r[13] is None else q(r[13])},'
        f'"request_id":{"null" if r[14] is None else q(r[14])},'
        f'"resource_id":{"null" if r[7] is None else q(r[7])},'
        f'"resource_name":{"null" if r[8] is None else q(r[8])},"resource_type":{q(r[6])},'
        f'"seq":{r[0] if seq is None else seq},"time":{r[1]},'
        f'"user_agent":{"null" if r[16] is None else q(r[16])},"v":{FORMAT_VERSION}}}'
    )


def content_bytes(row: Row, seq: int | None = None) -> bytes:
    return content_text(row, seq).encode()


def event_content(event: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed content of an event given as a mapping of parsed values (packs, tests)."""
    content = {key: event.get(key) for key in CONTENT_KEYS}
    for key in ("before", "after"):
        if content[key] is not None:
            content[key] = canonical_json(content[key])
    content["v"] = FORMAT_VERSION if event.get("v") is None else event["v"]
    return content


def content_bytes_of(event: Mapping[str, Any]) -> bytes:
    """The canonical content of a parsed event (slow path: a dict, sorted by ``json``)."""
    return canonical_json(event_content(event)).encode("utf-8")


def row_of(event: Mapping[str, Any]) -> Row:
    """A full row from a parsed event, with ``before``/``after`` back in canonical text."""
    values = []
    for name in ROW_FIELDS:
        value = event.get(name)
        if name in ("before", "after") and value is not None:
            value = canonical_json(value)
        values.append(value)
    return tuple(values)


def chain_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + content).hexdigest()


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a chain: which event, what kind of tampering, in words."""

    seq: int
    kind: str  # modified | deleted | inserted | reordered | checkpoint | pack
    message: str

    @property
    def is_event(self) -> bool:
        """Whether it names a tampered event (rather than a pack or checkpoint problem)."""
        return self.seq > 0 and self.kind in ("modified", "deleted", "inserted", "reordered")

    def __str__(self) -> str:
        where = f"event {self.seq} " if self.seq > 0 else ""
        return f"{where}{self.kind}: {self.message}"


@dataclass(frozen=True)
class WalkResult:
    count: int  # rows that verified before the first problem (all of them when intact)
    last_seq: int
    last_hash: str
    problem: Problem | None


def walk(
    rows: Iterable[Row],
    lookup: HashLookup,
    *,
    first_seq: int = 1,
    anchor: str = GENESIS_HASH,
    vouched: Mapping[int, str] | None = None,
) -> WalkResult:
    """Verify rows in seq order, stopping at the first problem.

    ``anchor`` is the hash the first row must link to; ``vouched`` maps seqs to the hashes
    that signed checkpoints vouch for, compared as the walk passes them (a whole chain
    rewritten and re-hashed from some event on only shows there).
    """
    pins = sorted((vouched or {}).items())
    pin_index = 0
    next_pin = pins[0][0] if pins else -1
    seq_expected, prev, count = first_seq, anchor, 0
    iterator: Iterator[Row] = iter(rows)
    for row in iterator:
        seq, stored = row[SEQ], row[HASH]
        if (
            seq == seq_expected
            and row[PREV] == prev
            and (len(row) == 3 or _verifies(row, prev, seq))
        ):
            while next_pin != -1 and next_pin <= seq:
                if next_pin == seq and pins[pin_index][1] != stored:
                    return WalkResult(count, seq - 1, prev, _rewritten(seq))
                pin_index += 1
                next_pin = pins[pin_index][0] if pin_index < len(pins) else -1
            prev, seq_expected, count = stored, seq_expected + 1, count + 1
            continue
        problem = diagnose(row, next(iterator, None), seq_expected, prev, lookup)
        return WalkResult(count, seq_expected - 1, prev, problem)
    return WalkResult(count, seq_expected - 1, prev, None)


def _rewritten(seq: int) -> Problem:
    return Problem(
        seq,
        "modified",
        "the chain up to this event was rewritten and re-hashed: its hash differs from the one "
        "a signed checkpoint vouches for",
    )


def _verifies(row: Row, prev: str, seq: int) -> bool:
    if len(row) == 3:
        return False
    try:
        # One encode of prefix and content together: this is the verifier's inner loop.
        return bool(_sha256(f"{prev}\n{content_text(row, seq)}".encode()).hexdigest() == row[HASH])
    except (TypeError, UnicodeError):  # a column was set to a value of the wrong type
        return False


def _written_as(row: Row, linked: int | None) -> int | None:
    """The seq the row had when it was hashed: after the event it links to, or renumbered."""
    if linked is not None and _verifies(row, row[PREV], linked + 1):
        return linked + 1
    if row[PREV] == GENESIS_HASH and _verifies(row, row[PREV], 1):
        return 1
    for shift in range(MAX_SHIFT + 1):
        for candidate in (row[SEQ] - shift, row[SEQ] + shift):
            if candidate > 0 and _verifies(row, row[PREV], candidate):
                return int(candidate)
    return None


def diagnose(
    row: Row, following: Row | None, expected: int, prev: str, lookup: HashLookup
) -> Problem:
    """Why ``row`` (expected to be event ``expected``, linking to ``prev``) failed."""
    seq = row[SEQ]
    if seq > expected:
        missing = (
            f"events {expected}..{seq - 1} are" if seq - 1 > expected else f"event {expected} is"
        )
        return Problem(expected, "deleted", f"{missing} missing (the next event present is {seq})")
    if seq < expected:
        return Problem(seq, "reordered", f"event {seq} appears again after event {expected - 1}")
    linked = lookup(row[PREV]) if row[PREV] != prev else seq - 1
    original = _written_as(row, linked)
    if original is None:
        if following is not None and following[PREV] == prev and _verifies(following, prev, seq):
            return Problem(
                seq,
                "inserted",
                f"event {seq} is not part of the chain: the event after it links to event "
                f"{seq - 1} and was written as event {seq}",
            )
        return Problem(seq, "modified", "its content no longer matches its hash")
    if original > seq:
        if linked is not None:
            return Problem(seq, "reordered", f"this event was written as event {original}")
        return Problem(
            seq,
            "deleted",
            f"the event(s) before this one were deleted and the rest renumbered "
            f"(this event was written as event {original})",
        )
    if original < seq:
        return Problem(
            original,
            "inserted",
            f"events {original}..{seq - 1} are not part of the chain: event {seq} was written "
            f"as event {original}, after the events were renumbered to make room",
        )
    if linked is None:
        return Problem(
            seq - 1,
            "modified",
            f"event {seq - 1} was rewritten and re-hashed: event {seq} links to a hash that no "
            "event has any more",
        )
    return Problem(
        seq - 1,
        "reordered",
        f"event {seq} was written after the event now at seq {linked}, not after event {seq - 1}",
    )
