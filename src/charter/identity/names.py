"""Rules for account, group and token names, and for names taken from an SSO provider.

Names are case-sensitive and NFC-normalised like every name in Charter. An account name may
not hold ':' (HTTP Basic separates the user name from the password with it), '/', '\\' or
whitespace; it may hold '@', so an e-mail address is a valid account name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from charter import naming
from charter.errors import InvalidArgument
from charter.identity.models import NAME_MAX

TOKEN_NAME_MAX = 128
_FORBIDDEN_IN_USER = re.compile(r"[:/\\\s\x00-\x1f\x7f]")
_FORBIDDEN_IN_GROUP = re.compile(r"[\x00-\x1f\x7f]")


def user_name(value: str, field: str = "name") -> str:
    name = naming.normalise(value)
    if not name:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(name) > NAME_MAX:
        raise InvalidArgument(
            f"{field} is {len(name)} characters long; the limit is {NAME_MAX}", field=field
        )
    if _FORBIDDEN_IN_USER.search(name):
        raise InvalidArgument(
            f"{field} {name!r} contains a forbidden character (':', '/', '\\', whitespace or a "
            "control character)",
            field=field,
        )
    return name


def group_name(value: str, field: str = "group") -> str:
    name = naming.normalise(value)
    if not name or name != name.strip():
        raise InvalidArgument(
            f"{field} {value!r} must not be empty or start or end with whitespace", field=field
        )
    if len(name) > NAME_MAX:
        raise InvalidArgument(
            f"{field} is {len(name)} characters long; the limit is {NAME_MAX}", field=field
        )
    if _FORBIDDEN_IN_GROUP.search(name):
        raise InvalidArgument(f"{field} {name!r} contains a control character", field=field)
    return name


def group_names(values: Iterable[str], field: str = "group") -> list[str]:
    return sorted({group_name(value, field) for value in values})


def token_name(value: str, field: str = "name") -> str:
    name = naming.normalise(value).strip()
    if not name or len(name) > TOKEN_NAME_MAX or _FORBIDDEN_IN_GROUP.search(name):
        raise InvalidArgument(
            f"token {field} must be 1 to {TOKEN_NAME_MAX} printable characters", field=field
        )
    return name


def from_provider(candidates: Iterable[object], subject: str) -> str:
    """An account name for a new SSO identity: the first usable candidate claim, made valid.

    Forbidden characters become '-'; with no usable candidate the name is derived from the
    subject, which is stable but opaque.
    """
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        cleaned = _FORBIDDEN_IN_USER.sub("-", naming.normalise(candidate)).strip("-")
        if cleaned:
            return cleaned[:NAME_MAX]
    return "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:16]


def groups_from_claim(value: object) -> list[str] | None:
    """The groups a provider's claim lists; None when the claim is absent or not a list.

    Entries that are not valid group names are dropped rather than failing the login.
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    result = set()
    for entry in value:
        if isinstance(entry, str):
            try:
                result.add(group_name(entry))
            except InvalidArgument:
                continue
    return sorted(result)
