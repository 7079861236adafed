"""Keyset pagination: opaque page tokens that stay valid while rows are inserted.

A token holds the sort key of the last row of the previous page and a fingerprint of the
query's ordering, so a token from one ordering is refused by another instead of silently
skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from charter.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

T = TypeVar("T")

KeyValue = str | int | float | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None


def page_size(
    value: int | None, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    if value is None:
        return default
    if value < 1 or value > maximum:
        raise InvalidArgument(
            f"max_results must be between 1 and {maximum}, got {value}", field="max_results"
        )
    return value


def encode_token(ordering: str, key: Sequence[KeyValue]) -> str:
    raw = json.dumps({"o": ordering, "k": list(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str | None, ordering: str) -> list[KeyValue] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("page_token is malformed", field="page_token") from exc
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise InvalidArgument("page_token is malformed", field="page_token")
    if data.get("o") != ordering:
        raise InvalidArgument(
            "page_token belongs to a query with another ordering", field="page_token"
        )
    values: list[KeyValue] = data["k"]
    if not all(v is None or isinstance(v, str | int | float) for v in values):
        raise InvalidArgument("page_token is malformed", field="page_token")
    return values
