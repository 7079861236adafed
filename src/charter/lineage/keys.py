"""How lineage entities are identified: normalised keys, so that the same dataset, commit or
feature view written two ways is one entity and impact queries find every version."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from charter.errors import InvalidArgument

# Index entries must fit PostgreSQL's btree row limit (about 2,700 bytes): the unique key
# (kind, name, revision, namespace) stays below it in UTF-8 whatever the characters.
NAME_MAX_BYTES = 1024
REVISION_MAX_BYTES = 256
NAMESPACE_MAX_BYTES = 256

_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
_SCP_LIKE = re.compile(r"^(?:[\w.\-]+@)?([\w.\-]+):(?!//)(.+)$")


def text(value: str, field: str, max_bytes: int) -> str:
    """NFC, trimmed, without NUL or control characters, within ``max_bytes`` of UTF-8."""
    cleaned = unicodedata.normalize("NFC", value).strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in cleaned):
        raise InvalidArgument(f"{field} contains a control character", field=field)
    size = len(cleaned.encode())
    if size > max_bytes:
        raise InvalidArgument(
            f"{field} is {size} bytes long in UTF-8; the limit is {max_bytes}", field=field
        )
    return cleaned


def required(value: str, field: str, max_bytes: int) -> str:
    cleaned = text(value, field, max_bytes)
    if not cleaned:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    return cleaned


def optional(value: str | None, field: str, max_bytes: int) -> str:
    """'' for an absent value: entity keys never hold NULL."""
    return "" if value is None else text(value, field, max_bytes)


def commit(value: str, field: str = "commit") -> str:
    sha = value.strip().lower()
    if not _COMMIT.match(sha):
        raise InvalidArgument(
            f"{field} {value!r} is not a commit SHA: expected 7 to 64 hexadecimal digits",
            field=field,
        )
    return sha


def repository(url: str | None, field: str = "repo") -> str:
    """A repository URL without scheme, credentials, ``.git`` or trailing slash, host in lower
    case: ``git@github.com:org/repo.git`` and ``https://github.com/org/repo`` are one key."""
    if url is None:
        return ""
    raw = required(url, field, NAME_MAX_BYTES)
    scp = _SCP_LIKE.match(raw)
    if scp and "://" not in raw:
        host, path = scp.group(1), scp.group(2)
    else:
        parts = urlsplit(raw if "://" in raw else f"//{raw}")
        host, path = (parts.hostname or "") + (f":{parts.port}" if parts.port else ""), parts.path
    path = path.strip("/")
    path = path.removesuffix(".git")
    return f"{host.lower()}/{path}" if host else path
