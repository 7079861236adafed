"""The ``charter`` command line against a real ``charter serve``, as a user would run both."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import free_port
from tests.support.server import CHARTER, CharterServer, running_server

pytestmark = pytest.mark.e2e

FILES = {
    "MLmodel": b"flavors: {}\n",
    "model/weights.bin": os.urandom(2 * 1024 * 1024 + 5),
    "model/config.json": b'{"layers": 3}',
}


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterServer]:
    with running_server(tmp_path / "data", request=request) as started:
        yield started


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "model-files"
    for relative, data in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


def run(
    url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``charter ARGS`` with CHARTER_URL set, its output captured (stdout and stderr: no tty)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environ.update({"CHARTER_URL": url, **(env or {})})
    return subprocess.run(
        [str(CHARTER), *args], capture_output=True, text=True, env=environ, timeout=120
    )


def ok(url: str, *args: str) -> str:
    result = run(url, *args)
    assert result.returncode == 0, f"charter {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def ok_json(url: str, *args: str) -> Any:
    return json.loads(ok(url, *args, "--json"))


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


class TestModels:
    def test_create_list_show_update_tag_rename_delete(self, server: CharterServer) -> None:
        url = server.url
        created = ok_json(
            url,
            "models",
            "create",
            "fraud",
            "--description",
            "flags fraud",
            "--tag",
            "team=risk",
            "--tag",
            "tier=gold",
        )
        assert (created["name"], created["tags"]) == ("fraud", {"team": "risk", "tier": "gold"})
        assert created["created_at"].endswith("Z")
        ok(url, "models", "create", "churn")
        listed = ok_json(url, "models", "list", "--tag", "team=risk")
        assert [m["name"] for m in listed] == ["fraud"]
        assert len(ok_json(url, "models", "list", "--max-results", "1")) == 1
        assert "fraud" in ok(url, "models", "list", "--name-like", "fr%")
        assert ok_json(url, "models", "show", "fraud")["description"] == "flags fraud"
        assert "flags fraud" in ok(url, "models", "show", "fraud")
        ok(url, "models", "update", "fraud", "--description", "v2")
        ok(url, "models", "tag", "set", "fraud", "owner", "ana")
        ok(url, "models", "tag", "delete", "fraud", "team")
        renamed = ok_json(url, "models", "rename", "fraud", "fraud-detector")
        assert (renamed["description"], renamed["tags"]) == ("v2", {"tier": "gold", "owner": "ana"})
        assert ok_json(url, "models", "delete", "fraud-detector") == {"deleted": "fraud-detector"}
        assert [m["name"] for m in ok_json(url, "models", "list")] == ["churn"]

    def test_url_and_token_options_override_the_environment(self, server: CharterServer) -> None:
        nowhere = f"http://127.0.0.1:{free_port()}"
        result = run(nowhere, "models", "list", "--json", "--url", server.url, "--token", "t")
        assert (result.returncode, json.loads(result.stdout)) == (0, [])


class TestVersions:
    def test_create_from_a_directory_download_and_verify(
        self, server: CharterServer, model_dir: Path, tmp_path: Path
    ) -> None:
        url = server.url
        ok(url, "models", "create", "fraud")
        result = run(
            url,
            "versions",
            "create",
            "fraud",
            "--dir",
            str(model_dir),
            "--tag",
            "data=q3",
            "--metric",
            "auc=0.91",
            "--json",
            env={"TTY_COMPATIBLE": "1"},  # as on a terminal: draw the progress bar
        )
        assert result.returncode == 0, result.stderr
        assert "upload model-files" in result.stderr
        version = json.loads(result.stdout)  # the bar went to stderr: stdout is only JSON
        assert (version["status"], version["file_count"]) == ("READY", len(FILES))
        assert (version["tags"], version["metrics"]) == ({"data": "q3"}, {"auc": 0.91})

        files = ok_json(url, "versions", "files", "fraud/1")["files"]
        assert {f["path"]: f["sha256"] for f in files} == {
            p: hashlib.sha256(d).hexdigest() for p, d in FILES.items()
        }
        dest = tmp_path / "download"
        ok(url, "versions", "download", "fraud/1", str(dest))
        for relative, data in FILES.items():
            assert (dest / relative).read_bytes() == data
        single = tmp_path / "config.json"
        ok(url, "versions", "download", "fraud/1", str(single), "--file", "model/config.json")
        assert single.read_bytes() == FILES["model/config.json"]

        total = sum(len(d) for d in FILES.values())
        expected = f"ok: {len(FILES)} files, {total} bytes, {version['manifest_digest']}\n"
        assert ok(url, "versions", "verify", "fraud/1") == expected

    def test_create_with_files_then_list_show_tag_delete(
        self, server: CharterServer, model_dir: Path
    ) -> None:
        url = server.url
        ok(url, "models", "create", "fraud")
        created = ok_json(
            url,
            "versions",
            "create",
            "fraud",
            "--file",
            str(model_dir / "MLmodel"),
            "--file",
            str(model_dir / "model" / "config.json"),
            "--description",
            "two files",
            "--run-id",
            "run-7",
        )
        assert created["file_count"] == 2
        shown = ok_json(url, "versions", "show", "fraud/1")
        assert (shown["run_id"], shown["description"]) == ("run-7", "two files")
        assert "READY" in ok(url, "versions", "show", "fraud/1")
        ok(url, "versions", "tag", "set", "fraud/1", "k", "v")
        assert ok_json(url, "versions", "list", "fraud", "--tag", "k=v")[0]["version"] == 1
        ok(url, "versions", "tag", "delete", "fraud/1", "k")
        assert ok_json(url, "versions", "list", "--tag", "k") == []
        ok(url, "versions", "update", "fraud/1", "--description", "renamed")
        ok(url, "versions", "delete", "fraud/1")
        assert ok_json(url, "versions", "list", "fraud") == []

    def test_upload_and_finalize_a_pending_version(
        self, server: CharterServer, model_dir: Path
    ) -> None:
        url = server.url
        ok(url, "models", "create", "fraud")
        pending = ok_json(url, "versions", "create", "fraud")  # no source, no files: pending
        assert pending["status"] == "PENDING_REGISTRATION"
        ok(url, "versions", "upload", "fraud/1", str(model_dir))
        listed = ok_json(url, "versions", "list", "--status", "PENDING_REGISTRATION")
        assert [v["version"] for v in listed] == [1]
        assert ok_json(url, "versions", "finalize", "fraud/1")["status"] == "READY"

    def test_verify_fails_with_exit_1_and_names_the_corrupt_file(
        self, server: CharterServer, model_dir: Path
    ) -> None:
        url = server.url
        ok(url, "models", "create", "fraud")
        ok(url, "versions", "create", "fraud", "--dir", str(model_dir))
        digest = hashlib.sha256(FILES["MLmodel"]).hexdigest()
        blob = server.data_dir / "artifacts" / "sha256" / digest[:2] / digest
        blob.chmod(0o644)
        blob.write_bytes(b"flavors: []\n")
        result = run(url, "versions", "verify", "fraud/1")
        assert result.returncode == 1
        assert result.stdout.startswith("FAILED: fraud/1 has 1 problem(s)\n")
        assert "  MLmodel: content hashes to" in result.stdout
        error = one_error_line(run(url, "versions", "download", "fraud/1", str(model_dir / "x")))
        assert "MLmodel" in error


class TestLifecycle:
    def test_alias_stage_and_history(self, server: CharterServer) -> None:
        url = server.url
        ok(url, "models", "create", "fraud")
        for i in (1, 2):
            ok(url, "versions", "create", "fraud", "--source", f"s3://bucket/fraud/{i}")
        assert ok_json(url, "alias", "set", "fraud", "champion", "1")["aliases"] == ["champion"]
        ok(url, "stage", "set", "fraud@champion", "Production")
        ok(url, "alias", "set", "fraud", "champion", "2")
        moved = ok_json(url, "stage", "set", "fraud@champion", "Production", "--archive-existing")
        assert (moved["version"], moved["stage"]) == (2, "Production")
        assert ok_json(url, "versions", "show", "fraud/1")["stage"] == "Archived"
        assert ok_json(url, "alias", "show", "fraud", "champion")["version"] == 2
        assert [
            v["version"] for v in ok_json(url, "versions", "list", "--stage", "Production")
        ] == [2]
        assert [v["version"] for v in ok_json(url, "versions", "list", "--alias", "champion")] == [
            2
        ]

        history = ok_json(url, "history", "fraud")
        held = sorted((h["kind"], h["label"], h["version"], h["ended_at"] is None) for h in history)
        assert held == [
            ("alias", "champion", 1, False),
            ("alias", "champion", 2, True),
            ("stage", "Archived", 1, True),
            ("stage", "Production", 1, False),
            ("stage", "Production", 2, True),
        ]
        only_aliases = ok_json(url, "history", "fraud", "--kind", "alias", "--label", "champion")
        assert {h["kind"] for h in only_aliases} == {"alias"}
        assert "champion" in ok(url, "history", "fraud")
        ok(url, "alias", "delete", "fraud", "champion")
        assert ok_json(url, "versions", "show", "fraud/2")["aliases"] == []


class TestErrors:
    def test_a_missing_model_is_one_error_line_and_exit_1(self, server: CharterServer) -> None:
        result = run(server.url, "models", "show", "nope")
        assert one_error_line(result) == "error: registered model 'nope' does not exist"
        assert result.stdout == ""

    def test_upload_to_a_ready_version_is_one_error_line(
        self, server: CharterServer, model_dir: Path
    ) -> None:
        ok(server.url, "models", "create", "fraud")
        ok(server.url, "versions", "create", "fraud", "--dir", str(model_dir))
        result = run(server.url, "versions", "upload", "fraud/1", str(model_dir / "MLmodel"))
        assert "immutable" in one_error_line(result)

    def test_no_server_is_one_error_line_and_exit_1(self) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        result = run(url, "versions", "show", "fraud/1")
        assert one_error_line(result).startswith(f"error: cannot reach Charter at {url}: ")

    def test_a_malformed_option_is_a_usage_error(self) -> None:
        result = run("http://127.0.0.1:9", "versions", "create", "fraud", "--tag", "nokey")
        assert result.returncode == 2
        assert "KEY=VALUE" in result.stderr
