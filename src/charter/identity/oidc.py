"""The OpenID Connect relying party: discovery, keys, the code + PKCE login, JWT access tokens.

The provider's metadata and key set are cached in the process with a time to live. That is
safe across replicas: they are public and versioned by ``kid``, so a replica with an older copy
at worst refetches when it meets a key it does not know (rate-limited, so forged tokens with
random kids cannot make Charter hammer the provider). Nothing else is cached.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
from joserfc.jwk import KeySet

from charter.config import Settings
from charter.errors import InvalidArgument, Unauthenticated, Unavailable
from charter.identity import jwt
from charter.identity.jwt import Claims, Expectations, UnknownKeyError

METADATA_TTL_SECONDS = 3600.0
KEYS_TTL_SECONDS = 300.0
# At most one refetch of the key set per this many seconds for unknown kids.
KEYS_REFETCH_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str | None
    audience: str | None
    groups_claim: str
    scopes: str
    redirect_url: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration, or None when single sign-on is not set up; checked, no I/O."""
        if not settings.oidc_issuer or not settings.oidc_client_id:
            return None
        require_secure_url(settings.oidc_issuer, "CHARTER_OIDC_ISSUER")
        if "openid" not in settings.oidc_scopes.split():
            raise InvalidArgument("CHARTER_OIDC_SCOPES must include 'openid'", field="scopes")
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            audience=settings.oidc_audience,
            groups_claim=settings.oidc_groups_claim,
            scopes=settings.oidc_scopes,
            redirect_url=settings.oidc_redirect_url,
        )


def require_secure_url(url: str, field: str) -> None:
    """https, or plain http to a loopback address only (a provider run beside Charter)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise InvalidArgument(f"{field} {url!r} must be an https URL", field=field)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class LoginRequest:
    """The secrets of one browser login: kept in a cookie, checked at the callback."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> LoginRequest:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))

    @property
    def code_challenge(self) -> str:
        """PKCE S256: base64url(SHA-256(verifier)) without padding (RFC 7636)."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


class OidcClient:
    """One provider's relying party; one per application, shared by its requests (threads)."""

    def __init__(self, config: OidcConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    # -- provider documents ------------------------------------------------------------

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            if self._metadata is None or _age(self._metadata_at) > METADATA_TTL_SECONDS:
                self._metadata = self._discover()
                self._metadata_at = time.monotonic()
            return self._metadata

    def key_set(self, *, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            stale = self._keys is None or _age(self._keys_at) > KEYS_TTL_SECONDS
            may_refresh = refresh and _age(self._keys_at) > KEYS_REFETCH_SECONDS
            if stale or may_refresh or self._keys is None:
                self._keys = KeySet.import_key_set(
                    {"keys": self._get_json(metadata.jwks_uri).get("keys", [])}
                )
                self._keys_at = time.monotonic()
            return self._keys

    def _discover(self) -> ProviderMetadata:
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._get_json(url)
        if document.get("issuer") != self.config.issuer:
            raise Unavailable(
                "the identity provider's discovery document names another issuer "
                f"({document.get('issuer')!r}); check CHARTER_OIDC_ISSUER"
            )
        try:
            return ProviderMetadata(
                issuer=document["issuer"],
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
                userinfo_endpoint=document.get("userinfo_endpoint"),
            )
        except KeyError as exc:
            raise Unavailable(f"the identity provider's discovery lacks {exc.args[0]}") from exc

    # -- tokens --------------------------------------------------------------------------

    def verify(self, token: str, expect: Expectations) -> Claims:
        """Verify against the provider's keys, refetching them once for an unknown kid."""
        try:
            return jwt.verify(token, self.key_set(), expect)
        except UnknownKeyError:
            return jwt.verify(token, self.key_set(refresh=True), expect)

    def verify_access_token(self, token: str) -> Claims:
        """A JWT access token presented as Bearer: only when an audience is configured."""
        if not self.config.audience:
            raise Unauthenticated("JWT access tokens are not accepted (no audience configured)")
        return self.verify(
            token,
            Expectations(
                issuer=self.config.issuer,
                audience=self.config.audience,
                now=int(time.time()),
                access_token=True,
            ),
        )

    def verify_id_token(self, token: str, nonce: str) -> Claims:
        return self.verify(
            token,
            Expectations(
                issuer=self.config.issuer,
                audience=self.config.client_id,
                now=int(time.time()),
                nonce=nonce,
                authorized_party=self.config.client_id,
            ),
        )

    # -- the browser login ---------------------------------------------------------------

    def authorization_url(self, login: LoginRequest, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.config.scopes,
                "state": login.state,
                "nonce": login.nonce,
                "code_challenge": login.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        endpoint = self.metadata().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange_code(self, code: str, login: LoginRequest, redirect_uri: str) -> Claims:
        """Trade the code for tokens; return the verified ID token's claims merged with userinfo."""
        metadata = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": login.code_verifier,
        }
        response = self._post_token(metadata.token_endpoint, form)
        id_token = response.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthenticated("the identity provider returned no ID token")
        claims = self.verify_id_token(id_token, login.nonce)
        access_token = response.get("access_token")
        if metadata.userinfo_endpoint and isinstance(access_token, str):
            # Many providers put only ``sub`` in the ID token of a code flow; the profile and
            # groups are at the userinfo endpoint. Its ``sub`` must be the ID token's.
            info = self._get_json(metadata.userinfo_endpoint, bearer=access_token)
            if info.get("sub") != claims["sub"]:
                raise Unauthenticated("the userinfo response is about another subject")
            claims = {**info, **claims}
        return claims

    def _post_token(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            with self._http() as client:
                if self.config.client_secret:
                    # client_secret_basic; RFC 6749 2.3.1 form-encodes both parts first.
                    auth = httpx.BasicAuth(
                        quote_plus(self.config.client_id), quote_plus(self.config.client_secret)
                    )
                    response = client.post(url, data=form, auth=auth)
                else:
                    response = client.post(url, data={**form, "client_id": self.config.client_id})
        except httpx.HTTPError as exc:
            raise Unavailable("the identity provider cannot be reached") from exc
        if response.status_code != 200:
            raise Unauthenticated(
                f"the identity provider refused the login ({_oauth_error(response)})"
            )
        return _json_object(response)

    # -- HTTP ----------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(
            timeout=HTTP_TIMEOUT_SECONDS, transport=self._transport, follow_redirects=False
        )

    def _get_json(self, url: str, bearer: str | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            with self._http() as client:
                response = client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable("the identity provider cannot be reached") from exc
        if response.status_code != 200:
            raise Unavailable(
                f"the identity provider answered {response.status_code} for {urlsplit(url).path}"
            )
        return _json_object(response)


def _age(since: float) -> float:
    return time.monotonic() - since


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise Unavailable("the identity provider sent a response that is not JSON") from exc
    if not isinstance(body, dict):
        raise Unavailable("the identity provider sent a response that is not a JSON object")
    return body


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return f"HTTP {response.status_code}"
