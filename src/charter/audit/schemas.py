"""Shapes of the audit trail: the values its service returns and the API's view of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer

from charter.audit.chain import FORMAT_VERSION, ROW_FIELDS, Row
from charter.errors import InvalidArgument


def iso(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with ``Z``, as the native API writes times."""
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


Timestamp = Annotated[int, PlainSerializer(iso, return_type=str, when_used="json")]


def parse_instant(text: str, *, field: str, end_of_day: bool = False) -> int:
    """An ISO 8601 date or time as milliseconds since the epoch; without a zone it is UTC.

    A bare date is its first millisecond, or with ``end_of_day`` the first of the next day
    (so ``--until 2026-03-31`` includes all of the 31st).
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return _ms(start + timedelta(days=1) if end_of_day else start)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidArgument(
            f"{field} {text!r} is not an ISO 8601 date or time (e.g. 2026-03-31 or "
            "2026-03-31T14:00:00Z)",
            field=field,
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _ms(moment)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    # Integer arithmetic: a float timestamp times 1000 can land one millisecond short.
    return (moment - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class AuditEventView:
    """One audit event as a plain value, with ``before``/``after`` parsed."""

    seq: int
    time: int
    actor: str
    actor_kind: str
    actor_token_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    resource_name: str | None
    model: str | None
    before: Any
    after: Any
    outcome: str
    reason: str | None
    request_id: str | None
    client_address: str | None
    user_agent: str | None
    prev_hash: str
    hash: str

    @classmethod
    def of_row(cls, row: Row) -> AuditEventView:
        values = dict(zip(ROW_FIELDS, row, strict=True))
        for name in ("before", "after"):
            if values[name] is not None:
                values[name] = json.loads(values[name])
        return cls(**values)

    def as_record(self) -> dict[str, Any]:
        """The event as a JSON object: its hashed content plus ``prev_hash`` and ``hash``."""
        record = {name: getattr(self, name) for name in ROW_FIELDS}
        record["v"] = FORMAT_VERSION
        return record


@dataclass(frozen=True)
class AuditFilter:
    """Which events a query wants; every field that is set must match."""

    resource: str | None = None  # the resource's name, e.g. fraud/3 or fraud@champion
    resource_type: str | None = None
    model: str | None = None
    models: tuple[str, ...] | None = None  # any of these (a model under its past names)
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in '.*' (alias.*)
    outcome: str | None = None
    since: int | None = None  # ms, inclusive
    until: int | None = None  # ms, exclusive


@dataclass(frozen=True)
class CheckpointView:
    id: int
    seq: int
    hash: str
    time: int
    key_fingerprint: str
    public_key: str
    signature: str


# An audit event as the API returns it.
class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    time: Timestamp
    actor: str
    actor_kind: str
    actor_token_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    resource_name: str | None
    model: str | None
    before: Any
    after: Any
    outcome: str
    reason: str | None
    request_id: str | None
    client_address: str | None
    user_agent: str | None
    prev_hash: str
    hash: str


# One page of audit events, newest first.
class AuditPage(BaseModel):
    events: list[AuditEventRead]
    next_page_token: str | None


# A signed checkpoint of the chain head; ``signature`` is base64 Ed25519 over the statement.
class CheckpointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int
    hash: str
    time: Timestamp
    key_fingerprint: str
    public_key: str
    signature: str


# One page of checkpoints, newest first.
class CheckpointPage(BaseModel):
    checkpoints: list[CheckpointRead]
    next_page_token: str | None


# The public half of the key that signs checkpoints, to compare and to verify with.
class PublicKeyRead(BaseModel):
    algorithm: str = "Ed25519"
    fingerprint: str
    pem: str
