"""The SDK against the real ASGI app in process: every method, pagination, transfers, errors.

The SDK is synchronous; Starlette's ``TestClient`` is an ``httpx.Client`` that runs the app in
process, so it is handed to ``Client`` as its HTTP client.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from charter import errors
from charter.client import (
    AlreadyExists,
    CharterError,
    ChecksumMismatch,
    Client,
    Conflict,
    FileEntry,
    InvalidArgument,
    ModelVersion,
    NotFound,
    TransportError,
    Unauthenticated,
)
from charter.config import Settings
from tests.support.ports import free_port

MIB = 1024 * 1024
TREE = {
    "MLmodel": b"flavors: {}\n",
    "model/weights.bin": os.urandom(3 * MIB + 17),
    "model/config.json": b'{"layers": 3}',
    "empty.txt": b"",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


@pytest.fixture
def client(http: TestClient) -> Iterator[Client]:
    with Client(http_client=http) as sdk:
        yield sdk


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "tree", TREE)


@pytest.fixture
def ready(client: Client, tree: Path) -> ModelVersion:
    client.create_model("fraud")
    return client.register_version_from_dir("fraud", tree)


class TestConstruction:
    def test_the_constructor_does_no_io_and_the_first_request_names_the_url(self) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        with Client(url, token="t0k") as sdk:  # nothing listens there: no error yet
            assert sdk.url == url
            with pytest.raises(TransportError, match=f"cannot reach Charter at {url}: ") as info:
                sdk.get_model("fraud")
        assert isinstance(info.value, errors.Unavailable)

    def test_the_token_is_sent_as_a_bearer_token(self, http: TestClient) -> None:
        seen: list[httpx.Request] = []
        http.event_hooks["request"].append(seen.append)
        # Whether the server accepts this token is not the point: what the SDK sent is.
        with Client(http_client=http, token="s3cret") as sdk, suppress(Unauthenticated):
            sdk.search_models()
        assert seen[-1].headers["authorization"] == "Bearer s3cret"
        assert seen[-1].headers["user-agent"].startswith("charter-client/")

    def test_a_transport_and_an_http_client_are_exclusive(self, http: TestClient) -> None:
        with pytest.raises(TypeError):
            Client(http_client=http, transport=httpx.HTTPTransport())


class TestModels:
    def test_create_get_update_rename_tag_delete(self, client: Client) -> None:
        created = client.create_model("fraud", description="flags fraud", tags={"team": "risk"})
        assert (created.name, created.description, created.tags) == (
            "fraud",
            "flags fraud",
            {"team": "risk"},
        )
        assert created.created_at.tzinfo is UTC
        assert client.get_model("fraud") == created
        assert client.update_model("fraud", description="v2").description == "v2"
        assert client.set_model_tag("fraud", "tier", "gold").tags == {
            "team": "risk",
            "tier": "gold",
        }
        client.delete_model_tag("fraud", "team")
        assert client.get_model("fraud").tags == {"tier": "gold"}
        renamed = client.rename_model("fraud", "fraud-detector")
        assert (renamed.id, renamed.name) == (created.id, "fraud-detector")
        client.delete_model("fraud-detector")
        with pytest.raises(NotFound):
            client.get_model("fraud-detector")

    def test_names_with_reserved_url_characters_round_trip(self, client: Client) -> None:
        for name in ("churn model", "a?b#c", "100%", "modèle"):
            assert client.get_model(client.create_model(name).name).name == name

    def test_search_filters(self, client: Client) -> None:
        client.create_model("Alpha", tags={"team": "risk"})
        client.create_model("alpine", tags={"team": "growth"})
        client.create_model("beta")
        assert [m.name for m in client.search_models(name="beta")] == ["beta"]
        assert [m.name for m in client.search_models(name_like="Al%")] == ["Alpha"]
        ilike = client.search_models(name_ilike="al%", order_by=["name:desc"])
        assert [m.name for m in ilike] == ["alpine", "Alpha"]
        assert [m.name for m in client.search_models(tags={"team": "risk"})] == ["Alpha"]
        assert {m.name for m in client.search_models(tags={"team": None})} == {"Alpha", "alpine"}

    def test_pages_and_iteration(self, client: Client) -> None:
        names = [f"m{i:02d}" for i in range(7)]
        for name in names:
            client.create_model(name)
        first = client.search_models(max_results=3, order_by=["name"])
        assert [m.name for m in first.items] == names[:3]
        assert first.next_page_token is not None
        second = client.search_models(
            max_results=3, order_by=["name"], page_token=first.next_page_token
        )
        assert [m.name for m in second] == names[3:6]
        assert [m.name for m in client.iter_models(max_results=2, order_by=["name"])] == names


class TestVersions:
    def test_create_from_a_source_is_ready_at_once(self, client: Client) -> None:
        client.create_model("fraud")
        version = client.create_version(
            "fraud",
            source="s3://bucket/fraud/1",
            run_id="run-1",
            run_link="https://ci/run-1",
            description="first",
            tags={"data": "2026-q3"},
            metrics={"auc": 0.91},
        )
        assert (version.ref, version.status, version.source) == (
            "fraud/1",
            "READY",
            "s3://bucket/fraud/1",
        )
        assert (version.run_id, version.metrics, version.tags) == (
            "run-1",
            {"auc": 0.91},
            {"data": "2026-q3"},
        )

    def test_get_by_number_alias_and_stage(self, client: Client) -> None:
        client.create_model("fraud")
        v1 = client.create_version("fraud", source="s3://b/1")
        client.create_version("fraud", source="s3://b/2")
        client.set_alias("fraud", "champion", 1)
        client.set_stage("fraud/2", "Staging")
        assert client.get_version("fraud/1").id == v1.id
        assert client.get_version("fraud@champion").version == 1
        assert client.get_version("fraud/Staging").version == 2
        assert client.get_version(v1).version == 1

    def test_update_tag_delete(self, client: Client) -> None:
        client.create_model("fraud")
        client.create_version("fraud", source="s3://b/1")
        assert client.update_version("fraud/1", description="retrained").description == "retrained"
        assert client.set_version_tag("fraud/1", "k", "v").tags == {"k": "v"}
        client.delete_version_tag("fraud/1", "k")
        assert client.get_version("fraud/1").tags == {}
        client.delete_version("fraud/1")
        with pytest.raises(NotFound):
            client.get_version("fraud/1")
        assert client.create_version("fraud", source="s3://b/2").version == 2  # never reused

    def test_search_filters_and_iteration(self, client: Client) -> None:
        client.create_model("fraud")
        client.create_model("churn")
        for i in range(5):
            client.create_version("fraud", source=f"s3://b/{i}", run_id=f"r{i}", tags={"i": str(i)})
        client.create_version("churn", await_upload=True)
        client.set_alias("fraud", "champion", 2)
        client.set_stage("fraud/3", "Production")
        assert [v.version for v in client.search_versions(model="fraud", alias="champion")] == [2]
        assert [v.version for v in client.search_versions(stage="Production")] == [3]
        assert [v.version for v in client.search_versions(run_id="r4")] == [5]
        assert [v.version for v in client.search_versions(tags={"i": "1"})] == [2]
        pending = client.search_versions(status="PENDING_REGISTRATION")
        assert [(v.model, v.status) for v in pending] == [("churn", "PENDING_REGISTRATION")]
        every = client.iter_versions(model="fraud", max_results=2, order_by=["version"])
        assert [v.version for v in every] == [1, 2, 3, 4, 5]


class TestLifecycle:
    def test_aliases(self, client: Client) -> None:
        client.create_model("fraud")
        client.create_version("fraud", source="s3://b/1")
        client.create_version("fraud", source="s3://b/2")
        assert client.set_alias("fraud", "champion", 1).aliases == ["champion"]
        assert client.set_alias("fraud", "champion", 2).version == 2
        assert client.get_alias("fraud", "champion").version == 2
        assert client.get_model("fraud").aliases == {"champion": 2}
        client.delete_alias("fraud", "champion")
        with pytest.raises(NotFound):
            client.get_alias("fraud", "champion")

    def test_stages_by_reference_and_archive_existing(self, client: Client) -> None:
        client.create_model("fraud")
        client.create_version("fraud", source="s3://b/1")
        client.create_version("fraud", source="s3://b/2")
        client.set_alias("fraud", "challenger", 2)
        assert client.set_stage("fraud/1", "Production").stage == "Production"
        moved = client.set_stage("fraud@challenger", "Production", archive_existing=True)
        assert (moved.version, moved.stage) == (2, "Production")
        assert client.get_version("fraud/1").stage == "Archived"

    def test_history_pages_and_filters(self, client: Client) -> None:
        client.create_model("fraud")
        for i in (1, 2, 3):
            client.create_version("fraud", source=f"s3://b/{i}")
            client.set_alias("fraud", "champion", i)
        client.set_stage("fraud/3", "Staging")
        aliases = list(client.iter_history("fraud", kind="alias", max_results=1))
        assert sorted(h.version for h in aliases) == [1, 2, 3]
        assert sum(h.ended_at is None for h in aliases) == 1
        page = client.history("fraud", label="Staging")
        assert [(h.kind, h.version) for h in page] == [("stage", 3)]
        assert page.next_page_token is None


class TestArtifacts:
    def test_directory_roundtrip_with_hash_verification(
        self, client: Client, ready: ModelVersion, tmp_path: Path
    ) -> None:
        assert (ready.status, ready.file_count) == ("READY", len(TREE))
        manifest = client.list_files("fraud/1")
        assert {f.path: (f.size, f.sha256) for f in manifest.files} == {
            p: (len(d), sha(d)) for p, d in TREE.items()
        }
        assert manifest.manifest_digest == ready.manifest_digest
        out = tmp_path / "out"
        assert client.download_version("fraud/1", out) == manifest
        for relative, data in TREE.items():
            assert (out / relative).read_bytes() == data
        report = client.verify("fraud/1")
        assert (report.ok, report.files_checked, report.problems) == (True, len(TREE), [])
        assert report.bytes_checked == sum(len(d) for d in TREE.values())

    def test_upload_file_delete_file_and_explicit_finalize(
        self, client: Client, tmp_path: Path
    ) -> None:
        client.create_model("fraud")
        pending = client.create_version("fraud", await_upload=True)
        source = tmp_path / "weights.bin"
        source.write_bytes(b"w" * 1000)
        entry = client.upload_file(pending, source, "model/weights.bin")
        assert entry == FileEntry(path="model/weights.bin", size=1000, sha256=sha(b"w" * 1000))
        assert client.upload_file("fraud/1", source).path == "weights.bin"
        client.delete_file("fraud/1", "weights.bin")
        assert [f.path for f in client.list_files("fraud/1").files] == ["model/weights.bin"]
        assert client.finalize("fraud/1", expected_files=[entry]).status == "READY"

    def test_finalize_auto_fails_the_version_when_someone_else_added_a_file(
        self, client: Client, http: TestClient, tmp_path: Path
    ) -> None:
        client.create_model("fraud")
        client.create_version("fraud", await_upload=True)
        client.upload_dir("fraud/1", write_tree(tmp_path / "a", {"a.bin": b"a"}))
        with Client(http_client=http) as other:
            other.upload_dir("fraud/1", write_tree(tmp_path / "b", {"b.bin": b"b"}))
        finalized = client.finalize("fraud/1")
        assert finalized.status == "FAILED_REGISTRATION"
        assert "'b.bin'" in (finalized.status_message or "")

    def test_finalize_without_expected_files_accepts_what_is_there(
        self, client: Client, tree: Path
    ) -> None:
        client.create_model("fraud")
        client.create_version("fraud", await_upload=True)
        client.upload_dir("fraud/1", tree)
        assert client.finalize("fraud/1", expected_files=None).status == "READY"

    def test_upload_dir_skips_links_that_leave_the_tree(
        self, client: Client, tree: Path, tmp_path: Path
    ) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_bytes(b"do not upload")
        (tree / "leak").symlink_to(secret)
        (tree / "alias.json").symlink_to(tree / "model" / "config.json")
        (tree / "loop").symlink_to(tree, target_is_directory=True)
        client.create_model("fraud")
        client.create_version("fraud", await_upload=True)
        uploaded = {e.path for e in client.upload_dir("fraud/1", tree)}
        assert uploaded == {*TREE, "alias.json"}

    def test_download_file_to_a_directory_or_a_path(
        self, client: Client, ready: ModelVersion, tmp_path: Path
    ) -> None:
        into_dir = client.download_file(ready, "model/config.json", tmp_path)
        assert into_dir == tmp_path / "config.json"
        assert into_dir.read_bytes() == TREE["model/config.json"]
        as_path = client.download_file("fraud/1", "MLmodel", tmp_path / "x" / "M")
        assert as_path.read_bytes() == TREE["MLmodel"]

    def test_download_archive_streams_a_tar(
        self, client: Client, ready: ModelVersion, tmp_path: Path
    ) -> None:
        archive = client.download_archive("fraud/1", tmp_path / "fraud.tar")
        with tarfile.open(archive) as tar:
            assert sorted(tar.getnames()) == sorted(TREE)

    def test_a_corrupt_blob_fails_the_download_and_the_verification(
        self, client: Client, ready: ModelVersion, settings: Settings, tmp_path: Path
    ) -> None:
        digest = sha(TREE["model/config.json"])
        blob = Path(settings.resolved_artifact_root) / "sha256" / digest[:2] / digest
        blob.chmod(0o644)
        blob.write_bytes(b'{"layers": 4}')  # same size, other bytes
        with pytest.raises(ChecksumMismatch):
            client.download_version("fraud/1", tmp_path / "out")
        assert not (tmp_path / "out" / "model" / "config.json").exists()
        assert list((tmp_path / "out" / "model").glob(".*.part")) == []
        report = client.verify("fraud/1")
        assert not report.ok
        assert [p.path for p in report.problems] == ["model/config.json"]


class TestProgress:
    def test_upload_and_download_report_increasing_byte_counts(
        self, client: Client, tree: Path, tmp_path: Path
    ) -> None:
        total = sum(len(d) for d in TREE.values())
        uploads: list[tuple[int, int | None]] = []
        client.create_model("fraud")
        client.register_version_from_dir(
            "fraud", tree, progress=lambda done, size: uploads.append((done, size))
        )
        downloads: list[tuple[int, int | None]] = []
        client.download_version(
            "fraud/1", tmp_path / "out", progress=lambda done, size: downloads.append((done, size))
        )
        for calls in (uploads, downloads):
            done = [d for d, _ in calls]
            assert done == sorted(set(done)), "byte counts must strictly increase"
            assert done[0] == 0
            assert done[-1] == total
            assert {size for _, size in calls} == {total}
            assert len(calls) > 3  # the 3 MiB file is reported chunk by chunk


class TestErrors:
    def test_not_found(self, client: Client) -> None:
        with pytest.raises(NotFound) as info:
            client.get_model("nope")
        assert isinstance(info.value, errors.NotFound)
        assert info.value.status_code == 404
        assert info.value.details == {"model": "nope"}

    def test_already_exists(self, client: Client) -> None:
        client.create_model("fraud")
        with pytest.raises(AlreadyExists, match="fraud"):
            client.create_model("fraud")

    def test_invalid_argument_from_the_server_and_from_the_client(self, client: Client) -> None:
        with pytest.raises(InvalidArgument, match="forbidden character"):
            client.create_model("a:b")
        with pytest.raises(InvalidArgument, match="expected name/VERSION"):
            client.get_version("fraud")

    def test_conflict_on_upload_to_a_ready_version(
        self, client: Client, ready: ModelVersion, tree: Path
    ) -> None:
        with pytest.raises(Conflict, match="immutable") as info:
            client.upload_file(ready, tree / "MLmodel")
        assert isinstance(info.value, errors.Conflict)
        with pytest.raises(Conflict):
            client.finalize(ready)

    def test_register_from_dir_raises_when_finalize_fails(
        self, client: Client, tmp_path: Path
    ) -> None:
        client.create_model("fraud")
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(Conflict, match="no files"):
            client.register_version_from_dir("fraud", empty)

    def test_an_unknown_error_code_is_a_charter_error_with_the_status(self) -> None:
        # What a proxy in front of Charter might answer: not Charter's error shape at all.
        def gateway(request: httpx.Request) -> httpx.Response:
            return httpx.Response(502, text="<html>Bad Gateway</html>")

        transport = httpx.MockTransport(gateway)
        with (
            Client("http://registry", transport=transport) as sdk,
            pytest.raises(CharterError) as info,
        ):
            sdk.get_model("fraud")
        assert type(info.value) is CharterError
        assert info.value.details == {"error_code": None, "status": 502}
        assert "HTTP 502" in info.value.message

    def test_a_success_that_is_not_json_is_a_charter_error(self) -> None:
        def portal(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text="<html>Sign in to the corporate proxy</html>")

        transport = httpx.MockTransport(portal)
        with (
            Client("http://registry", transport=transport) as sdk,
            pytest.raises(CharterError) as info,
        ):
            sdk.get_model("fraud")
        assert "not JSON" in info.value.message
