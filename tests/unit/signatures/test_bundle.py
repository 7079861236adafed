"""Reading a model-signing bundle: each malformed part is refused with a message naming it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from charter.errors import InvalidArgument
from charter.signatures.bundle import (
    BUNDLE_MEDIA_TYPE,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    SignedFile,
    file_problems,
    fingerprint,
    parse_bundle,
)

DIGESTS = {"a.bin": "ab" * 32, "b/c.txt": "cd" * 32}


def statement(**changes: Any) -> dict[str, Any]:
    resources = [{"name": n, "algorithm": "sha256", "digest": d} for n, d in DIGESTS.items()]
    root = hashlib.sha256(b"".join(bytes.fromhex(d) for d in DIGESTS.values())).hexdigest()
    document = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "m", "digest": {"sha256": root}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False},
            "resources": resources,
        },
    }
    document.update(changes)
    return document


def bundle(payload: dict[str, Any] | bytes | None = None, **changes: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload or statement()).encode()
    document: dict[str, Any] = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": "00" * 32}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(raw).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(b"sig").decode(), "keyid": ""}],
        },
    }
    document.update(changes)
    return json.dumps(document)


def test_a_well_formed_bundle_lists_its_files() -> None:
    parsed = parse_bundle(bundle())
    assert parsed.files == tuple(SignedFile(n, d) for n, d in DIGESTS.items())
    assert parsed.key_hint == "00" * 32


def _shards(s: dict[str, Any]) -> None:
    s["predicate"]["serialization"]["method"] = "shards"


def _other_root(s: dict[str, Any]) -> None:
    s["subject"][0]["digest"]["sha256"] = "00" * 32


def _blake(s: dict[str, Any]) -> None:
    s["predicate"]["resources"][0]["algorithm"] = "blake2"


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: "[]", "JSON object"),
        (lambda: bundle(mediaType="x"), "mediaType"),
        (lambda: bundle(dsseEnvelope=None), "dsseEnvelope"),
        (lambda: bundle(b"not json"), "in-toto statement"),
        (lambda: bundle(statement(predicateType="https://example/other")), "predicateType"),
        (lambda: bundle(statement(subject=[])), "one subject"),
        (lambda: bundle(statement(_type="x")), "_type"),
    ],
    ids=["array", "media-type", "no-envelope", "payload", "predicate", "subject", "type"],
)
def test_malformed_parts_are_named(make: Callable[[], str], named: str) -> None:
    with pytest.raises(InvalidArgument, match=named):
        parse_bundle(make())


@pytest.mark.parametrize(
    ("change", "named"),
    [(_shards, "whole files"), (_other_root, "inconsistent"), (_blake, "a.bin")],
    ids=["shards", "root-digest", "algorithm"],
)
def test_statements_charter_cannot_compare_are_refused(
    change: Callable[[dict[str, Any]], None], named: str
) -> None:
    document = statement()
    change(document)
    with pytest.raises(InvalidArgument, match=named):
        parse_bundle(bundle(document))


def test_an_envelope_that_is_not_base64() -> None:
    document = json.loads(bundle())
    document["dsseEnvelope"]["payload"] = "%%%"
    with pytest.raises(InvalidArgument, match="payload is not valid base64"):
        parse_bundle(json.dumps(document))


def test_file_problems_name_each_file() -> None:
    signed = [SignedFile("a", "11" * 32), SignedFile("b", "22" * 32)]
    manifest = {"a": "11" * 32, "b": "33" * 32, "c": "44" * 32}
    assert [p for p, _ in file_problems(signed, manifest)] == ["b", "c"]
    assert file_problems(signed, {"a": "11" * 32, "b": "22" * 32}) == []


def test_fingerprints_are_normalised() -> None:
    assert fingerprint("SHA256:" + "AB" * 32) == "sha256:" + "ab" * 32
    with pytest.raises(InvalidArgument, match="not sha256"):
        fingerprint("md5:abc")
