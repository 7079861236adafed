"""The human-readable report of one model's audit events (Markdown), for evidence packs.

Built only from the events, so that a verifier can rebuild it from the pack and check that
the report says what the signed events say. It reads the event conventions documented in
``charter.audit``: ``version.create`` carries the source and run in ``after``; ``alias.set`` and
``alias.delete`` name the alias in ``fraud@champion`` and the version in ``after``/``before``;
``stage.transition`` names the version (``fraud/3``) and the stages in ``before``/``after``;
``promotion.*`` events carry the policy and its results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter.audit.schemas import iso

Event = Mapping[str, Any]
CELL_LIMIT = 300


@dataclass
class Holding:
    """A period during which a version held an alias or a stage."""

    kind: str
    label: str
    version: int | None
    entered: Event
    left: Event | None = None
    reason: str = ""


@dataclass
class VersionRecord:
    number: int
    registered: Event | None = None
    finalized: list[Event] = field(default_factory=list)
    deleted: Event | None = None


class ModelReport:
    """Accumulates a model's events (in seq order) and renders them as Markdown."""

    def __init__(self, model: str, names: Sequence[str] = (), period: str = "") -> None:
        self.model = model
        self.names = sorted(set(names) | {model})
        self.period = period
        self.events: list[Event] = []
        self.versions: dict[int, VersionRecord] = {}
        self.holdings: list[Holding] = []
        self.open: dict[tuple[str, str], Holding] = {}

    def add(self, event: Event) -> None:
        self.events.append(event)
        action = str(event["action"])
        if event.get("outcome") != "success":
            return
        if action.startswith("version."):
            self._version_event(action, event)
        elif action in ("alias.set", "alias.delete"):
            self._alias_event(action, event)
        elif action == "stage.transition":
            self._stage_event(event)
        elif action == "model.delete":
            self._close_where(lambda _: True, event, "model deleted")

    def _version_event(self, action: str, event: Event) -> None:
        number = version_of(event)
        if number is None:
            return
        record = self.versions.setdefault(number, VersionRecord(number))
        if action == "version.create":
            record.registered = event
        elif action == "version.finalize":
            record.finalized.append(event)
        elif action == "version.delete":
            record.deleted = event
            self._close_where(lambda h: h.version == number, event, "version deleted")

    def _alias_event(self, action: str, event: Event) -> None:
        name = str(event.get("resource_name") or "")
        label = _value(event, "alias") or name.partition("@")[2]
        current = self.open.get(("alias", label))
        if action == "alias.delete":
            if current is not None:
                self._close(current, event, "alias deleted")
            return
        number = _int(_value(event, "version", prefer="after"))
        if current is not None and current.version == number:
            return
        if current is not None:
            self._close(current, event, f"moved to version {number}")
        self._open(Holding("alias", label, number, event))

    def _stage_event(self, event: Event) -> None:
        number = version_of(event)
        after = event.get("after") or {}
        stage = str(after.get("stage", "None")) if isinstance(after, Mapping) else "None"
        for key, holding in list(self.open.items()):
            if key[0] == "stage" and holding.version == number:
                self._close(holding, event, f"moved to {stage}")
        if stage != "None":
            self._open(Holding("stage", stage, number, event))

    def _open(self, holding: Holding) -> None:
        key = (holding.kind, holding.label if holding.kind == "alias" else f"{holding.version}")
        self.open[key] = holding
        self.holdings.append(holding)

    def _close(self, holding: Holding, event: Event, reason: str) -> None:
        holding.left, holding.reason = event, reason
        self.open = {k: h for k, h in self.open.items() if h is not holding}

    def _close_where(self, match: Any, event: Event, reason: str) -> None:
        for holding in list(self.open.values()):
            if match(holding):
                self._close(holding, event, reason)

    # -- rendering ----------------------------------------------------------------------------

    def render(self) -> str:
        lines = [f"# Audit report: model `{self.model}`", ""]
        if len(self.names) > 1:
            lines += [f"Also known as: {', '.join(f'`{n}`' for n in self.names)}.", ""]
        seqs = [int(e["seq"]) for e in self.events]
        span = f"events {min(seqs)} to {max(seqs)}" if seqs else "no events"
        lines += [f"{len(self.events)} audit events ({span}){self.period}. Times are UTC.", ""]
        lines += self._versions_section()
        lines += self._holdings_section()
        lines += self._promotions_section()
        lines += self._denied_section()
        lines += _table(
            "All events",
            ["Seq", "Time", "Actor", "Action", "Resource", "Outcome"],
            [
                [
                    e["seq"],
                    iso(e["time"]),
                    actor(e),
                    e["action"],
                    e.get("resource_name"),
                    e["outcome"],
                ]
                for e in self.events
            ],
        )
        return "\n".join(lines).rstrip() + "\n"

    def _versions_section(self) -> list[str]:
        lines = ["## Versions", ""]
        if not self.versions:
            return [*lines, "No version events.", ""]
        for number in sorted(self.versions):
            record = self.versions[number]
            lines += [f"### Version {number}", ""]
            lines += _version_facts(record)
            lines.append("")
        return lines

    def _holdings_section(self) -> list[str]:
        rows = [
            [
                h.kind,
                h.label,
                h.version,
                iso(h.entered["time"]),
                actor(h.entered),
                iso(h.left["time"]) if h.left else "still holds it",
                actor(h.left) if h.left else "",
                h.reason,
            ]
            for h in self.holdings
        ]
        header = ["Kind", "Label", "Version", "Entered", "By", "Left", "By", "Why"]
        return _table("Aliases and stages", header, rows, empty="No alias or stage changes.")

    def _promotions_section(self) -> list[str]:
        promotions = [e for e in self.events if str(e["action"]).startswith("promotion.")]
        rows = [
            [
                e["seq"],
                iso(e["time"]),
                actor(e),
                e["action"],
                version_of(e),
                e["outcome"],
                compact(e.get("after") or e.get("before")),
            ]
            for e in promotions
        ]
        header = [
            "Seq",
            "Time",
            "Actor",
            "Action",
            "Version",
            "Outcome",
            "Policy, results, decision",
        ]
        return _table(
            "Promotions: policy evaluations and approvals",
            header,
            rows,
            empty="No `promotion.*` events: no promotion was requested, evaluated or approved.",
        )

    def _denied_section(self) -> list[str]:
        rows = [
            [
                e["seq"],
                iso(e["time"]),
                actor(e),
                e["action"],
                e.get("resource_name"),
                e.get("reason"),
            ]
            for e in self.events
            if e.get("outcome") == "denied"
        ]
        header = ["Seq", "Time", "Actor", "Action", "Resource", "Reason"]
        return _table("Denied attempts", header, rows, empty="No denied attempts.")


