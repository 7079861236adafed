"""Signatures through the native API, on SQLite and PostgreSQL: a bundle made by model_signing
outside Charter is checked against the version's manifest, stored, listed and re-verified."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from starlette.testclient import TestClient

from charter.api.deps import get_context
from charter.api.state import AppState
from charter.audit.schemas import AuditFilter
from charter.audit.service import AuditService
from charter.context import SYSTEM, Actor, RequestContext
from charter.identity.grants import GrantRule
from charter.signatures.bundle import MAX_BUNDLE_BYTES
from charter.signatures.models import VersionSignature
from tests.factories.registry import create_model, create_version, ready_version_with_files
from tests.factories.signatures import ec_keypair, sign_files, verify_dir, write_files

FILES = {
    "MLmodel": b"flavors: {}\n",
    "model/weights.bin": bytes(range(256)) * 64,
    ".gitattributes": b"*.bin binary\n",
}
URL = "/api/v1/models/fraud/versions/1/signatures"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return ec_keypair(tmp_path / "keys")


@pytest.fixture
def signed_version(http: TestClient) -> dict[str, Any]:
    create_model(http, "fraud")
    return ready_version_with_files(http, "fraud", FILES)


def body(bundle: str, public_key: Path) -> dict[str, str]:
    return {"bundle": bundle, "public_key": public_key.read_text()}


def refused(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()
    for word in words:
        assert word in error["message"], error
    return error


def nothing_stored(http: TestClient) -> None:
    assert http.get(URL).json() == {"signatures": []}


def key_hint(public_key: Path) -> str:
    return hashlib.sha256(public_key.read_bytes()).hexdigest()


class TestAddSignature:
    def test_a_bundle_over_the_versions_files_is_stored_listed_and_audited(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
        state: AppState,
    ) -> None:
        private, public = keys
        bundle = sign_files(tmp_path, FILES, private)
        response = http.post(URL, json=body(bundle, public))
        assert response.status_code == 201, response.text
        stored = response.json()
        assert stored["key_fingerprint"] == f"sha256:{key_hint(public)}"
        assert stored["manifest_digest"] == signed_version["manifest_digest"]
        assert (stored["created_by"], stored["bundle"]) == ("local", bundle)
        assert stored["created_at"].endswith("Z")
        assert http.get(URL).json() == {"signatures": [stored]}
        with state.db.transaction(write=False) as session:
            events = AuditService(session, SYSTEM).search(AuditFilter(action="signature.add"))
        [event] = events.items
        assert (event.resource_name, event.after["key_fingerprint"]) == (
            "fraud/1",
            stored["key_fingerprint"],
        )

    def test_the_stored_bundle_verifies_with_model_signing_over_the_downloaded_files(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        private, public = keys
        http.post(URL, json=body(sign_files(tmp_path / "signer", FILES, private), public))
        downloaded = {
            path: http.get(f"/api/v1/models/fraud/versions/1/files/{path}").content
            for path in FILES
        }
        directory = write_files(tmp_path / "downloaded" / "fraud", downloaded)
        [stored] = http.get(URL).json()["signatures"]
        verify_dir(directory, stored["bundle"], public)  # raises if model_signing disagrees
        (directory / "MLmodel").write_bytes(b"flavors: {evil: 1}\n")
        with pytest.raises(ValueError, match="MLmodel"):
            verify_dir(directory, stored["bundle"], public)

    def test_several_keys_may_sign_but_one_key_signs_once(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        private, public = keys
        assert http.post(
            URL, json=body(sign_files(tmp_path / "a", FILES, private), public)
        ).is_success
        again = http.post(URL, json=body(sign_files(tmp_path / "b", FILES, private), public))
        refused(again, 409, "already signed")
        other_private, other_public = ec_keypair(tmp_path / "other")
        second = http.post(
            URL, json=body(sign_files(tmp_path / "c", FILES, other_private), other_public)
        )
        assert second.status_code == 201, second.text
        assert len(http.get(URL).json()["signatures"]) == 2

    def test_the_version_may_be_named_by_alias(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        http.put("/api/v1/models/fraud/aliases/candidate", json={"version": 1})
        private, public = keys
        url = "/api/v1/models/fraud/versions/@candidate/signatures"
        response = http.post(url, json=body(sign_files(tmp_path, FILES, private), public))
        assert (response.status_code, response.json()["version"]) == (201, 1)


class TestRefusedBundles:
    def test_a_bundle_that_is_not_json(
        self, http: TestClient, signed_version: dict[str, Any], keys: tuple[Path, Path]
    ) -> None:
        refused(http.post(URL, json=body("{not json", keys[1])), 400, "not JSON")
        nothing_stored(http)

    def test_a_bundle_over_the_size_limit(
        self, http: TestClient, signed_version: dict[str, Any], keys: tuple[Path, Path]
    ) -> None:
        huge = json.dumps({"padding": "x" * MAX_BUNDLE_BYTES})
        error = refused(http.post(URL, json=body(huge, keys[1])), 413, "bundle", "limit")
        assert error["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        nothing_stored(http)

    @pytest.mark.parametrize(
        ("files", "named"),
        [
            ({**FILES, "MLmodel": b"flavors: {other: 1}\n"}, "MLmodel"),
            ({**FILES, "extra.txt": b"not in the version"}, "extra.txt"),
            ({k: v for k, v in FILES.items() if k != "model/weights.bin"}, "model/weights.bin"),
        ],
        ids=["altered-file", "extra-file", "missing-file"],
    )
    def test_a_bundle_over_other_files_names_the_file(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
        files: dict[str, bytes],
        named: str,
    ) -> None:
        bundle = sign_files(tmp_path, files, keys[0])
        error = refused(http.post(URL, json=body(bundle, keys[1])), 400, named)
        assert error["details"]["path"] == named
        nothing_stored(http)

    def test_a_tampered_signature_or_statement(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        document = json.loads(sign_files(tmp_path, FILES, keys[0]))
        envelope = document["dsseEnvelope"]
        signature = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
        signature[-1] ^= 1
        envelope["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
        tampered = json.dumps(document)
        refused(http.post(URL, json=body(tampered, keys[1])), 400, "does not verify")

        document = json.loads(sign_files(tmp_path / "again", FILES, keys[0]))
        statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
        statement["subject"][0]["name"] = "someone-else"
        payload = json.dumps(statement).encode()
        document["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
        refused(http.post(URL, json=body(json.dumps(document), keys[1])), 400, "does not verify")
        nothing_stored(http)

    def test_a_public_key_that_is_not_pem_or_not_the_signers(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        bundle = sign_files(tmp_path, FILES, keys[0])
        not_pem = {"bundle": bundle, "public_key": "ssh-ed25519 AAAAC3Nz me@host"}
        refused(http.post(URL, json=not_pem), 400, "public_key", "PEM")
        _, stranger = ec_keypair(tmp_path / "stranger")
        refused(http.post(URL, json=body(bundle, stranger)), 400, "names the key")
        nothing_stored(http)

    def test_a_bundle_of_another_kind(
        self, http: TestClient, signed_version: dict[str, Any], keys: tuple[Path, Path]
    ) -> None:
        other = json.dumps({"mediaType": "application/vnd.example+json", "dsseEnvelope": {}})
        refused(http.post(URL, json=body(other, keys[1])), 400, "mediaType")
        refused(http.post(URL, json={"bundle": "{}"}), 400, "public_key")
        nothing_stored(http)

    def test_a_version_that_is_not_ready(
        self, http: TestClient, keys: tuple[Path, Path], tmp_path: Path
    ) -> None:
        create_model(http, "fraud")
        create_version(http, "fraud", source=None)
        bundle = sign_files(tmp_path, FILES, keys[0])
        refused(http.post(URL, json=body(bundle, keys[1])), 409, "PENDING_REGISTRATION")
        refused(
            http.post("/api/v1/models/fraud/versions/9/signatures", json=body(bundle, keys[1])),
            404,
        )
        nothing_stored(http)


class TestVerifyEndpoint:
    def test_reports_files_and_every_signature(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
        state: AppState,
    ) -> None:
        unsigned = http.post(f"{URL}/verify").json()
        assert (unsigned["ok"], unsigned["signed"], unsigned["files_checked"]) == (True, False, 3)
        http.post(URL, json=body(sign_files(tmp_path, FILES, keys[0]), keys[1]))
        report = http.post(f"{URL}/verify").json()
        assert (report["ok"], report["signed"]) == (True, True)
        assert report["signatures"][0]["ok"] is True

        # A stored bundle altered behind Charter's back no longer verifies.
        with state.db.transaction() as session:
            row = session.get(VersionSignature, report["signatures"][0]["id"])
            assert row is not None
            document = json.loads(row.bundle)
            document["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(b"x" * 70).decode()
            session.execute(
                update(VersionSignature)
                .where(VersionSignature.id == row.id)
                .values(bundle=json.dumps(document))
            )
        broken = http.post(f"{URL}/verify").json()
        assert broken["ok"] is False
        assert "does not verify" in broken["signatures"][0]["problems"][0]["problem"]

    def test_a_blob_altered_on_disk_is_named(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
        state: AppState,
    ) -> None:
        http.post(URL, json=body(sign_files(tmp_path, FILES, keys[0]), keys[1]))
        blob = state.blobs.local_path(hashlib.sha256(FILES["MLmodel"]).hexdigest())
        assert blob is not None
        blob.chmod(0o644)
        blob.write_bytes(b"flavors: {evil: 1}\n")
        report = http.post(f"{URL}/verify").json()
        assert report["ok"] is False
        assert [p["path"] for p in report["file_problems"]] == ["MLmodel"]


def set_policy(http: TestClient, document: str) -> None:
    response = http.put(
        "/api/v1/models/fraud/policy", content=document, headers={"content-type": "text/yaml"}
    )
    assert response.status_code == 200, response.text


def request_champion(http: TestClient) -> dict[str, Any]:
    body = {"version": 1, "alias": "champion", "justification": "signed build"}
    response = http.post("/api/v1/models/fraud/promotions", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


class TestPolicyGate:
    POLICY = "protected: {aliases: [champion]}\nrules:\n  - require_checks: [signature]\n"

    def test_an_unsigned_version_is_blocked_and_a_signed_one_promoted(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        set_policy(http, self.POLICY)
        unsigned = request_champion(http)
        [rule] = unsigned["rules"]
        assert (rule["passed"], rule["message"]) == (
            False,
            "failed: signature (the version is not signed)",
        )
        approved = http.post(f"/api/v1/promotions/{unsigned['id']}/approve", json={"comment": "ok"})
        assert approved.json()["status"] == "blocked"
        assert http.get("/api/v1/models/fraud").json()["aliases"] == {}

        http.post(URL, json=body(sign_files(tmp_path, FILES, keys[0]), keys[1]))
        executed = http.post(f"/api/v1/promotions/{unsigned['id']}/execute")
        assert executed.status_code == 200, executed.text
        assert executed.json()["status"] == "executed"
        assert executed.json()["rules"][0]["seen"]["signature"]["signatures"][0]["valid"] is True
        assert http.get("/api/v1/models/fraud").json()["aliases"] == {"champion": 1}

    def test_a_policy_may_name_the_keys_it_trusts(
        self,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        _, trusted = ec_keypair(tmp_path / "trusted")
        set_policy(
            http,
            "protected: {aliases: [champion]}\nrules:\n  - require_checks:\n"
            f"    - signature: {{keys: ['sha256:{key_hint(trusted)}']}}\n",
        )
        http.post(URL, json=body(sign_files(tmp_path, FILES, keys[0]), keys[1]))
        [rule] = request_champion(http)["rules"]
        assert rule["passed"] is False
        assert "no signature by a required key" in rule["message"]

        set_policy(
            http,
            "protected: {aliases: [champion]}\nrules:\n  - require_checks:\n"
            f"    - signature: {{keys: ['{key_hint(keys[1]).upper()}']}}\n",
        )
        refreshed = http.post("/api/v1/promotions/1/approve", json={"comment": "ok"}).json()
        assert (refreshed["status"], refreshed["rules"][0]["passed"]) == ("executed", True)

    def test_a_policy_naming_a_malformed_key_is_refused(
        self, http: TestClient, signed_version: dict[str, Any]
    ) -> None:
        response = http.put(
            "/api/v1/models/fraud/policy",
            content="protected: {}\nrules:\n  - require_checks: [{signature: {keys: [abc]}}]\n",
            headers={"content-type": "text/yaml"},
        )
        refused(response, 400, "abc", "sha256")
        assert http.get("/api/v1/models/fraud/policy").json()["scope"] == "default"


class TestGoverned:
    def test_signing_and_card_texts_need_the_contributor_role(
        self,
        app: FastAPI,
        http: TestClient,
        signed_version: dict[str, Any],
        keys: tuple[Path, Path],
        tmp_path: Path,
    ) -> None:
        bundle = body(sign_files(tmp_path, FILES, keys[0]), keys[1])

        def acting_as(name: str, role: str) -> None:
            grant = GrantRule("user", name, role, "global")
            ctx = RequestContext(actor=Actor(name=name), governed=True, grants=(grant,))
            app.dependency_overrides[get_context] = lambda: ctx

        try:
            acting_as("eve", "reader")
            refused(http.post(URL, json=bundle), 403, "contributor")
            texts = {"limitations": "x"}
            refused(http.patch("/api/v1/models/fraud/card-fields", json=texts), 403, "contributor")
            assert http.get(URL).json() == {"signatures": []}
            assert http.get("/api/v1/models/fraud/card-fields").json()["fields"] == {}
            acting_as("carol", "contributor")
            assert http.post(URL, json=bundle).json()["created_by"] == "carol"
        finally:
            app.dependency_overrides.clear()
