"""Verification of JWTs from the OpenID Connect provider: ID tokens and JWT access tokens.

Only asymmetric signatures are accepted. ``alg: none`` and every HMAC algorithm are refused
before any key is touched: with HS256 an attacker could sign with the provider's *public* key
as the HMAC secret. The key is chosen by ``kid`` from the provider's key set; an unknown kid
raises ``UnknownKeyError`` so that the caller can refetch the key set once (key rotation).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from charter.errors import Unauthenticated

ALLOWED_ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
        "Ed25519",
    }
)
DEFAULT_LEEWAY_SECONDS = 60
MAX_JWT_BYTES = 16 * 1024

Claims = dict[str, Any]


class UnknownKeyError(Unauthenticated):
    """The token names a key the key set does not hold (yet: the provider may have rotated)."""


@dataclass(frozen=True)
class Expectations:
    """What a token must say to be accepted."""

    issuer: str
    audience: str
    now: int  # seconds since the epoch
    leeway: int = DEFAULT_LEEWAY_SECONDS
    nonce: str | None = None  # ID tokens: the nonce sent with the authorization request
    authorized_party: str | None = None  # ID tokens: our client id, when aud has several
    access_token: bool = False  # refuse ID tokens (they carry a nonce) presented as Bearer


def looks_like_jwt(value: str) -> bool:
    """Three base64url segments separated by dots: worth a signature check, not yet trusted."""
    parts = value.split(".")
    return len(parts) == 3 and all(parts[:2]) and len(value) <= MAX_JWT_BYTES


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, decoded without trusting it, to pick the key and refuse bad algs."""
    try:
        segment = token.split(".", 1)[0]
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("the token is malformed") from exc
    if not isinstance(header, dict):
        raise Unauthenticated("the token is malformed")
    return header


def verify(token: str, keys: KeySet, expect: Expectations) -> Claims:
    """The token's claims once its signature, issuer, audience, expiry (and nonce) check out."""
    if not looks_like_jwt(token):
        raise Unauthenticated("the token is malformed")
    header = unverified_header(token)
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise Unauthenticated(f"the token's algorithm {algorithm!r} is not accepted")
    kid = header.get("kid")
    try:
        key = keys.get_by_kid(kid if isinstance(kid, str) else None)
    except InvalidKeyIdError as exc:
        raise UnknownKeyError("the token is signed with an unknown key") from exc
    if key.alg is not None and key.alg != algorithm:
        raise Unauthenticated("the token's algorithm does not match its key")
    try:
        decoded = jwt.decode(token, key, algorithms=[algorithm])
    except JoseError as exc:
        raise Unauthenticated("the token's signature is invalid") from exc
    _check_claims(decoded.claims, expect)
    return decoded.claims


def _check_claims(claims: Claims, expect: Expectations) -> None:
    registry = jwt.JWTClaimsRegistry(
        now=expect.now,
        leeway=expect.leeway,
        iss={"essential": True, "value": expect.issuer},
        aud={"essential": True, "value": expect.audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise Unauthenticated("the token has expired") from exc
    except MissingClaimError as exc:
        raise Unauthenticated(f"the token lacks the claim {exc.claim!r}") from exc
    except InvalidClaimError as exc:
        raise Unauthenticated(f"the token's {_claim_name(exc)} is not accepted") from exc
    except JoseError as exc:
        raise Unauthenticated("the token's claims are not accepted") from exc
    if expect.access_token and "nonce" in claims:
        raise Unauthenticated("an ID token is not accepted as an access token")
    if expect.nonce is not None:
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce, expect.nonce):
            raise Unauthenticated("the ID token's nonce does not match the login")
    if expect.authorized_party is not None:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != expect.authorized_party:
            raise Unauthenticated("the ID token was issued to another client")


def _claim_name(exc: InvalidClaimError) -> str:
    names = {"iss": "issuer", "aud": "audience", "nbf": "not-before time", "sub": "subject"}
    return names.get(exc.claim, f"claim {exc.claim!r}")
