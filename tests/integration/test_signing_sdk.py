"""The SDK signs on the client and verifies with model_signing over what it downloads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.client import Client, Conflict, InvalidArgument
from tests.factories.signatures import ec_keypair, write_files

FILES = {"MLmodel": b"flavors: {}\n", "data/weights.bin": bytes(range(200)) * 50}


@pytest.fixture
def client(http: TestClient) -> Iterator[Client]:
    with Client(http_client=http) as sdk:
        yield sdk


@pytest.fixture
def version(client: Client, tmp_path: Path) -> str:
    client.create_model("fraud")
    return client.register_version_from_dir("fraud", write_files(tmp_path / "m", FILES)).ref


class TestSignVersion:
    def test_signs_and_verifies_with_the_given_public_key(
        self, client: Client, version: str, tmp_path: Path
    ) -> None:
        private, public = ec_keypair(tmp_path / "keys")
        signature = client.sign_version(version, private)
        expected = "sha256:" + hashlib.sha256(public.read_bytes()).hexdigest()
        assert (signature.version, signature.key_fingerprint) == (1, expected)
        assert client.list_signatures("fraud/1") == [signature]

        checked = client.verify_signatures(version, public_key=public, require_signature=True)
        assert (checked.ok, checked.signed, checked.pinned_key) == (True, True, expected)
        assert [s.ok for s in checked.signatures] == [True]
        report = client.check_signatures(version)
        assert (report.ok, report.signed, report.files_checked) == (True, True, 2)

    def test_a_pending_version_or_a_non_ec_key_is_refused_before_anything_is_sent(
        self, client: Client, tmp_path: Path
    ) -> None:
        client.create_model("fraud")
        pending = client.create_version("fraud", await_upload=True)
        private, _ = ec_keypair(tmp_path / "keys")
        with pytest.raises(Conflict, match="PENDING_REGISTRATION"):
            client.sign_version(pending, private)
        with pytest.raises(InvalidArgument, match="not a PEM private key"):
            client.sign_version(pending, tmp_path / "keys" / "key.pub.pem")
        assert client.list_signatures(pending) == []


class TestVerifySignatures:
    def test_unsigned_passes_unless_a_signature_is_required(
        self, client: Client, version: str
    ) -> None:
        assert client.verify_signatures(version).ok is True
        required = client.verify_signatures(version, require_signature=True)
        assert (required.ok, required.problems) == (False, ["version fraud/1 is not signed"])

    def test_a_file_altered_in_the_store_is_named(
        self, client: Client, version: str, tmp_path: Path, state: AppState
    ) -> None:
        private, public = ec_keypair(tmp_path / "keys")
        client.sign_version(version, private)
        blob = state.blobs.local_path(hashlib.sha256(FILES["data/weights.bin"]).hexdigest())
        assert blob is not None
        blob.chmod(0o644)
        blob.write_bytes(bytes(reversed(FILES["data/weights.bin"])))
        checked = client.verify_signatures(version, public_key=public)
        assert checked.ok is False
        assert "weights.bin" in checked.problems[0]
        report = client.check_signatures(version)
        assert [p.path for p in report.file_problems] == ["data/weights.bin"]


class TestCards:
    def test_texts_and_card(self, client: Client, version: str) -> None:
        client.update_model_card_fields("fraud", {"limitations": "Only EU data."})
        fields = client.update_version_card_fields(version, {"intended_use": "Card scoring."})
        assert fields.effective == {"limitations": "Only EU data.", "intended_use": "Card scoring."}
        assert client.get_model_card_fields("fraud").fields == {"limitations": "Only EU data."}
        assert client.get_version_card_fields(version) == fields
        card = client.get_card("fraud/1")
        assert card.startswith("---\n")
        assert "Card scoring." in card
        data = client.get_card_data(version)
        assert [s.key for s in data.sections][:3] == ["model_details", "uses", "risks"]
