"""A real OpenID Connect provider for tests: npm ``oidc-provider`` run with Node on loopback.

``tests/support/oidc/`` holds its ``package.json`` (pinned, with its lock file) and
``server.mjs``. ``ensure_installed`` runs ``npm ci`` there when ``node_modules`` is missing, so a
fresh checkout needs only Node and the npm registry. ``sign_in`` drives the provider's
development login and consent forms with httpx, as a browser would.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from .ports import free_port

OIDC_DIR = Path(__file__).parent / "oidc"
CLIENT_ID = "charter-test"
CLIENT_SECRET = "charter-test-secret-0123456789"
# A client-credentials token asked for with this resource is a JWT for AUDIENCE.
RESOURCE = "https://charter.test/api"
AUDIENCE = "charter-api"
# The same, but expired a minute before it was issued (server.mjs backdates it).
EXPIRED_RESOURCE = f"{RESOURCE}/expired"
# A JWT for another audience, signed by the same provider.
OTHER_RESOURCE = "https://other.example/api"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
INSTALL_TIMEOUT = 300.0
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)


class OidcProviderError(RuntimeError):
    """Node or npm is missing, the install failed, or the provider did not start."""


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OidcProviderError(f"{name} is not on PATH: the OIDC tests need Node.js 20+ and npm")
    return path


def ensure_installed() -> None:
    """``npm ci`` into tests/support/oidc once, however many test processes ask at once."""
    marker = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.is_file():
        return
    with (OIDC_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file():
            return
        result = subprocess.run(
            [_binary("npm"), "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise OidcProviderError(f"npm ci in {OIDC_DIR} failed:\n{result.stderr}")


class OidcProvider:
    """One provider process with one confidential client that may redirect to ``redirect_uri``."""

    def __init__(self, redirect_uri: str, log_dir: Path, port: int | None = None) -> None:
        self.redirect_uri = redirect_uri
        self.port = port or free_port()
        self.log_path = log_dir / f"oidc-provider-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ensure_installed()
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                _binary("node"),
                "server.mjs",
                str(self.port),
                CLIENT_ID,
                CLIENT_SECRET,
                self.redirect_uri,
                RESOURCE,
                AUDIENCE,
            ],
            cwd=OIDC_DIR,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"{self.issuer}/.well-known/openid-configuration"
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise OidcProviderError(f"the OIDC provider exited:\n{self.log_text()}")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise OidcProviderError(f"the OIDC provider did not start:\n{self.log_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def client_credentials_token(self, resource: str = RESOURCE) -> str:
        """A JWT access token for the client itself, as a machine client would obtain one."""
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials", "resource": resource, "scope": "registry"},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=10.0,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def code_flow_tokens(self, login: str) -> dict[str, str]:
        """The tokens a relying party would get for ``login`` (ID token included), obtained
        by running the code flow here; the redirect to the relying party carries a code it
        refuses (no login of its own in progress), which is then redeemed here instead."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "openid profile email",
            "redirect_uri": self.redirect_uri,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        with httpx.Client(follow_redirects=False, timeout=10.0) as browser:
            start = f"{self.issuer}/auth?{urlencode(query)}"
            done = sign_in(browser, start, login, stop_at=self.redirect_uri)
        code = parse_qs(urlsplit(str(done.url)).query)["code"][0]
        response = httpx.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=10.0,
        )
        response.raise_for_status()
        tokens: dict[str, str] = response.json()
        return tokens

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def sign_in(browser: httpx.Client, start_url: str, login: str, stop_at: str) -> httpx.Response:
    """Follow a login from ``start_url`` through the provider's forms, as a browser would.

    The provider's development interactions ask for a login (any name, any password), then
    for consent; each form posts back and redirects on. Returns the response of the first
    request to a URL starting with ``stop_at`` (the relying party's callback).
    """
    response = browser.get(start_url)
    for _ in range(12):
        if str(response.url).startswith(stop_at):
            return response
        if response.is_redirect:
            response = browser.get(urljoin(str(response.url), response.headers["location"]))
            continue
        match = _FORM_ACTION.search(response.text) if "text/html" in _type(response) else None
        if match is None:
            raise OidcProviderError(f"unexpected page at {response.url}: {response.text[:500]}")
        action = urljoin(str(response.url), match.group(1))
        if 'value="login"' in response.text:
            form = {"prompt": "login", "login": login, "password": "any"}
        else:
            form = {"prompt": "consent"}
        response = browser.post(action, data=form)
    raise OidcProviderError("the login did not reach the callback within 12 steps")


def _type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "")
