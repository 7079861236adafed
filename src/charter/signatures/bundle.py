"""Reading and checking an OpenSSF model-signing bundle without the model's files: no I/O here.

A bundle (``model_signing``'s elliptic-key signer writes one) is a Sigstore bundle whose DSSE
envelope carries an in-toto statement; the statement's predicate lists every signed file with
its SHA-256. The server holds no private key and needs no files to check one: it verifies the
ECDSA signature over the envelope with the signer's public key, and compares the listed files
and hashes with the version's manifest. The format, as ``model_signing`` 1.x writes it::

    {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial": {"publicKey": {"hint": "<sha256 of the PEM public key>"}, ...},
     "dsseEnvelope": {"payload": "<base64 statement>",
                      "payloadType": "application/vnd.in-toto+json",
                      "signatures": [{"sig": "<base64 ECDSA>", "keyid": ""}]}}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from charter.errors import InvalidArgument

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
MAX_BUNDLE_BYTES = 512 * 1024
MAX_PUBLIC_KEY_BYTES = 16 * 1024
# The curves model_signing signs with, and the hash each one pairs with.
_CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


@dataclass(frozen=True)
class SignedFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class Bundle:
    """What a bundle says, before anyone has checked that it is true."""

    payload: bytes  # the statement, as signed
    signature: bytes
    key_hint: str | None
    subject_name: str
    subject_digest: str
    files: tuple[SignedFile, ...]


def _invalid(problem: str, **details: Any) -> InvalidArgument:
    return InvalidArgument(f"the bundle {problem}", field="bundle", **details)


def parse_bundle(text: str) -> Bundle:
    """The bundle's statement and signature, or InvalidArgument naming what is malformed."""
    size = len(text.encode())
    if size > MAX_BUNDLE_BYTES:
        # Checked by the caller too (PayloadTooLarge); kept here so no caller can skip it.
        raise _invalid(f"is {size} bytes; the limit is {MAX_BUNDLE_BYTES}")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _invalid(f"is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise _invalid("must be a JSON object (a Sigstore bundle)")
    if document.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise _invalid(
            f"has mediaType {document.get('mediaType')!r}; expected {BUNDLE_MEDIA_TYPE!r} "
            "(an OpenSSF model-signing bundle)"
        )
    envelope = _mapping(document.get("dsseEnvelope"), "dsseEnvelope")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise _invalid(f"dsseEnvelope.payloadType must be {PAYLOAD_TYPE!r}")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise _invalid("dsseEnvelope must carry exactly one signature")
    payload = _base64(envelope.get("payload"), "dsseEnvelope.payload")
    signature = _base64(_mapping(signatures[0], "signature").get("sig"), "signature")
    material = _mapping(document.get("verificationMaterial"), "verificationMaterial")
    hint = _mapping(material.get("publicKey", {}), "verificationMaterial.publicKey").get("hint")
    if hint is not None and not isinstance(hint, str):
        raise _invalid("verificationMaterial.publicKey.hint must be a string")
    return _statement(payload, signature, hint)


def _statement(payload: bytes, signature: bytes, hint: str | None) -> Bundle:
    try:
        statement = json.loads(payload)
    except ValueError as exc:
        raise _invalid(f"payload is not a JSON in-toto statement: {exc}") from exc
    statement = _mapping(statement, "statement")
    if statement.get("_type") != STATEMENT_TYPE:
        raise _invalid(f"statement _type must be {STATEMENT_TYPE!r}")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise _invalid(
            f"statement predicateType is {statement.get('predicateType')!r}; expected "
            f"{PREDICATE_TYPE!r}"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise _invalid("statement must have exactly one subject")
    subject = _mapping(subjects[0], "subject")
    digest = _mapping(subject.get("digest"), "subject.digest").get("sha256")
    predicate = _mapping(statement.get("predicate"), "predicate")
    serialization_ = _mapping(predicate.get("serialization"), "predicate.serialization")
    if serialization_.get("method") != "files" or serialization_.get("hash_type") != "sha256":
        # Shards or another hash cannot be compared with the manifest's per-file SHA-256.
        raise _invalid(
            "must hash whole files with sha256 (model_signing's default serialization); got "
            f"method {serialization_.get('method')!r}, hash_type "
            f"{serialization_.get('hash_type')!r}"
        )
    files = tuple(_resource(r) for r in _list(predicate.get("resources"), "predicate.resources"))
    root = hashlib.sha256(b"".join(bytes.fromhex(f.sha256) for f in files)).hexdigest()
    if digest != root:
        raise _invalid("is inconsistent: its subject digest does not cover the listed files")
    return Bundle(
        payload=payload,
        signature=signature,
        key_hint=hint,
        subject_name=str(subject.get("name", "")),
        subject_digest=root,
        files=files,
    )


def _resource(value: Any) -> SignedFile:
    resource = _mapping(value, "predicate.resources[]")
    name, algorithm, digest = (resource.get(k) for k in ("name", "algorithm", "digest"))
    if not isinstance(name, str) or not name:
        raise _invalid("lists a resource without a name")
    if algorithm != "sha256" or not _is_sha256(digest):
        raise _invalid(f"lists {name!r} without a sha256 digest", path=name)
    return SignedFile(name, str(digest))


def _is_sha256(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"has no JSON object at {where}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"has no list at {where}")
    return value


def _base64(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise _invalid(f"has no base64 text at {where}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(f"{where} is not valid base64") from exc


# --- keys and signatures --------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    key: ec.EllipticCurvePublicKey
    pem: str  # canonical SubjectPublicKeyInfo PEM, as model_signing hashes it for the hint

    @property
    def hint(self) -> str:
        """The SHA-256 of the PEM: what model_signing puts in the bundle to name the key."""
        return hashlib.sha256(self.pem.encode()).hexdigest()

    @property
    def fingerprint(self) -> str:
        return f"sha256:{self.hint}"


def fingerprint(value: str, field: str = "keys") -> str:
    """A key fingerprint as Charter stores it (``sha256:<hex>``), from that form or bare hex."""
    hexdigest = value.strip().lower().removeprefix("sha256:")
    if not _is_sha256(hexdigest):
        raise InvalidArgument(
            f"key fingerprint {value!r} is not sha256:<64 hex digits>", field=field
        )
    return f"sha256:{hexdigest}"


def load_public_key(text: str) -> PublicKey:
    """A PEM elliptic-curve public key on a curve model_signing signs with."""
    if len(text.encode()) > MAX_PUBLIC_KEY_BYTES:
        raise InvalidArgument("public_key is too long to be a PEM public key", field="public_key")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidArgument(
            "public_key is not a PEM public key (-----BEGIN PUBLIC KEY-----)",
            field="public_key",
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVE_HASHES:
        raise InvalidArgument(
            "public_key must be an elliptic-curve key on P-256, P-384 or P-521, as "
            "model_signing's elliptic-key signer uses",
            field="public_key",
        )
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return PublicKey(key, pem)


def pae(payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    return b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def signature_problem(bundle: Bundle, key: PublicKey) -> str | None:
    """Why the bundle's signature does not verify with ``key``, or None when it does."""
    if bundle.key_hint and bundle.key_hint != key.hint:
        return (
            f"the bundle names the key sha256:{bundle.key_hint}, not the given key "
            f"{key.fingerprint}"
        )
    algorithm = _CURVE_HASHES[key.key.curve.name]()
    try:
        key.key.verify(bundle.signature, pae(bundle.payload), ec.ECDSA(algorithm))
    except InvalidSignature:
        return f"the signature does not verify with the key {key.fingerprint}"
    return None


def file_problems(
    signed: Iterable[SignedFile], manifest: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(path, problem) for every file where the signature and the manifest disagree."""
    listed = {f.path: f.sha256 for f in signed}
    problems = []
    for path in sorted(listed.keys() | manifest.keys()):
        if path not in listed:
            problems.append((path, f"file {path!r} of the version is not covered by the bundle"))
        elif path not in manifest:
            problems.append((path, f"the bundle signs {path!r}, which the version does not have"))
        elif listed[path] != manifest[path]:
            problems.append(
                (
                    path,
                    f"file {path!r}: the bundle signs sha256 {listed[path]}, the version's "
                    f"manifest has {manifest[path]}",
                )
            )
    return problems
