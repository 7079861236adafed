"""Every snippet of README.md works when pasted, against a real ``charter serve``.

The snippets name the default address (127.0.0.1:8080); the test serves on a free port and
rewrites that address only, so what runs is the snippet as a user pastes it. The governance
walkthrough serves an installation of its own on port 8081: that port is rewritten to another
free one, so that runs beside other tests on one machine cannot collide.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.server import CharterServer, running_server

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent
# Blocks that start or install things (make serve, make test) are run by CI itself.
SETUP_MARKERS = ("make serve", "make test", "charter db upgrade")


def blocks(language: str) -> list[str]:
    text = README.read_text()
    found = re.findall(rf"```{language}\n(.*?)```", text, re.S)
    return [b for b in found if not any(marker in b for marker in SETUP_MARKERS)]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CharterServer]:
    with running_server(tmp_path_factory.mktemp("readme") / "data", request=request) as server:
        yield server


def run(
    command: list[str], snippet: str, server: CharterServer
) -> subprocess.CompletedProcess[str]:
    address = f"127.0.0.1:{server.port}"
    snippet = snippet.replace("127.0.0.1:8080", address).replace("localhost:8080", address)
    own = str(free_port())
    snippet = snippet.replace(":8081", f":{own}").replace("--port 8081", f"--port {own}")
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "CHARTER_URL": server.url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    return subprocess.run(
        [*command, snippet], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_the_readme_has_snippets() -> None:
    assert len(blocks("bash")) >= 2
    assert len(blocks("python")) >= 2


@pytest.mark.parametrize("index", range(len(blocks("bash"))))
def test_bash_snippet(server: CharterServer, index: int) -> None:
    result = run(["bash", "-euo", "pipefail", "-c"], blocks("bash")[index], server)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_snippet(server: CharterServer, index: int) -> None:
    result = run([sys.executable, "-W", "ignore", "-c"], blocks("python")[index], server)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
