"""JWT verification: only the provider's keys, asymmetric algorithms, and the right claims."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from charter.errors import Unauthenticated
from charter.identity.jwt import Expectations, UnknownKeyError, looks_like_jwt, verify

ISSUER = "https://id.example.com"
AUDIENCE = "charter-api"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig", "alg": "ES256"})


@pytest.fixture(scope="module")
def keys(rsa_key: RSAKey, ec_key: ECKey) -> KeySet:
    """What the provider publishes: the public halves only."""
    return KeySet.import_key_set(
        {"keys": [rsa_key.as_dict(private=False), ec_key.as_dict(private=False)]}
    )


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "svc", "iat": NOW - 10, "exp": NOW + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: RSAKey | ECKey, payload: dict[str, Any], alg: str | None = None) -> str:
    algorithm = alg or str(key.alg)
    return jose_jwt.encode({"alg": algorithm, "kid": key.kid}, payload, key, algorithms=[algorithm])


def expect(**overrides: Any) -> Expectations:
    values: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "now": NOW}
    values.update(overrides)
    return Expectations(**values)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A token built by hand, as an attacker would, bypassing any library's refusals."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    return f"{head}.{body}.{b64(signature)}"


class TestAccepted:
    def test_rs256_from_the_key_set(self, rsa_key: RSAKey, keys: KeySet) -> None:
        result = verify(sign(rsa_key, claims()), keys, expect())
        assert result["sub"] == "svc"

    def test_es256_from_the_key_set(self, ec_key: ECKey, keys: KeySet) -> None:
        assert verify(sign(ec_key, claims()), keys, expect())["iss"] == ISSUER

    def test_audience_in_a_list(self, rsa_key: RSAKey, keys: KeySet) -> None:
        token = sign(rsa_key, claims(aud=["other", AUDIENCE]))
        assert verify(token, keys, expect())["aud"] == ["other", AUDIENCE]

    def test_expiry_within_the_leeway(self, rsa_key: RSAKey, keys: KeySet) -> None:
        token = sign(rsa_key, claims(exp=NOW - 30))
        assert verify(token, keys, expect(leeway=60))["sub"] == "svc"

    def test_id_token_nonce(self, rsa_key: RSAKey, keys: KeySet) -> None:
        token = sign(rsa_key, claims(nonce="n-1"))
        assert verify(token, keys, expect(nonce="n-1"))["nonce"] == "n-1"


class TestRefused:
    def test_signature_by_another_key_with_the_same_kid(self, keys: KeySet) -> None:
        impostor = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256"})
        with pytest.raises(Unauthenticated, match="signature"):
            verify(sign(impostor, claims()), keys, expect())

    def test_tampered_payload(self, rsa_key: RSAKey, keys: KeySet) -> None:
        head, _, signature = sign(rsa_key, claims()).split(".")
        forged = f"{head}.{b64(json.dumps(claims(sub='admin')).encode())}.{signature}"
        with pytest.raises(Unauthenticated, match="signature"):
            verify(forged, keys, expect())

    def test_wrong_issuer(self, rsa_key: RSAKey, keys: KeySet) -> None:
        with pytest.raises(Unauthenticated, match="issuer"):
            verify(sign(rsa_key, claims(iss="https://evil.example")), keys, expect())

    def test_wrong_audience(self, rsa_key: RSAKey, keys: KeySet) -> None:
        with pytest.raises(Unauthenticated, match="audience"):
            verify(sign(rsa_key, claims(aud="another-api")), keys, expect())

    def test_expired(self, rsa_key: RSAKey, keys: KeySet) -> None:
        with pytest.raises(Unauthenticated, match="expired"):
            verify(sign(rsa_key, claims(exp=NOW - 61)), keys, expect(leeway=60))

    def test_not_yet_valid(self, rsa_key: RSAKey, keys: KeySet) -> None:
        with pytest.raises(Unauthenticated):
            verify(sign(rsa_key, claims(nbf=NOW + 3600)), keys, expect())

    @pytest.mark.parametrize("missing", ["exp", "iss", "aud", "sub"])
    def test_missing_required_claim(self, rsa_key: RSAKey, keys: KeySet, missing: str) -> None:
        with pytest.raises(Unauthenticated):
            verify(sign(rsa_key, claims(**{missing: None})), keys, expect())

    def test_alg_none(self, keys: KeySet) -> None:
        token = handmade({"alg": "none", "kid": "rsa-1"}, claims())
        with pytest.raises(Unauthenticated, match="'none' is not accepted"):
            verify(token, keys, expect())

    def test_alg_none_without_a_signature_segment(self, keys: KeySet) -> None:
        token = handmade({"alg": "none"}, claims()).rsplit(".", 1)[0] + "."
        with pytest.raises(Unauthenticated):
            verify(token, keys, expect())

    def test_hs256_signed_with_the_public_key(self, rsa_key: RSAKey, keys: KeySet) -> None:
        """The classic confusion: HMAC keyed with the provider's public key, which anyone has."""
        public_pem = rsa_key.as_pem(private=False)
        header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
        unsigned = handmade(header, claims()).rsplit(".", 1)[0]
        signature = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
        with pytest.raises(Unauthenticated, match="'HS256' is not accepted"):
            verify(f"{unsigned}.{b64(signature)}", keys, expect())

    def test_algorithm_other_than_the_keys(self, rsa_key: RSAKey, keys: KeySet) -> None:
        """The published key says RS256; a PS256 signature by the same private key is refused."""
        unbound = {k: v for k, v in rsa_key.as_dict(private=True).items() if k != "alg"}
        token = sign(RSAKey.import_key(unbound), claims(), alg="PS256")
        with pytest.raises(Unauthenticated, match="does not match"):
            verify(token, keys, expect())

    def test_unknown_kid_asks_for_a_refetch(self, keys: KeySet) -> None:
        other = RSAKey.generate_key(2048, parameters={"kid": "rotated", "alg": "RS256"})
        with pytest.raises(UnknownKeyError):
            verify(sign(other, claims()), keys, expect())

    def test_wrong_nonce(self, rsa_key: RSAKey, keys: KeySet) -> None:
        with pytest.raises(Unauthenticated, match="nonce"):
            verify(sign(rsa_key, claims(nonce="n-1")), keys, expect(nonce="n-2"))

    def test_missing_nonce(self, rsa_key: RSAKey, keys: KeySet) -> None:
        with pytest.raises(Unauthenticated, match="nonce"):
            verify(sign(rsa_key, claims()), keys, expect(nonce="n-1"))

    def test_id_token_presented_as_an_access_token(self, rsa_key: RSAKey, keys: KeySet) -> None:
        token = sign(rsa_key, claims(nonce="n-1"))
        with pytest.raises(Unauthenticated, match="ID token is not accepted"):
            verify(token, keys, expect(access_token=True))

    def test_id_token_for_several_audiences_needs_our_azp(
        self, rsa_key: RSAKey, keys: KeySet
    ) -> None:
        token = sign(rsa_key, claims(aud=[AUDIENCE, "other"], azp="other"))
        with pytest.raises(Unauthenticated, match="another client"):
            verify(token, keys, expect(authorized_party=AUDIENCE))

    @pytest.mark.parametrize(
        "value",
        ["", "a.b", "a.b.c.d", "..", "!!!.e30.x", "e30.!!!.x", "bm90IGpzb24.e30.x", "W10.e30.x"],
    )
    def test_malformed(self, keys: KeySet, value: str) -> None:
        with pytest.raises(Unauthenticated):
            verify(value, keys, expect())


class TestLooksLikeJwt:
    def test_three_segments(self) -> None:
        assert looks_like_jwt("a.b.c")
        assert looks_like_jwt("a.b.")
        assert not looks_like_jwt("chr_abc")
        assert not looks_like_jwt("a.b")
        assert not looks_like_jwt("a." * 10_000 + "b")
