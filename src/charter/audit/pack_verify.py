"""Verifying an evidence pack offline: no server, no database, only the zip (``pack``).

Checks, each reported with what it found: the manifest's signature with the pack's public key
(whose fingerprint the auditor compares with the server's), the digest of every file, the
signature of every checkpoint, the hash of every full event and every link of the chain up to
the checkpoint that closes it, the counts, and that each report says what the events say.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from charter.audit import chain
from charter.audit.chain import Problem, Row
from charter.audit.pack import (
    EVENT_KEYS,
    FORMAT,
    UNSIGNED,
    PackVerification,
    Reports,
    Selection,
    key_file,
    period_text,
)
from charter.audit.signing import checkpoint_statement, fingerprint, load_public_key
from charter.audit.signing import verify as verify_signature


def verify_pack(path: Path, expect_fingerprint: str | None = None) -> PackVerification:
    """Check a pack on its own: signature, file digests, every hash and link, checkpoints,
    counts and reports. Every problem is listed; the first event problem is the first bad
    event."""
    result = PackVerification()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        result.problems.append(Problem(0, "pack", f"{path} is not a readable zip: {exc}"))
        return result
    with archive:
        manifest = _signed_manifest(archive, result, expect_fingerprint)
        if manifest is None:
            return result
        _check_files(archive, manifest, result)
        try:
            vouched = _check_checkpoints(archive, manifest, result)
            _check_chain(archive, manifest, vouched, result)
            _check_reports(archive, manifest, result)
        except (KeyError, TypeError, ValueError) as exc:  # a line or field mangled past parsing
            result.problems.append(Problem(0, "pack", f"malformed content: {exc!r}"))
    events = [p for p in result.problems if p.seq > 0]
    result.problems = sorted(events, key=lambda p: p.seq) + [
        p for p in result.problems if p.seq <= 0
    ]
    return result


def _signed_manifest(
    archive: zipfile.ZipFile, result: PackVerification, expect: str | None
) -> dict[str, Any] | None:
    try:
        raw = archive.read("manifest.json")
        signature = archive.read("manifest.sig").decode("ascii")
        key = load_public_key(archive.read("public_key.pem"))
        manifest: dict[str, Any] = json.loads(raw)
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        result.problems.append(Problem(0, "pack", f"manifest, signature or key unreadable: {exc}"))
        return None
    result.fingerprint = fingerprint(key)
    if not verify_signature(key, raw, signature):
        result.problems.append(
            Problem(0, "pack", "manifest.json does not match its signature (altered)")
        )
    if manifest.get("signing_key") != result.fingerprint:
        result.problems.append(Problem(0, "pack", "manifest names another signing key"))
    if expect is not None and expect != result.fingerprint:
        result.problems.append(
            Problem(0, "pack", f"signed by {result.fingerprint}, not the expected {expect}")
        )
    if manifest.get("format") != FORMAT:
        result.problems.append(Problem(0, "pack", "not a Charter audit pack"))
        return None
    return manifest


def _check_files(
    archive: zipfile.ZipFile, manifest: Mapping[str, Any], result: PackVerification
) -> None:
    listed: dict[str, str] = manifest.get("files") or {}
    present = set(archive.namelist()) - set(UNSIGNED)
    for name in sorted(present - set(listed)):
        result.problems.append(Problem(0, "pack", f"{name} is not part of the signed export"))
    for name, expected in sorted(listed.items()):
        if name not in present:
            result.problems.append(Problem(0, "pack", f"{name} is missing"))
        elif _digest(archive, name) != expected:
            result.problems.append(Problem(0, "pack", f"{name} was modified after the export"))


def _digest(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    if name not in archive.namelist():
        return
    with archive.open(name) as handle:
        for line in io.TextIOWrapper(handle, encoding="utf-8"):
            if line.strip():
                yield json.loads(line)


def _check_checkpoints(
    archive: zipfile.ZipFile, manifest: Mapping[str, Any], result: PackVerification
) -> dict[int, str]:
    """The hashes that checkpoints with a valid signature vouch for."""
    vouched: dict[int, str] = {}
    keys: set[str] = set()
    own: set[int] = set()  # seqs vouched for with the pack's own key
    for cp in _lines(archive, "checkpoints.jsonl"):
        problem = _checkpoint_problem(archive, cp)
        if problem is not None:
            result.problems.append(Problem(int(cp.get("seq") or 0), "checkpoint", problem))
            continue
        result.checkpoints += 1
        keys.add(cp["key_fingerprint"])
        if cp["key_fingerprint"] == result.fingerprint:
            own.add(cp["seq"])
        if vouched.setdefault(cp["seq"], cp["hash"]) != cp["hash"]:
            result.problems.append(Problem(cp["seq"], "checkpoint", "checkpoints disagree"))
    result.other_keys = sorted(keys - {result.fingerprint or ""})
    span = manifest.get("range")
    if span and span["last_seq"] not in own:
        result.problems.append(
            Problem(0, "pack", "no checkpoint signed with the pack's key closes the range")
        )
    return vouched


def _checkpoint_problem(archive: zipfile.ZipFile, cp: Mapping[str, Any]) -> str | None:
    try:
        key = load_public_key(archive.read(key_file(cp["key_fingerprint"])))
        statement = checkpoint_statement(cp["seq"], cp["hash"], cp["time"], cp["key_fingerprint"])
    except (KeyError, ValueError, TypeError) as exc:
        return f"checkpoint {cp.get('id')} is incomplete: {exc}"
    if fingerprint(key) != cp["key_fingerprint"]:
        return f"checkpoint {cp.get('id')} names a key that is not its own"
    if not verify_signature(key, statement, cp["signature"]):
        return f"checkpoint {cp.get('id')}'s signature does not match its content"
    return None


def _check_chain(
    archive: zipfile.ZipFile,
    manifest: Mapping[str, Any],
    vouched: Mapping[int, str],
    result: PackVerification,
) -> None:
    span = manifest.get("range")
    counts = manifest.get("counts") or {}
    merged = _Merged(_lines(archive, "events.jsonl"), result)
    rows = merged.rows(_lines(archive, "chain.jsonl"))
    if span is not None:
        walked = chain.walk(
            rows,
            _HashIndex(archive).seq_of,
            first_seq=span["first_seq"],
            anchor=span["anchor"],
            vouched=vouched,
        )
        result.links = walked.count
        if walked.problem is not None:
            result.problems.append(walked.problem)
        elif walked.last_seq != span["last_seq"]:
            result.problems.append(
                Problem(walked.last_seq + 1, "deleted", f"chain.jsonl ends at {walked.last_seq}")
            )
    for _ in rows:  # pair the events after a failure with their links too
        pass
    merged.finish()
    if result.events != counts.get("events"):
        result.problems.append(
            Problem(
                0,
                "pack",
                f"events.jsonl has {result.events} events, the manifest {counts.get('events')}",
            )
        )


class _Merged:
    """Full events spliced into the chain's links: the walk checks their content too."""

    def __init__(self, events: Iterator[dict[str, Any]], result: PackVerification) -> None:
        self.events = events
        self.result = result
        self.last_seq = 0
        self.pending = self._next()

    def _next(self) -> dict[str, Any] | None:
        event = next(self.events, None)
        if event is None:
            return None
        seq = event.get("seq")
        if set(event) != EVENT_KEYS or not isinstance(seq, int):
            self.result.problems.append(
                Problem(seq if isinstance(seq, int) else 0, "modified", "fields were changed")
            )
        elif seq <= self.last_seq:
            self.result.problems.append(Problem(seq, "reordered", f"event {seq} is out of order"))
        else:
            self.last_seq = seq
        self.result.events += 1
        return event

    def rows(self, links: Iterable[dict[str, Any]]) -> Iterator[Row]:
        for link in links:
            seq = link["seq"]
            while self.pending is not None and _seq(self.pending) < seq:
                self._stray(self.pending)
                self.pending = self._next()
            if self.pending is not None and _seq(self.pending) == seq:
                event, self.pending = self.pending, self._next()
                if (event.get("prev_hash"), event.get("hash")) != (link["prev_hash"], link["hash"]):
                    self.result.problems.append(
                        Problem(
                            seq, "modified", "its hash in events.jsonl differs from the chain's"
                        )
                    )
                yield (*chain.row_of(event)[:-2], link["prev_hash"], link["hash"])
            else:
                yield (seq, link["prev_hash"], link["hash"])

    def finish(self) -> None:
        while self.pending is not None:
            self._stray(self.pending)
            self.pending = self._next()

    def _stray(self, event: Mapping[str, Any]) -> None:
        if _seq(event) < self.last_seq:
            return  # already reported as out of order
        self.result.problems.append(
            Problem(_seq(event), "inserted", "events.jsonl holds an event that is not in the chain")
        )


