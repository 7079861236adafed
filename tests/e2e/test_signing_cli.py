"""Signing, verifying and model cards from the ``charter`` command line against a real server,
and the proof that a Charter signature verifies with model_signing's own CLI, outside Charter."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_cli import ok, ok_json, one_error_line, run
from tests.factories.signatures import ec_keypair, write_files
from tests.support.server import CHARTER, CharterServer, running_server

pytestmark = pytest.mark.e2e

MODEL_SIGNING = CHARTER.with_name("model_signing")
FILES = {
    "MLmodel": b"flavors: {}\n",
    "model/weights.bin": os.urandom(300_000),
    ".gitignore": b"*.tmp\n",
}


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterServer]:
    with running_server(tmp_path / "data", request=request) as started:
        yield started


@pytest.fixture
def registered(server: CharterServer, tmp_path: Path) -> str:
    """fraud/1 with FILES, READY; returns the server's URL."""
    ok(server.url, "models", "create", "fraud")
    ok(server.url, "versions", "create", "fraud", "--dir", str(write_files(tmp_path / "m", FILES)))
    return server.url


def fingerprint(public_key: Path) -> str:
    return "sha256:" + hashlib.sha256(public_key.read_bytes()).hexdigest()


class TestSignAndVerify:
    def test_sign_then_verify_here_and_with_model_signing_outside_charter(
        self, registered: str, tmp_path: Path
    ) -> None:
        url = registered
        private, public = ec_keypair(tmp_path / "keys")
        signed = ok(url, "versions", "sign", "fraud/1", "--key", str(private))
        assert signed == f"signed fraud/1 with key {fingerprint(public)} (signature 1)\n"

        verified = ok(url, "versions", "verify", "fraud/1", "--require-signature")
        lines = verified.splitlines()
        assert lines[0].startswith(f"ok: {len(FILES)} files")
        assert lines[1] == (
            f"ok: signature 1 by {fingerprint(public)} verifies over the downloaded files "
            "(model_signing)"
        )
        pinned = ok_json(url, "versions", "verify", "fraud/1", "--key", str(public))
        assert pinned["signatures"]["pinned_key"] == fingerprint(public)
        assert pinned["signatures"]["signatures"][0]["ok"] is True

        # Outside Charter: the downloaded files, the stored bundle, model_signing's own CLI.
        ok(url, "versions", "download", "fraud/1", str(tmp_path / "copy" / "fraud"))
        [stored] = ok_json(url, "versions", "signatures", "fraud/1")
        bundle = tmp_path / "copy" / "fraud.sig"
        bundle.write_text(stored["bundle"])
        outside = subprocess.run(
            [
                str(MODEL_SIGNING),
                "verify",
                "key",
                str(tmp_path / "copy" / "fraud"),
                "--signature",
                str(bundle),
                "--public_key",
                str(public),
                "--no-ignore-git-paths",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert outside.returncode == 0, outside.stderr
        assert "Verification succeeded" in outside.stdout

    def test_verify_fails_loudly_naming_the_altered_file(
        self, registered: str, server: CharterServer, tmp_path: Path
    ) -> None:
        url = registered
        private, _ = ec_keypair(tmp_path / "keys")
        ok(url, "versions", "sign", "fraud/1", "--key", str(private))
        digest = hashlib.sha256(FILES["MLmodel"]).hexdigest()
        blob = server.data_dir / "artifacts" / "sha256" / digest[:2] / digest
        blob.chmod(0o644)
        blob.write_bytes(b"flavors: []\n")  # same size, other bytes
        result = run(url, "versions", "verify", "fraud/1")
        assert result.returncode == 1
        assert result.stdout.startswith("FAILED: fraud/1 has 1 problem(s)\n")
        assert "  MLmodel: content hashes to" in result.stdout

    def test_unsigned_versions_and_other_keys(self, registered: str, tmp_path: Path) -> None:
        url = registered
        plain = run(url, "versions", "verify", "fraud/1")  # unsigned, not required: fine
        assert (plain.returncode, len(plain.stdout.splitlines())) == (0, 1)
        required = run(url, "versions", "verify", "fraud/1", "--require-signature")
        assert required.returncode == 1
        assert "FAILED: version fraud/1 is not signed" in required.stdout

        private, _ = ec_keypair(tmp_path / "mine")
        _, stranger = ec_keypair(tmp_path / "stranger")
        ok(url, "versions", "sign", "fraud/1", "--key", str(private))
        other = run(url, "versions", "verify", "fraud/1", "--key", str(stranger))
        assert other.returncode == 1
        assert f"has no signature by the key {fingerprint(stranger)}" in other.stdout

    def test_bad_keys_are_one_line_errors(self, registered: str, tmp_path: Path) -> None:
        url = registered
        not_a_key = tmp_path / "notes.txt"
        not_a_key.write_text("hello")
        error = one_error_line(run(url, "versions", "sign", "fraud/1", "--key", str(not_a_key)))
        assert "not a PEM private key" in error
        error = one_error_line(run(url, "versions", "verify", "fraud/1", "--key", str(not_a_key)))
        assert "not a PEM public key" in error
        assert ok_json(url, "versions", "signatures", "fraud/1") == []


class TestModelCard:
    def test_texts_then_export(self, registered: str, tmp_path: Path) -> None:
        url = registered
        ok(url, "models", "card-fields", "fraud", "--license", "mit", "--limitations", "2025 data")
        fields = ok_json(
            url, "versions", "card-fields", "fraud/1", "--intended-use", "EU card payments"
        )
        assert fields["effective"] == {
            "license": "mit",
            "limitations": "2025 data",
            "intended_use": "EU card payments",
        }
        out = tmp_path / "CARD.md"
        assert ok(url, "versions", "card", "fraud/1", "--out", str(out)).startswith("wrote")
        card = out.read_text()
        matter = yaml.safe_load(card.split("---\n")[1])
        assert (matter["license"], matter["charter"]["version"]) == ("mit", 1)
        assert "EU card payments" in card
        assert "## Bias, Risks, and Limitations\n\n2025 data" in card
        assert ok(url, "versions", "card", "fraud/1") == card
        data = json.loads(ok(url, "versions", "card", "fraud/1", "--json"))
        assert data["sections"][0]["key"] == "model_details"
        cleared = ok_json(url, "versions", "card-fields", "fraud/1", "--clear", "intended-use")
        assert "intended_use" not in cleared["effective"]
