"""``charter versions scan`` and ``charter versions diff`` against a real ``charter serve``.

The server scans in its own background worker. A malicious pickle goes through upload, scan,
diff and listing; its payload would create a marker file if it ever ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_cli import ok, ok_json, run
from tests.support import model_files
from tests.support.server import CharterServer, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterServer]:
    env = {"CHARTER_SCAN_POLL_SECONDS": "0.1"}
    with running_server(tmp_path / "data", request=request, env=env) as started:
        yield started


def model_dir(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


class TestScanCommand:
    def test_a_clean_version_scans_and_exits_zero(
        self, server: CharterServer, tmp_path: Path
    ) -> None:
        files = {
            "MLmodel": model_files.MLMODEL.encode(),
            "model.pkl": model_files.sklearn_pickle(),
            "w.safetensors": model_files.safetensors_file(),
        }
        ok(server.url, "models", "create", "fraud")
        ok(
            server.url,
            "versions",
            "create",
            "fraud",
            "--dir",
            str(model_dir(tmp_path / "m", files)),
        )
        table = ok(server.url, "versions", "scan", "fraud/1", "--timeout", "60")
        assert "fraud/1: no_known_dangerous_pattern" in table
        assert "model.pkl" in table
        report = ok_json(server.url, "versions", "scan", "fraud/1", "--rerun")
        assert report["verdict"] == "no_known_dangerous_pattern"
        assert report["job"]["status"] == "done"
        assert report["job"]["attempts"] == 1

    def test_a_malicious_pickle_exits_one_and_never_runs(
        self, server: CharterServer, tmp_path: Path
    ) -> None:
        marker = tmp_path / "PWNED"
        files = {"model.pkl": model_files.malicious_pickle(marker)}
        ok(server.url, "models", "create", "evil")
        ok(server.url, "versions", "create", "evil", "--dir", str(model_dir(tmp_path / "e", files)))
        result = run(server.url, "versions", "scan", "evil/1", "--json")
        assert result.returncode == 1, result
        report = json.loads(result.stdout)
        assert report["verdict"] == "dangerous"
        assert report["files"][0]["dangerous"] == ["builtins.exec"]
        ok(server.url, "versions", "diff", "evil/1", "evil/1")
        ok(server.url, "versions", "files", "evil/1")
        assert not marker.exists()

    def test_an_unscannable_file_exits_one_with_the_reason(
        self, server: CharterServer, tmp_path: Path
    ) -> None:
        files = {"model.pt": model_files.zip_bomb()}
        ok(server.url, "models", "create", "bomb")
        ok(server.url, "versions", "create", "bomb", "--dir", str(model_dir(tmp_path / "b", files)))
        result = run(server.url, "versions", "scan", "bomb/1")
        assert result.returncode == 1, result
        assert "zip bomb" in result.stdout

    def test_a_missing_version_is_one_error_line(self, server: CharterServer) -> None:
        result = run(server.url, "versions", "scan", "nothing/1")
        assert result.returncode == 1
        assert result.stderr.startswith("error: ")
        assert "nothing" in result.stderr


class TestDiffCommand:
    def test_diff_shows_signature_files_and_metrics(
        self, server: CharterServer, tmp_path: Path
    ) -> None:
        one = {"MLmodel": model_files.MLMODEL.encode(), "model.pkl": model_files.sklearn_pickle()}
        two = {**one, "MLmodel": one["MLmodel"].replace(b'"age"', b'"age_years"')}
        ok(server.url, "models", "create", "churn")
        for index, files in enumerate((one, two), start=1):
            folder = str(model_dir(tmp_path / f"v{index}", files))
            ok(
                server.url,
                "versions",
                "create",
                "churn",
                "--dir",
                folder,
                "--metric",
                f"auc=0.{index}",
            )
            ok(server.url, "versions", "scan", f"churn/{index}")
        diff = ok_json(server.url, "versions", "diff", "churn/1", "churn/2")
        assert list(diff["signature"]["inputs"]["added"]) == ["age_years"]
        assert list(diff["signature"]["inputs"]["removed"]) == ["age"]
        assert [f["path"] for f in diff["files"]["changed"]] == ["MLmodel"]
        assert diff["metrics"]["changed"]["auc"]["b"] == 0.2
        table = ok(server.url, "versions", "diff", "churn/1", "churn/2")
        assert "signature.inputs" in table
        assert "~ MLmodel" in table
        assert "1 files unchanged" in table
