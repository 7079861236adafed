"""``charter promote`` and ``charter users grant/revoke-grant`` against a real
``charter serve --auth on``: grants act on the database, promotions go through the server."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import CHARTER, CharterServer

pytestmark = pytest.mark.e2e


class Installation:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url: str | None = None

    def run(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        env["CHARTER_DATA_DIR"] = str(self.data_dir)
        if self.url is not None:
            env["CHARTER_URL"] = self.url
        if token is not None:
            env["CHARTER_TOKEN"] = token
        return subprocess.run(
            [str(CHARTER), *args], capture_output=True, text=True, env=env, timeout=120
        )

    def ok(self, *args: str, token: str | None = None) -> str:
        result = self.run(*args, token=token)
        assert result.returncode == 0, f"charter {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    def json(self, *args: str, token: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", token=token))

    def refused(self, *args: str, token: str | None = None) -> str:
        """The one error line of a command that must fail; nothing on stdout."""
        result = self.run(*args, token=token)
        assert result.returncode == 1, result
        assert result.stdout == ""
        (line,) = result.stderr.strip().splitlines()
        return line


@pytest.fixture
def charter(tmp_path: Path) -> Iterator[tuple[Installation, dict[str, str]]]:
    site = Installation(tmp_path / "data")
    tokens = {
        name: site.ok("users", "create", name, *(["--role", role] if role else [])).strip()
        for name, role in [
            ("alice", "contributor"),
            ("bob", "approver"),
            ("carl", "approver"),
            ("mona", None),
        ]
    }
    with CharterServer(site.data_dir, extra_args=("--auth", "on")) as server:
        site.url = server.url
        yield site, tokens


def test_request_reject_request_approve(charter: tuple[Installation, dict[str, str]]) -> None:
    site, tokens = charter
    alice, bob, carl = tokens["alice"], tokens["bob"], tokens["carl"]
    site.ok("models", "create", "fraud-eu", token=alice)
    site.ok("versions", "create", "fraud-eu", "--source", "s3://m/1", token=alice)

    refused = site.refused("alias", "set", "fraud-eu", "champion", "1", token=alice)
    assert "charter promote request fraud-eu/1 --to champion" in refused

    first = site.json(
        "promote", "request", "fraud-eu/1", "--to", "champion", "-j", "better", token=alice
    )
    assert (first["status"], first["requested_by"]) == ("open", "alice")
    assert "needs the approver role" in site.refused(
        "promote", "approve", str(first["id"]), "--comment", "mine", token=alice
    )
    rejected = site.json("promote", "reject", str(first["id"]), "-m", "not yet", token=bob)
    assert rejected["status"] == "rejected"

    second = site.json(
        "promote", "request", "fraud-eu/1", "--to", "champion", "-j", "now", token=alice
    )
    listed = site.json("promote", "list", "--model", "fraud-eu", "--state", "open", token=bob)
    assert [r["id"] for r in listed] == [second["id"]]
    approved = site.json("promote", "approve", str(second["id"]), "-m", "ok", token=carl)
    assert approved["status"] == "executed"
    assert site.json("alias", "show", "fraud-eu", "champion", token=bob)["version"] == 1
    assert (
        "exactly one of --to"
        in site.run("promote", "request", "fraud-eu/1", "-j", "x", token=alice).stderr
    )


def test_grant_and_revoke_on_a_prefix(charter: tuple[Installation, dict[str, str]]) -> None:
    site, tokens = charter
    mona = tokens["mona"]
    site.ok("models", "create", "fraud-eu", token=tokens["alice"])
    assert "does not exist" in site.refused("models", "show", "fraud-eu", token=mona)

    site.ok("users", "grant", "mona", "--role", "maintainer", "--prefix", "fraud-*")
    (grant,) = site.json("users", "grants", "mona")
    assert (grant["role"], grant["scope"], grant["prefix"]) == ("maintainer", "prefix", "fraud-*")
    policy = site.data_dir.parent / "policy.yaml"
    policy.write_text("protected: {aliases: [champion]}\napprovals: {min: 2}\n")
    set_policy = site.json("policy", "set", str(policy), "--model", "fraud-eu", token=mona)
    assert (set_policy["scope"], set_policy["version"]) == ("model", 1)

    site.ok("users", "revoke-grant", "mona", "--prefix", "fraud-*")
    assert site.json("users", "grants", "mona") == []
    assert "does not exist" in site.refused("models", "show", "fraud-eu", token=mona)
    assert "holds no grant" in site.refused("users", "revoke-grant", "mona")