def _version_facts(record: VersionRecord) -> list[str]:
    facts: list[str] = []
    if record.registered is not None:
        after = record.registered.get("after") or {}
        facts.append(f"- Registered {_when_who(record.registered)}")
        for key, label in (("source", "Source"), ("run_id", "Run"), ("run_link", "Run link")):
            if isinstance(after, Mapping) and after.get(key):
                facts.append(f"- {label}: `{_cell(after[key])}`")
    for event in record.finalized:
        facts.append(f"- Finalized {_when_who(event)}: {compact(event.get('after'))}")
    if record.deleted is not None:
        facts.append(f"- Deleted {_when_who(record.deleted)}")
    return facts or ["- No registration event in this period."]


def _when_who(event: Event) -> str:
    return f"at {iso(event['time'])} by {actor(event)} (request `{event.get('request_id')}`)"


def actor(event: Event) -> str:
    token = event.get("actor_token_id")
    detail = f"{event.get('actor_kind')}, token {token}" if token else str(event.get("actor_kind"))
    return f"{event.get('actor')} ({detail})"


def version_of(event: Event) -> int | None:
    """The version an event is about: ``version`` in after/before, else ``name/3``."""
    found = _int(_value(event, "version"))
    if found is not None:
        return found
    name = str(event.get("resource_name") or "")
    _, slash, rest = name.partition("/")
    return _int(rest.split("/")[0]) if slash else None


def _value(event: Event, key: str, prefer: str = "after") -> Any:
    order = ("after", "before") if prefer == "after" else ("before", "after")
    for side in order:
        values = event.get(side)
        if isinstance(values, Mapping) and values.get(key) is not None:
            return values[key]
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def compact(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _table(title: str, header: list[str], rows: list[list[Any]], empty: str = "") -> list[str]:
    lines = [f"## {title}", ""]
    if not rows:
        return [*lines, empty or "None.", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]
