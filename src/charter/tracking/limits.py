"""MLflow's rules for what a run may log: key names, value lengths and batch sizes.

The numbers and the wording follow ``mlflow/utils/validation.py`` so that a client sees the
same INVALID_PARAMETER_VALUE it would get from an MLflow server. One difference: MLflow may
truncate an over-long param or tag value; Charter refuses it, so nothing is silently lost
(the official client truncates before sending anyway).
"""

from __future__ import annotations

import math
import posixpath
import re
import unicodedata

from charter.errors import InvalidArgument

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ENTITY_KEY_LENGTH = 250
MAX_RUN_NAME_LENGTH = 250
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500

# Slashes, alphanumerics, underscores, periods, dashes, colons and spaces (POSIX servers).
_NAME = re.compile(r"^[/\w.\- :]*$")


def key(name: str, what: str, field: str = "key") -> str:
    """A metric, param or tag name: MLflow's characters, and no path tricks."""
    name = unicodedata.normalize("NFC", name)
    if not name:
        raise InvalidArgument(f"{what} name must not be empty", field=field)
    if not _NAME.match(name):
        raise InvalidArgument(
            f"invalid {what} name {name!r}: names may only contain alphanumerics, underscores "
            "(_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)",
            field=field,
        )
    normalised = posixpath.normpath(name)
    if normalised != name or normalised == "." or normalised.startswith(("..", "/")):
        raise InvalidArgument(
            f"invalid {what} name {name!r}: names may be treated as files and must not "
            f"resolve to other names (this one resolves to {normalised!r})",
            field=field,
        )
    return length(name, MAX_ENTITY_KEY_LENGTH, f"{what} name", field)


def length(value: str, limit: int, what: str, field: str) -> str:
    if len(value) > limit:
        raise InvalidArgument(
            f"{what} exceeds the maximum length of {limit} characters ({len(value)} given)",
            field=field,
        )
    return value


def param_value(value: str, name: str) -> str:
    return length(value, MAX_PARAM_VAL_LENGTH, f"value of param {name!r}", "value")


def tag_value(value: str, name: str) -> str:
    return length(value, MAX_TAG_VAL_LENGTH, f"value of tag {name!r}", "value")


def metric_point(name: str, value: float, timestamp: int, field: str = "metric") -> str:
    name = key(name, "metric", field)
    if timestamp < 0:
        raise InvalidArgument(
            f"invalid timestamp {timestamp} of metric {name!r}: it must be a nonnegative long",
            field=field,
        )
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise InvalidArgument(f"value of metric {name!r} must be a double", field=field)
    return name


def is_nan(value: float) -> bool:
    return math.isnan(value)


def batch_sizes(metrics: int, params: int, tags: int) -> None:
    _batch("metrics", MAX_METRICS_PER_BATCH, metrics)
    _batch("params", MAX_PARAMS_TAGS_PER_BATCH, params)
    _batch("tags", MAX_PARAMS_TAGS_PER_BATCH, tags)
    _batch("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, metrics + params + tags)


def _batch(what: str, limit: int, count: int) -> None:
    if count > limit:
        raise InvalidArgument(
            f"A batch logging request can contain at most {limit} {what}. Got {count} "
            f"{what}. Please split up {what} across multiple requests and try again.",
            field=what,
            limit=limit,
        )


def experiment_name(name: str | None) -> str:
    if name is None or not name.strip():
        raise InvalidArgument(f"Invalid experiment name: {name!r}", field="name")
    name = unicodedata.normalize("NFC", name)
    return length(name, MAX_EXPERIMENT_NAME_LENGTH, "experiment name", "name")


def run_name(name: str) -> str:
    return length(unicodedata.normalize("NFC", name), MAX_RUN_NAME_LENGTH, "run name", "run_name")


def experiment_id(value: str | int | None, field: str = "experiment_id") -> int:
    """MLflow sends experiment ids as strings of digits; Charter stores integers."""
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not text.isascii() or int(text) > 2**31 - 1:
        raise InvalidArgument(f"Invalid experiment ID: {value!r}", field=field)
    return int(text)
