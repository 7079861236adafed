"""API tokens and session secrets: how they are made, hashed and told apart from junk."""

from __future__ import annotations

import hashlib
import math

import pytest

from charter.errors import InvalidArgument
from charter.identity import tokens


class TestGenerate:
    def test_has_the_prefix_and_a_base62_body_holding_256_bits(self) -> None:
        secret = tokens.generate()
        body = secret.removeprefix(tokens.TOKEN_PREFIX)
        assert secret.startswith("chr_")
        assert len(body) == 43
        assert body.isalnum()
        assert body.isascii()
        # 43 base62 digits can hold every 32-byte value, and nothing is lost to padding.
        assert 43 * math.log2(62) >= 256

    def test_every_secret_is_new(self) -> None:
        assert len({tokens.generate() for _ in range(1000)}) == 1000

    def test_session_secrets_have_their_own_prefix(self) -> None:
        secret = tokens.generate(tokens.SESSION_PREFIX)
        assert secret.startswith("chs_")
        assert tokens.is_well_formed(secret, tokens.SESSION_PREFIX)
        assert not tokens.is_well_formed(secret, tokens.TOKEN_PREFIX)

    def test_small_values_are_padded_to_full_length(self) -> None:
        assert tokens._base62(bytes(32)) == "0" * 43
        assert tokens._base62(b"\xff" * 32)[0] != "0"


class TestHash:
    def test_is_the_sha256_of_the_whole_secret(self) -> None:
        secret = tokens.generate()
        assert tokens.hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
        assert len(tokens.hash_secret(secret)) == 64

    def test_differs_for_different_secrets(self) -> None:
        assert tokens.hash_secret(tokens.generate()) != tokens.hash_secret(tokens.generate())


class TestWellFormed:
    @pytest.mark.parametrize(
        "value",
        [
            "",
            "chr_",
            "chr_short",
            "chr_" + "a" * 42,
            "chr_" + "a" * 44,
            "chr_" + "a" * 42 + "-",
            "chr_" + "a" * 42 + "é",
            "xyz_" + "a" * 43,
            "CHR_" + "a" * 43,
            "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ],
    )
    def test_refuses(self, value: str) -> None:
        assert not tokens.is_well_formed(value)

    def test_accepts_a_generated_token(self) -> None:
        assert tokens.is_well_formed(tokens.generate())


class TestDuration:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("90s", 90),
            ("15m", 900),
            ("12h", 43200),
            ("30d", 2592000),
            ("2w", 1209600),
            (" 1d ", 86400),
        ],
    )
    def test_units(self, text: str, seconds: int) -> None:
        assert tokens.parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "30", "d", "-1d", "1.5d", "0d", "30 days", "99999w"])
    def test_bad_durations_name_the_field(self, text: str) -> None:
        with pytest.raises(InvalidArgument, match="expires_in"):
            tokens.parse_duration(text)
