"""Evidence packs written from events in memory and verified offline, intact and tampered."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from charter.audit import chain
from charter.audit.pack import Selection, write_pack
from charter.audit.pack_verify import verify_pack
from charter.audit.schemas import CheckpointView
from charter.audit.signing import Signer, checkpoint_statement
from tests.unit.audit.builders import event, link

CREATED = 1_790_000_000_000


def history() -> list[dict[str, Any]]:
    """30 events alternating between two models: fraud has the odd ones."""
    return link(
        [
            event(seq, model=name, resource_name=f"{name}@champion")
            for seq in range(1, 31)
            for name in ["fraud" if seq % 2 else "churn"]
        ]
    )


def checkpoint(signer: Signer, linked: list[dict[str, Any]], seq: int) -> CheckpointView:
    digest = linked[seq - 1]["hash"]
    statement = checkpoint_statement(seq, digest, CREATED, signer.fingerprint)
    return CheckpointView(
        1, seq, digest, CREATED, signer.fingerprint, signer.public_pem, signer.sign(statement)
    )


def make_pack(path: Path, signer: Signer, *, model: str | None = "fraud") -> Path:
    linked = history()
    chosen = [{**e, "v": 1} for e in linked if model is None or e["model"] == model]
    write_pack(
        path,
        signer,
        Selection(model=model, names=(model,) if model else ()),
        anchor=linked[0]["prev_hash"],
        seq_range=(1, 30),
        events=chosen,
        links=[(e["seq"], e["prev_hash"], e["hash"]) for e in linked],
        checkpoints=[checkpoint(signer, linked, 30)],
        created_at=CREATED,
        created_by="auditor",
    )
    return path


def rewrite(path: Path, changes: dict[str, bytes | None]) -> None:
    """Replace (bytes) or remove (None) members of the zip, leaving the rest as they were."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    for name, data in changes.items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)


def lines(path: Path, name: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read(name).splitlines()]


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(chain.canonical_json(r).encode() + b"\n" for r in records)


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def pack(tmp_path: Path, signer: Signer) -> Path:
    return make_pack(tmp_path / "evidence.zip", signer)


def kinds(path: Path, **kwargs: Any) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in verify_pack(path, **kwargs).problems]


class TestIntactPacks:
    def test_a_model_pack_verifies_with_the_other_models_as_links(
        self, pack: Path, signer: Signer
    ) -> None:
        result = verify_pack(pack, expect_fingerprint=signer.fingerprint)
        assert result.problems == []
        assert (result.events, result.links, result.checkpoints) == (15, 30, 1)
        assert result.fingerprint == signer.fingerprint
        assert {e["model"] for e in lines(pack, "events.jsonl")} == {"fraud"}

    def test_it_holds_the_report_the_public_key_and_a_signed_manifest(self, pack: Path) -> None:
        with zipfile.ZipFile(pack) as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("manifest.json"))
        assert {"reports/fraud.md", "public_key.pem", "manifest.sig", "chain.jsonl"} <= names
        assert manifest["range"] == {"first_seq": 1, "last_seq": 30, "anchor": "0" * 64}
        assert manifest["counts"] == {"events": 15, "links": 30, "checkpoints": 1}

    def test_an_unfiltered_pack_has_a_report_per_model(
        self, tmp_path: Path, signer: Signer
    ) -> None:
        path = make_pack(tmp_path / "all.zip", signer, model=None)
        assert verify_pack(path).problems == []
        with zipfile.ZipFile(path) as archive:
            reports = {n for n in archive.namelist() if n.startswith("reports/")}
        assert reports == {"reports/churn.md", "reports/fraud.md"}


class TestTamperedPacks:
    def test_an_edited_event_is_named(self, pack: Path) -> None:
        events = lines(pack, "events.jsonl")
        events[2]["actor"] = "mallory"  # seq 5
        rewrite(pack, {"events.jsonl": jsonl(events)})
        result = verify_pack(pack)
        assert (result.problems[0].seq, result.problems[0].kind) == (5, "modified")
        messages = " ".join(str(p) for p in result.problems)
        assert "events.jsonl was modified after the export" in messages
        assert "reports/fraud.md does not say what the events say" in messages

    def test_a_dropped_event_is_noticed(self, pack: Path) -> None:
        events = lines(pack, "events.jsonl")
        rewrite(pack, {"events.jsonl": jsonl(events[:3] + events[4:])})
        messages = [str(p) for p in verify_pack(pack).problems]
        assert "pack: events.jsonl has 14 events, the manifest 15" in messages

    def test_a_removed_link_is_a_deleted_event(self, pack: Path) -> None:
        links = lines(pack, "chain.jsonl")
        rewrite(pack, {"chain.jsonl": jsonl(links[:11] + links[12:])})
        assert kinds(pack)[0] == (12, "deleted")

    def test_reordered_events(self, pack: Path) -> None:
        events = lines(pack, "events.jsonl")
        events[3], events[4] = events[4], events[3]
        rewrite(pack, {"events.jsonl": jsonl(events)})
        assert (7, "reordered") in kinds(pack)

    def test_an_edited_report(self, pack: Path) -> None:
        with zipfile.ZipFile(pack) as archive:
            text = archive.read("reports/fraud.md").replace(b"mallory", b"x")
        rewrite(pack, {"reports/fraud.md": text.replace(b"alice", b"bob")})
        messages = [str(p) for p in verify_pack(pack).problems]
        assert "pack: reports/fraud.md does not say what the events say (edited)" in messages

    def test_a_pack_re_signed_by_someone_else(self, pack: Path, signer: Signer) -> None:
        forger = Signer.generate()
        with zipfile.ZipFile(pack) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        manifest["signing_key"] = forger.fingerprint
        raw = chain.canonical_json(manifest).encode()
        rewrite(
            pack,
            {
                "manifest.json": raw,
                "manifest.sig": forger.sign(raw).encode(),
                "public_key.pem": forger.public_pem.encode(),
            },
        )
        result = verify_pack(pack, expect_fingerprint=signer.fingerprint)
        messages = [str(p) for p in result.problems]
        assert result.fingerprint == forger.fingerprint
        assert f"pack: signed by {forger.fingerprint}, not the expected {signer.fingerprint}" in (
            messages
        )
        assert "pack: no checkpoint signed with the pack's key closes the range" in messages

    def test_a_forged_checkpoint(self, pack: Path) -> None:
        checkpoints = lines(pack, "checkpoints.jsonl")
        checkpoints[0]["hash"] = "0" * 64
        rewrite(pack, {"checkpoints.jsonl": jsonl(checkpoints)})
        assert (30, "checkpoint") in kinds(pack)

    def test_an_added_file(self, pack: Path) -> None:
        rewrite(pack, {"reports/extra.md": b"# trust me"})
        messages = [str(p) for p in verify_pack(pack).problems]
        assert "pack: reports/extra.md is not part of the signed export" in messages

    def test_not_a_zip(self, tmp_path: Path) -> None:
        path = tmp_path / "junk.zip"
        path.write_bytes(b"junk")
        assert kinds(path) == [(0, "pack")]
