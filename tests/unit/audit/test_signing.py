"""Checkpoint signing keys: fingerprints, signatures, and race-safe generation on first use."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from charter.audit import signing
from charter.audit.signing import Signer
from charter.config import Settings
from charter.errors import InvalidArgument, Unavailable


def _load_in_child(data_dir: str, queue: multiprocessing.Queue[str]) -> None:
    queue.put(signing.load_signer(Settings(data_dir=Path(data_dir))).fingerprint)


class TestSignatures:
    def test_fingerprint_is_the_sha256_of_the_raw_public_key(self) -> None:
        signer = Signer.generate()
        raw = signer.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        assert signer.fingerprint == "sha256:" + hashlib.sha256(raw).hexdigest()

    def test_a_signature_verifies_only_for_its_message_and_key(self) -> None:
        signer, other = Signer.generate(), Signer.generate()
        signature = signer.sign(b"statement")
        public = signing.load_public_key(signer.public_pem)
        assert signing.verify(public, b"statement", signature)
        assert not signing.verify(public, b"statement!", signature)
        assert not signing.verify(other.public_key, b"statement", signature)
        assert not signing.verify(public, b"statement", "not base64!")

    def test_a_checkpoint_statement_is_canonical_json_of_what_it_vouches_for(self) -> None:
        statement = signing.checkpoint_statement(12, "ab" * 32, 1_780_000_000_000, "sha256:00")
        assert json.loads(statement) == {
            "type": "charter.audit.checkpoint",
            "v": 1,
            "seq": 12,
            "hash": "ab" * 32,
            "time": 1_780_000_000_000,
            "key_fingerprint": "sha256:00",
        }
        assert statement.startswith(b'{"hash":')

    def test_a_public_key_of_another_algorithm_is_refused(self) -> None:
        pem = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        with pytest.raises(InvalidArgument, match="not an Ed25519"):
            signing.load_public_key(pem)


class TestKeyFiles:
    def test_a_key_is_generated_under_the_data_dir_with_mode_0600(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)
        signer = signing.load_signer(settings)
        path = tmp_path / "keys" / "audit-signing-key.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        found = signing.find_signer(settings)
        assert found is not None
        assert found.fingerprint == signer.fingerprint
        assert not list(path.parent.glob(".*"))  # no temporary file left behind

    def test_verifiers_never_generate_a_key(self, tmp_path: Path) -> None:
        assert signing.find_signer(Settings(data_dir=tmp_path)) is None
        assert not (tmp_path / "keys").exists()

    def test_processes_starting_together_share_one_key(self, tmp_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[str] = context.Queue()
        workers = [
            context.Process(target=_load_in_child, args=(str(tmp_path), queue)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        fingerprints = {queue.get(timeout=120) for _ in workers}
        for worker in workers:
            worker.join(timeout=120)
        assert len(fingerprints) == 1
        assert fingerprints == {signing.load_signer(Settings(data_dir=tmp_path)).fingerprint}

    def test_the_configured_key_is_used(self, tmp_path: Path) -> None:
        signer = Signer.generate()
        path = tmp_path / "key.pem"
        path.write_bytes(
            signer.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        loaded = signing.load_signer(Settings(data_dir=tmp_path / "data", signing_key=path))
        assert loaded.fingerprint == signer.fingerprint
        assert not (tmp_path / "data").exists()

    def test_a_missing_configured_key_is_an_error_not_a_new_key(self, tmp_path: Path) -> None:
        with pytest.raises(Unavailable, match="cannot read"):
            signing.load_signer(Settings(data_dir=tmp_path, signing_key=tmp_path / "nope.pem"))
        assert not (tmp_path / "nope.pem").exists()

    def test_a_configured_key_that_is_not_ed25519_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "ec.pem"
        path.write_bytes(
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        with pytest.raises(InvalidArgument, match="not an Ed25519"):
            signing.load_signer(Settings(data_dir=tmp_path, signing_key=path))
