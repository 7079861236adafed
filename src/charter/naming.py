"""Rules for the names and texts users give Charter: models, tags, aliases, descriptions.

Names are case-sensitive and NFC-normalised, so the same name typed on two keyboards is the
same name. Limits follow MLflow's where it has them.
"""

from __future__ import annotations

import re
import unicodedata

from charter.errors import InvalidArgument

MODEL_NAME_MAX = 256
TAG_KEY_MAX = 250
TAG_VALUE_MAX = 5000
DESCRIPTION_MAX = 64 * 1024
ALIAS_MAX = 255
SOURCE_MAX = 4096
METRIC_KEY_MAX = 250

STAGES = ("None", "Staging", "Production", "Archived")
_STAGES_BY_LOWER = {stage.lower(): stage for stage in STAGES}

# '/' and '@' would make the references name/3 and name@alias ambiguous; MLflow refuses ':'.
_FORBIDDEN_IN_NAME = re.compile(r"[/@:\\\x00-\x1f\x7f]")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_TAG_KEY_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def model_name(value: str, field: str = "name") -> str:
    name = normalise(value)
    if not name or not name.strip():
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if name != name.strip():
        raise InvalidArgument(f"{field} must not start or end with whitespace", field=field)
    if len(name) > MODEL_NAME_MAX:
        raise InvalidArgument(
            f"{field} is {len(name)} characters long; the limit is {MODEL_NAME_MAX}", field=field
        )
    if _FORBIDDEN_IN_NAME.search(name):
        raise InvalidArgument(
            f"{field} {name!r} contains a forbidden character ('/', '@', ':', '\\' or a "
            "control character)",
            field=field,
        )
    return name


def tag_key(value: str, field: str = "key") -> str:
    key = normalise(value)
    if not key:
        raise InvalidArgument(f"tag {field} must not be empty", field=field)
    if len(key) > TAG_KEY_MAX:
        raise InvalidArgument(
            f"tag {field} is {len(key)} characters long; the limit is {TAG_KEY_MAX}", field=field
        )
    if _TAG_KEY_FORBIDDEN.search(key):
        raise InvalidArgument(f"tag {field} {key!r} contains a control character", field=field)
    return key


def no_nul(value: str | None, field: str) -> str | None:
    """PostgreSQL cannot store NUL in text; refuse it everywhere so both backends agree."""
    if value is not None and "\x00" in value:
        raise InvalidArgument(f"{field} contains a NUL character", field=field)
    return value


def tag_value(value: str, key: str) -> str:
    text = normalise(value)
    no_nul(text, f"value of tag {key!r}")
    if len(text) > TAG_VALUE_MAX:
        raise InvalidArgument(
            f"value of tag {key!r} is {len(text)} characters long; the limit is {TAG_VALUE_MAX}",
            field="value",
        )
    return text


def tags(values: dict[str, str] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw_key, raw_value in (values or {}).items():
        key = tag_key(raw_key)
        result[key] = tag_value(raw_value, key)
    return result


def description(value: str | None) -> str | None:
    if value is None:
        return None
    text = normalise(value)
    no_nul(text, "description")
    if len(text.encode()) > DESCRIPTION_MAX:
        raise InvalidArgument(
            f"description is {len(text.encode())} bytes long; the limit is {DESCRIPTION_MAX}",
            field="description",
        )
    return text


def alias(value: str) -> str:
    name = normalise(value)
    if not name:
        raise InvalidArgument("alias must not be empty", field="alias")
    if len(name) > ALIAS_MAX:
        raise InvalidArgument(
            f"alias is {len(name)} characters long; the limit is {ALIAS_MAX}", field="alias"
        )
    if _RESERVED_ALIAS.match(name):
        raise InvalidArgument(
            f"alias {name!r} is reserved: 'latest' and 'v<number>' name versions already",
            field="alias",
        )
    if not _ALIAS.match(name):
        raise InvalidArgument(
            f"alias {name!r} is invalid: use letters, digits, '_' and '-', starting with a "
            "letter or '_'",
            field="alias",
        )
    return name


def stage(value: str) -> str:
    """The canonical spelling of a stage; MLflow accepts any case."""
    canonical = _STAGES_BY_LOWER.get(value.strip().lower())
    if canonical is None:
        raise InvalidArgument(
            f"stage {value!r} is invalid; expected one of {', '.join(STAGES)}", field="stage"
        )
    return canonical


def is_stage(value: str) -> bool:
    return value.strip().lower() in _STAGES_BY_LOWER


def version_number(value: int | str, field: str = "version") -> int:
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise InvalidArgument(f"{field} must be a positive integer, got {value!r}", field=field)
    number = int(text)
    if number < 1 or number > 2**31 - 1:
        raise InvalidArgument(
            f"{field} must be between 1 and 2147483647, got {number}", field=field
        )
    return number


def source(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > SOURCE_MAX:
        raise InvalidArgument(
            f"source is {len(value)} characters long; the limit is {SOURCE_MAX}", field="source"
        )
    if "\x00" in value:
        raise InvalidArgument("source contains a NUL character", field="source")
    return value


def metrics(values: dict[str, float] | None) -> dict[str, float]:
    result: dict[str, float] = {}
    for raw_key, raw_value in (values or {}).items():
        key = normalise(raw_key)
        if not key or len(key) > METRIC_KEY_MAX or _TAG_KEY_FORBIDDEN.search(key):
            raise InvalidArgument(
                f"metric name {raw_key!r} is invalid (1 to {METRIC_KEY_MAX} printable characters)",
                field="metrics",
            )
        if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
            raise InvalidArgument(f"metric {key!r} must be a number", field="metrics")
        result[key] = float(raw_value)
    return result
