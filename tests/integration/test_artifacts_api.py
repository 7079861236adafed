"""A version's files: streaming upload, manifest, finalize, immutability, download, verify."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
from starlette.testclient import TestClient

from charter.api.state import AppState
from tests.factories.registry import create_model, create_version, ready_version_with_files, upload

FILES = {"MLmodel": b"flavors: {}\n", "model/weights.bin": bytes(range(256)) * 100}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def pending(http: TestClient) -> int:
    create_model(http, "m")
    return int(create_version(http, "m", source=None)["version"])


class TestUpload:
    def test_manifest_lists_path_size_and_hash(self, http: TestClient, pending: int) -> None:
        for path, data in FILES.items():
            row = upload(http, "m", pending, path, data)
            assert row == {"path": path, "size": len(data), "sha256": sha(data)}
        manifest = http.get(f"/api/v1/models/m/versions/{pending}/files").json()
        assert manifest["status"] == "PENDING_REGISTRATION"
        assert [f["path"] for f in manifest["files"]] == ["MLmodel", "model/weights.bin"]

    def test_finalize_computes_the_digest_anyone_can_recompute(
        self, http: TestClient, pending: int
    ) -> None:
        for path, data in FILES.items():
            upload(http, "m", pending, path, data)
        version = http.post(f"/api/v1/models/m/versions/{pending}/finalize").json()
        assert version["status"] == "READY"
        assert version["file_count"] == 2
        assert version["total_size"] == sum(len(d) for d in FILES.values())
        entries = sorted(
            ({"path": p, "sha256": sha(d), "size": len(d)} for p, d in FILES.items()),
            key=lambda e: e["path"],
        )
        canonical = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()
        assert version["manifest_digest"] == "sha256:" + sha(canonical)

    def test_identical_files_are_stored_once(
        self, http: TestClient, pending: int, state: AppState
    ) -> None:
        upload(http, "m", pending, "a.bin", b"same bytes")
        create_model(http, "other")
        other = create_version(http, "other", source=None)["version"]
        upload(http, "other", other, "b.bin", b"same bytes")
        root = state.blobs.local_path(sha(b"same bytes"))
        assert root is not None
        assert root.read_bytes() == b"same bytes"
        blob_files = [p for p in root.parent.parent.parent.rglob("*") if p.is_file()]
        assert len(blob_files) == 1

    def test_reupload_while_pending_replaces_the_file(self, http: TestClient, pending: int) -> None:
        upload(http, "m", pending, "a.bin", b"one")
        upload(http, "m", pending, "a.bin", b"two")
        files = http.get(f"/api/v1/models/m/versions/{pending}/files").json()["files"]
        assert files == [{"path": "a.bin", "size": 3, "sha256": sha(b"two")}]

    def test_finalize_without_files_is_409_and_stays_pending(
        self, http: TestClient, pending: int
    ) -> None:
        response = http.post(f"/api/v1/models/m/versions/{pending}/finalize")
        assert response.status_code == 409
        assert "no files" in response.json()["message"]
        assert http.get(f"/api/v1/models/m/versions/{pending}").json()["status"] == (
            "PENDING_REGISTRATION"
        )

    def test_finalize_with_a_wrong_expected_manifest_fails_the_version(
        self, http: TestClient, pending: int
    ) -> None:
        upload(http, "m", pending, "a.bin", b"data")
        response = http.post(
            f"/api/v1/models/m/versions/{pending}/finalize",
            json={"expected_files": [{"path": "a.bin", "sha256": sha(b"other"), "size": 4}]},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "FAILED_REGISTRATION"
        assert "a.bin" in body["status_message"]

    def test_finalize_with_the_right_expected_manifest(
        self, http: TestClient, pending: int
    ) -> None:
        upload(http, "m", pending, "a.bin", b"data")
        response = http.post(
            f"/api/v1/models/m/versions/{pending}/finalize",
            json={"expected_files": [{"path": "a.bin", "sha256": sha(b"data"), "size": 4}]},
        )
        assert response.json()["status"] == "READY"


class TestImmutability:
    @pytest.fixture
    def ready(self, http: TestClient) -> int:
        create_model(http, "m")
        return int(ready_version_with_files(http, "m", FILES)["version"])

    def test_overwrite_add_and_delete_are_409(self, http: TestClient, ready: int) -> None:
        base = f"/api/v1/models/m/versions/{ready}/files"
        for response in (
            http.put(f"{base}/MLmodel", content=b"changed"),
            http.put(f"{base}/new.txt", content=b"added"),
            http.delete(f"{base}/MLmodel"),
        ):
            assert response.status_code == 409, response.text
            assert "immutable" in response.json()["message"]
        assert http.get(f"{base}/MLmodel").content == FILES["MLmodel"]
        assert len(http.get(base).json()["files"]) == 2

    def test_finalize_twice_is_409(self, http: TestClient, ready: int) -> None:
        response = http.post(f"/api/v1/models/m/versions/{ready}/finalize")
        assert response.status_code == 409


class TestDownload:
    @pytest.fixture
    def ready(self, http: TestClient) -> int:
        create_model(http, "m")
        return int(ready_version_with_files(http, "m", FILES)["version"])

    def test_whole_file(self, http: TestClient, ready: int) -> None:
        response = http.get(f"/api/v1/models/m/versions/{ready}/files/model/weights.bin")
        assert response.status_code == 200
        assert response.content == FILES["model/weights.bin"]
        assert response.headers["x-content-sha256"] == sha(FILES["model/weights.bin"])
        assert response.headers["accept-ranges"] == "bytes"

    @pytest.mark.parametrize(
        ("header", "start", "end"),
        [("bytes=0-9", 0, 10), ("bytes=100-", 100, 25600), ("bytes=-5", 25595, 25600)],
    )
    def test_ranges(self, http: TestClient, ready: int, header: str, start: int, end: int) -> None:
        response = http.get(
            f"/api/v1/models/m/versions/{ready}/files/model/weights.bin", headers={"Range": header}
        )
        assert response.status_code == 206
        assert response.content == FILES["model/weights.bin"][start:end]
        assert response.headers["content-range"] == f"bytes {start}-{end - 1}/25600"

    def test_unsatisfiable_range_is_416(self, http: TestClient, ready: int) -> None:
        response = http.get(
            f"/api/v1/models/m/versions/{ready}/files/MLmodel", headers={"Range": "bytes=999-"}
        )
        assert response.status_code == 416

    def test_by_alias(self, http: TestClient, ready: int) -> None:
        http.put("/api/v1/models/m/aliases/champion", json={"version": ready})
        response = http.get("/api/v1/models/m/versions/@champion/files/MLmodel")
        assert response.content == FILES["MLmodel"]

    def test_tar_of_the_whole_version(self, http: TestClient, ready: int) -> None:
        response = http.get(f"/api/v1/models/m/versions/{ready}/archive")
        assert response.status_code == 200
        with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
            contents = {
                m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
                for m in archive.getmembers()
            }
        assert contents == FILES

    def test_missing_file_is_404(self, http: TestClient, ready: int) -> None:
        response = http.get(f"/api/v1/models/m/versions/{ready}/files/nope")
        assert response.status_code == 404
        assert "nope" in response.json()["message"]


class TestVerify:
    def test_intact_version(self, http: TestClient) -> None:
        create_model(http, "m")
        ready_version_with_files(http, "m", FILES)
        report = http.post("/api/v1/models/m/versions/1/verify").json()
        assert report["ok"] is True
        assert report["files_checked"] == 2

    def test_a_corrupted_blob_is_named(self, http: TestClient, state: AppState) -> None:
        create_model(http, "m")
        ready_version_with_files(http, "m", FILES)
        path = state.blobs.local_path(sha(FILES["MLmodel"]))
        assert path is not None
        path.chmod(0o644)
        path.write_bytes(b"tampered")
        report = http.post("/api/v1/models/m/versions/1/verify").json()
        assert report["ok"] is False
        assert report["problems"][0]["path"] == "MLmodel"


class TestBadPaths:
    @pytest.mark.parametrize(
        "path",
        [
            "..%2Fescape",
            "%2E%2E/%2E%2E/escape",
            "a/%2E%2E/%2E%2E/escape",
            "a//b",
            "a/%2E/b",
            "back%5Cslash",
            "nul%00byte",
            "trailing/",
            "%2Fabsolute",
        ],
    )
    def test_rejected_before_the_filesystem(
        self, http: TestClient, pending: int, path: str, state: AppState
    ) -> None:
        response = http.put(f"/api/v1/models/m/versions/{pending}/files/{path}", content=b"x")
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "path" in response.json()["message"]
        assert http.get(f"/api/v1/models/m/versions/{pending}/files").json()["files"] == []
        tmp = state.settings.temp_dir
        assert not tmp.exists() or list(tmp.iterdir()) == []

    def test_upload_over_the_artifact_limit_is_413_and_leaves_nothing(
        self, http: TestClient, pending: int, state: AppState
    ) -> None:
        state.settings.max_artifact_bytes = 1000
        response = http.put(f"/api/v1/models/m/versions/{pending}/files/big", content=b"x" * 5000)
        assert response.status_code == 413
        assert http.get(f"/api/v1/models/m/versions/{pending}/files").json()["files"] == []
        assert list(state.settings.temp_dir.iterdir()) == []
