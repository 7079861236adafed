"""Evidence packs: one zip an auditor can verify offline, with no server and no database.

Contents::

    manifest.json       what was selected (model and its past names, since/until), the seq
                        range, counts, the SHA-256 of every other file, the signing key
    manifest.sig        Ed25519 signature (base64) of manifest.json by the server's key
    public_key.pem      that key's public half; its fingerprint is printed by the verifier
                        to compare with GET /api/v1/audit/public-key
    events.jsonl        the selected events in full: content, prev_hash, hash, one per line
    chain.jsonl         (seq, prev_hash, hash) of EVERY event from the first selected one to
                        the checkpoint that closes the range, selected or not
    checkpoints.jsonl   the signed checkpoints inside that range
    keys/<hex>.pem      the public keys the checkpoints name
    reports/<model>.md  the human-readable report of each model, rebuilt by the verifier

Why this is sound with a model filter: a model's events are scattered through one chain
shared by every model. The pack carries the full content of the selected events and only the
links of the others, so the verifier recomputes the hash of every selected event, checks that
every link joins (the first one to ``anchor``, the hash of the event before the range), and
checks that the last link is the hash a checkpoint signed. A signed hash commits to every
event before it, so no selected event can be altered, dropped from the chain, inserted or
reordered without breaking a hash, a link or a signature, while the other models' events stay
private. What links alone cannot prove is that the filter was applied honestly (a withheld
event is a link, whatever model it is about); the manifest's signature vouches for that, and
``--full`` exports every event of the range in full so nothing rests on it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from charter.audit import chain
from charter.audit.chain import Problem, Row
from charter.audit.report import ModelReport
from charter.audit.schemas import CheckpointView, iso
from charter.audit.signing import Signer

FORMAT = "charter-audit-pack"
EVENT_KEYS = frozenset(chain.CONTENT_KEYS) | {"prev_hash", "hash"}
UNSIGNED = ("manifest.json", "manifest.sig")


@dataclass(frozen=True)
class Selection:
    """What an export asked for; ``names`` are the model's names, past and present."""

    model: str | None = None
    names: tuple[str, ...] = ()
    since: int | None = None
    until: int | None = None
    full_content: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "names": list(self.names),
            "since": iso(self.since) if self.since is not None else None,
            "until": iso(self.until) if self.until is not None else None,
            "full_content": self.full_content,
        }


@dataclass(frozen=True)
class PackSummary:
    path: Path
    events: int
    links: int
    checkpoints: int
    first_seq: int | None
    last_seq: int | None
    fingerprint: str


@dataclass
class PackVerification:
    """What verifying a pack found; event problems come first, in seq order."""

    problems: list[Problem] = field(default_factory=list)
    events: int = 0
    links: int = 0
    checkpoints: int = 0
    fingerprint: str | None = None
    other_keys: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def period_text(selection: Mapping[str, Any]) -> str:
    since, until = selection.get("since"), selection.get("until")
    return (f", since {since}" if since else "") + (f", until {until}" if until else "")


def report_name(model: str) -> str:
    return f"reports/{quote(model, safe=' -_.')}.md"


# -- writing ----------------------------------------------------------------------------------


class _Archive:
    """A zip being written, remembering the SHA-256 of every member for the manifest."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.digests: dict[str, str] = {}

    def write(self, name: str, data: bytes) -> None:
        self.zip.writestr(name, data)
        self.digests[name] = hashlib.sha256(data).hexdigest()

    def write_lines(self, name: str, records: Iterable[Mapping[str, Any]]) -> int:
        """Stream JSON Lines into the zip (memory stays flat); returns how many were written."""
        digest, count = hashlib.sha256(), 0
        with self.zip.open(name, "w") as handle:
            for record in records:
                line = chain.canonical_json(record).encode() + b"\n"
                handle.write(line)
                digest.update(line)
                count += 1
        self.digests[name] = digest.hexdigest()
        return count


def write_pack(
    out: Path,
    signer: Signer,
    selection: Selection,
    *,
    anchor: str | None,
    seq_range: tuple[int, int] | None,
    events: Iterable[Mapping[str, Any]],
    links: Iterable[Row],
    checkpoints: Sequence[CheckpointView],
    created_at: int,
    created_by: str,
) -> PackSummary:
    """Write the pack to a temporary file beside ``out``, then rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        archive = _Archive(partial)
        with archive.zip:
            reports = Reports(selection)
            count = archive.write_lines("events.jsonl", reports.feed(events))
            link_count = archive.write_lines("chain.jsonl", (_link(row) for row in links))
            archive.write_lines("checkpoints.jsonl", (_checkpoint(c) for c in checkpoints))
            archive.write("public_key.pem", signer.public_pem.encode())
            for cp in {c.key_fingerprint: c for c in checkpoints}.values():
                archive.write(key_file(cp.key_fingerprint), cp.public_key.encode())
            period = period_text(selection.as_json())
            for name, text in reports.render(period).items():
                archive.write(name, text.encode())
            manifest = {
                "format": FORMAT,
                "version": 1,
                "created_at": iso(created_at),
                "created_by": created_by,
                "selection": selection.as_json(),
                "range": None
                if seq_range is None
                else {"first_seq": seq_range[0], "last_seq": seq_range[1], "anchor": anchor},
                "counts": {"events": count, "links": link_count, "checkpoints": len(checkpoints)},
                "signing_key": signer.fingerprint,
                "files": dict(sorted(archive.digests.items())),
            }
            raw = chain.canonical_json(manifest).encode()
            archive.zip.writestr("manifest.json", raw)
            archive.zip.writestr("manifest.sig", signer.sign(raw))
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    first, last = seq_range if seq_range else (None, None)
    return PackSummary(out, count, link_count, len(checkpoints), first, last, signer.fingerprint)


class Reports:
    """One report per model: the selected model (under all its names), or each model seen."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.by_name: dict[str, ModelReport] = {}
        if selection.model is not None:
            report = ModelReport(selection.model, selection.names)
            self.by_name = dict.fromkeys((selection.model, *selection.names), report)

    def feed(self, events: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for event in events:
            self.add(event)
            yield event

    def add(self, event: Mapping[str, Any]) -> None:
        model = event.get("model")
        if not isinstance(model, str):
            return
        report = self.by_name.get(model)
        if report is None and self.selection.model is None:
            report = self.by_name[model] = ModelReport(model)
        if report is not None:
            report.add(event)

    def reports(self) -> dict[str, ModelReport]:
        return {report_name(r.model): r for r in self.by_name.values()}

    def render(self, period: str) -> dict[str, str]:
        rendered = {}
        for name, report in sorted(self.reports().items()):
            report.period = period
            rendered[name] = report.render()
        return rendered


def key_file(key_fingerprint: str) -> str:
    return f"keys/{key_fingerprint.removeprefix('sha256:')}.pem"


def _link(row: Row) -> dict[str, Any]:
    return {"seq": row[0], "prev_hash": row[1], "hash": row[2]}


def _checkpoint(cp: CheckpointView) -> dict[str, Any]:
    return {
        "id": cp.id,
        "seq": cp.seq,
        "hash": cp.hash,
        "time": cp.time,
        "key_fingerprint": cp.key_fingerprint,
        "signature": cp.signature,
    }
