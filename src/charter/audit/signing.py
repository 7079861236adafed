"""Ed25519 keys that sign audit checkpoints and evidence packs, and the signed statements.

The key is ``CHARTER_SIGNING_KEY`` (a PEM file) or, when unset, ``<data_dir>/keys/
audit-signing-key.pem``, generated on first use. Generation is race-safe between processes:
the key is written to a private temporary file and hard-linked into place, which fails if
another process got there first; the loser reads the winner's complete file. With several
replicas on several machines, set ``CHARTER_SIGNING_KEY`` to one key on all of them, or each
will sign with its own.

A key is named by its fingerprint: ``sha256:`` and the SHA-256 of the raw 32-byte public key
in hex, short enough to read out over the phone to compare with the server's.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.audit.chain import canonical_json
from charter.config import Settings
from charter.errors import InvalidArgument, Unavailable

DEFAULT_KEY_FILE = Path("keys") / "audit-signing-key.pem"
CHECKPOINT_TYPE = "charter.audit.checkpoint"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InvalidArgument(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidArgument("the public key is not an Ed25519 key")
    return key


def verify(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is the key's signature of ``message``."""
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """The private key of an installation, with its public half precomputed."""

    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    fingerprint: str
    public_pem: str

    @classmethod
    def of(cls, private_key: Ed25519PrivateKey) -> Signer:
        public = private_key.public_key()
        return cls(private_key, public, fingerprint(public), public_pem(public))

    @classmethod
    def generate(cls) -> Signer:
        return cls.of(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")


def checkpoint_statement(seq: int, chain_hash: str, time_ms: int, key_fingerprint: str) -> bytes:
    """The bytes a checkpoint signs: canonical JSON of what it vouches for."""
    statement = {
        "type": CHECKPOINT_TYPE,
        "v": 1,
        "seq": seq,
        "hash": chain_hash,
        "time": time_ms,
        "key_fingerprint": key_fingerprint,
    }
    return canonical_json(statement).encode()


def key_path(settings: Settings) -> Path:
    return settings.signing_key or settings.data_dir / DEFAULT_KEY_FILE


def load_signer(settings: Settings) -> Signer:
    """The installation's signer: the configured key, or the generated one (made if missing)."""
    return _signer_at(str(key_path(settings).resolve()), settings.signing_key is None)


def find_signer(settings: Settings) -> Signer | None:
    """The installation's signer if its key exists; never generates one (for verifiers)."""
    path = key_path(settings).resolve()
    return _signer_at(str(path), False) if path.exists() else None


@lru_cache(maxsize=8)
def _signer_at(path: str, generate: bool) -> Signer:
    # Cached per path: a process signs with the key it found at first use until it restarts.
    location = Path(path)
    if generate and not location.exists():
        _create_key_file(location)
    try:
        data = location.read_bytes()
    except OSError as exc:
        raise Unavailable(f"cannot read the audit signing key {location}: {exc}") from exc
    return Signer.of(_private_key(data, location))


def _private_key(data: bytes, location: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"{location} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidArgument(f"{location} is not an Ed25519 private key")
    return key


def _create_key_file(location: Path) -> None:
    """Write a new key at ``location`` unless another process already has (mode 0600)."""
    location.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = location.with_name(f".{location.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        # A hard link appears complete or not at all, and fails if the name is taken: the
        # O_EXCL of a finished file. The loser of a race simply reads the winner's key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, location)
    finally:
        temporary.unlink(missing_ok=True)
