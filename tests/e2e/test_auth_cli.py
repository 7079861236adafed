"""``charter users`` / ``charter tokens`` on an installation, and ``charter serve --auth``.

The administration commands act on the database directly; the tokens they print are used
against a real ``charter serve --auth on`` on a loopback port.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from charter.identity import tokens
from tests.support.server import CHARTER, CharterServer

pytestmark = pytest.mark.e2e


def charter(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``charter ARGS`` on the installation in ``data_dir``, with no other CHARTER_* set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["CHARTER_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(CHARTER), *args], capture_output=True, text=True, env=env, timeout=120
    )


def ok(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = charter(data_dir, *args)
    assert result.returncode == 0, f"charter {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def one_error_line(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert result.stdout == ""


def as_json(data_dir: Path, *args: str) -> Any:
    return json.loads(ok(data_dir, *args, "--json").stdout)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path) -> Iterator[CharterServer]:
    with CharterServer(data_dir, extra_args=("--auth", "on")) as started:
        yield started


def get_models(server: CharterServer, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/api/v1/models", headers=headers, timeout=10.0)


class TestUsersCreate:
    def test_prints_only_a_token_that_a_real_server_accepts(self, data_dir: Path) -> None:
        result = ok(data_dir, "users", "create", "alice", "--role", "contributor")
        token = result.stdout.strip()
        assert result.stdout == token + "\n"
        assert tokens.is_well_formed(token)
        assert "alice" in result.stderr
        assert "contributor" in result.stderr
        assert token not in result.stderr

        with CharterServer(data_dir, extra_args=("--auth", "on")) as server:
            assert get_models(server, None).status_code == 401
            assert get_models(server, token).status_code == 200
            created = httpx.post(
                f"{server.url}/api/v1/models",
                json={"name": "fraud"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text
            assert created.json()["owner"] == "alice"
            assert "single-user mode" not in server.log_text()

    def test_service_account_with_groups(self, data_dir: Path) -> None:
        ok(data_dir, "users", "create", "ci-bot", "--service", "--group", "ml", "--group", "ops")
        (user,) = as_json(data_dir, "users", "list")
        assert user["name"] == "ci-bot"
        assert user["kind"] == "service"
        assert user["groups"] == ["ml", "ops"]
        assert user["disabled"] is False

    def test_bad_input_is_one_error_line_and_changes_nothing(self, data_dir: Path) -> None:
        ok(data_dir, "users", "create", "alice")
        one_error_line(charter(data_dir, "users", "create", "alice"), "already exists")
        one_error_line(charter(data_dir, "users", "create", "a:b"), "forbidden character")
        one_error_line(
            charter(data_dir, "users", "create", "bob", "--role", "owner"), "is not one of"
        )
        one_error_line(
            charter(data_dir, "users", "create", "bob", "--expires-in", "forever"),
            "--expires-in",
        )
        assert [u["name"] for u in as_json(data_dir, "users", "list")] == ["alice"]


class TestTokens:
    def test_create_list_revoke_against_a_running_server(
        self, data_dir: Path, server: CharterServer
    ) -> None:
        first = ok(data_dir, "users", "create", "alice", "--role", "reader").stdout.strip()
        created = ok(data_dir, "tokens", "create", "alice", "--name", "ci", "--expires-in", "30d")
        second = created.stdout.strip()
        assert created.stdout == second + "\n"
        assert second != first
        assert get_models(server, second).status_code == 200

        listed = as_json(data_dir, "tokens", "list", "alice")
        assert [(t["name"], t["user"]) for t in listed] == [("initial", "alice"), ("ci", "alice")]
        assert listed[1]["expires_at"].endswith("Z")
        assert listed[0]["expires_at"] is None
        assert second not in json.dumps(listed)
        assert first not in json.dumps(listed)

        ok(data_dir, "tokens", "revoke", str(listed[1]["id"]))
        refused = get_models(server, second)
        assert refused.status_code == 401
        assert refused.json()["error_code"] == "UNAUTHENTICATED"
        assert "revoked" in refused.json()["message"]
        assert get_models(server, first).status_code == 200
        assert as_json(data_dir, "tokens", "list")[1]["revoked_at"] is not None

    def test_a_disabled_user_is_refused_at_once(
        self, data_dir: Path, server: CharterServer
    ) -> None:
        token = ok(data_dir, "users", "create", "alice").stdout.strip()
        assert get_models(server, token).status_code == 200
        ok(data_dir, "users", "disable", "alice")
        assert "disabled" in get_models(server, token).json()["message"]
        one_error_line(charter(data_dir, "tokens", "create", "alice"), "disabled")

    def test_errors(self, data_dir: Path) -> None:
        one_error_line(charter(data_dir, "tokens", "create", "ghost"), "ghost")
        one_error_line(charter(data_dir, "tokens", "revoke", "4242"), "4242")
        one_error_line(charter(data_dir, "tokens", "list", "ghost"), "ghost")


class TestServeAuthentication:
    @pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
    def test_refuses_a_non_loopback_address_with_authentication_off(
        self, data_dir: Path, host: str
    ) -> None:
        result = charter(
            data_dir, "serve", "--host", host, "--port", "1", "--data-dir", str(data_dir)
        )
        one_error_line(result, "authentication off")
        assert "--auth on" in result.stderr
        assert not data_dir.exists()

    def test_says_single_user_mode_on_loopback(self, data_dir: Path) -> None:
        with CharterServer(data_dir) as server:
            assert "single-user mode: authentication is off" in server.log_text()
            assert get_models(server, None).status_code == 200