def _seq(event: Mapping[str, Any]) -> int:
    seq = event.get("seq")
    return seq if isinstance(seq, int) else 0


class _HashIndex:
    """seq by hash over chain.jsonl, built on first use: only a broken chain needs it."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.index: dict[str, int] | None = None

    def seq_of(self, chain_hash: str) -> int | None:
        if self.index is None:
            self.index = {link["hash"]: link["seq"] for link in _lines(self.archive, "chain.jsonl")}
        return self.index.get(chain_hash)


def _check_reports(
    archive: zipfile.ZipFile, manifest: Mapping[str, Any], result: PackVerification
) -> None:
    selection = manifest.get("selection") or {}
    reports = Reports(
        Selection(model=selection.get("model"), names=tuple(selection.get("names") or ()))
    )
    for event in _lines(archive, "events.jsonl"):
        reports.add(event)
    rebuilt = reports.render(period_text(selection))
    present = {n for n in archive.namelist() if n.startswith("reports/")}
    for name in sorted(present | set(rebuilt)):
        if name not in present:
            result.problems.append(Problem(0, "pack", f"{name} is missing"))
        elif name not in rebuilt:
            result.problems.append(Problem(0, "pack", f"{name} is about no exported event"))
        elif archive.read(name).decode("utf-8") != rebuilt[name]:
            result.problems.append(
                Problem(0, "pack", f"{name} does not say what the events say (edited)")
            )
