"""Promotion policies: the YAML a maintainer writes, validated into a ``Policy``.

The schema (every key optional except ``protected``, unknown keys refused)::

    protected:                 # labels that change only through an approved promotion request
      aliases: [champion]
      stages: [Production]     # Staging, Production or Archived ("None" cannot be protected)
    rules:                     # gates: every rule must pass before a promotion executes
      - require_tags: [owner]                               # tags set (non-blank) on the version
      - require_lineage: [training_dataset, code_commit]    # lineage fields set on the version
      - metric: auc                                         # the version's metric against a
        op: ">="                                            #   threshold: > >= < <= == !=
        value: 0.85
      - better_than_holder: {metric: auc, direction: higher}  # strictly better than the version
                                                              #   holding the target (or lower);
                                                              #   passes when there is no holder
      - require_checks: [artifacts_verified]                # named checks that must pass:
                                                            #   artifacts_verified, security_scan,
                                                            #   security_scan_strict, signature
      - require_checks:                                     # signature: a signature that
        - signature: {keys: ["sha256:<fingerprint>"]}       #   verifies, by one of these keys
                                                            #   (plain `signature`: any key)
    approvals: {min: 1, groups: [ml-leads]}   # distinct approvers, and at least one approval
                                              #   from a member of each listed group
    request_ttl: 7d            # how long a request stays open: <n>s, m, h, d or w (default 7d)

``protected`` is required so that a model policy written to add one rule never unprotects
``champion`` by omission: ``protected: {}`` says "nothing" explicitly. A model's policy replaces
the global policy for that model (no merging: what one reads is what applies).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from charter import naming
from charter.approvals import policy_yaml
from charter.errors import CharterError, InvalidArgument
from charter.signatures.bundle import fingerprint

MAX_POLICY_BYTES = 64 * 1024
# The names evidence.check_outcome can answer. security_scan: the version's files were scanned
# and none is dangerous or failed to scan; security_scan_strict: nor suspicious; signature: a
# signature that verifies (by one of the given keys, when named).
KNOWN_CHECKS = ("artifacts_verified", "security_scan", "security_scan_strict", "signature")
RULE_KINDS = (
    "require_tags",
    "require_lineage",
    "metric",
    "better_than_holder",
    "require_checks",
)
TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_TTL_SECONDS, MAX_TTL_SECONDS = 60, 365 * 86400
_TTL = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")

DEFAULT_POLICY_YAML = """\
# Built in: applies when neither the model nor the installation has a policy of its own.
protected: {aliases: [champion], stages: [Production]}
rules:
  - require_checks: [security_scan]  # scanned, and no dangerous file (pickle code execution)
approvals: {min: 1}
"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _names(value: Any, check: Any) -> tuple[str, ...]:
    """Validated, de-duplicated names in their given order; a naming error becomes a field error."""
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list, e.g. [a, b]")
    if not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    try:
        cleaned = [check(v) for v in value]
    except CharterError as exc:
        raise ValueError(exc.message) from exc
    return tuple(dict.fromkeys(cleaned))


def _any_name(value: str) -> str:
    if not value.strip():
        raise ValueError("names must not be blank")
    return value


def _metric_name(value: str) -> str:
    name = naming.normalise(value)
    if not name or len(name) > naming.METRIC_KEY_MAX or not name.isprintable():
        raise ValueError(f"metric name {value!r} must be 1 to {naming.METRIC_KEY_MAX} characters")
    return name


class Protected(_Strict):
    aliases: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _names(value, naming.alias)

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, value: Any) -> Any:
        stages = _names(value, naming.stage)
        if "None" in stages:
            raise ValueError("the stage None cannot be protected")
        return stages


class RequireTags(_Strict):
    require_tags: tuple[str, ...] = Field(min_length=1)

    @field_validator("require_tags", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _names(value, naming.tag_key)


class RequireLineage(_Strict):
    require_lineage: tuple[str, ...] = Field(min_length=1)

    @field_validator("require_lineage", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _names(value, naming.tag_key)


Comparator = Literal[">", ">=", "<", "<=", "==", "!="]


class MetricThreshold(_Strict):
    metric: str
    op: Comparator
    # strict: a YAML string "0.85" or a boolean is a mistake, not a number
    value: float = Field(strict=True, allow_inf_nan=False)

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        return _metric_name(value)


class HolderComparison(_Strict):
    metric: str
    direction: Literal["higher", "lower"] = "higher"

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        return _metric_name(value)


class BetterThanHolder(_Strict):
    better_than_holder: HolderComparison


class RequireChecks(_Strict):
    require_checks: tuple[str, ...] = Field(min_length=1)
    # Filled from a ``{signature: {keys: [...]}}`` entry of ``require_checks``, not written.
    signature_keys: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _check_options(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not isinstance(value.get("require_checks"), list):
            return value
        if "signature_keys" in value:
            raise ValueError("unknown key 'signature_keys'; write {signature: {keys: [...]}}")
        names, keys = [], []
        for item in value["require_checks"]:
            if isinstance(item, dict) and list(item) == ["signature"]:
                names.append("signature")
                keys.extend(_signature_keys(item["signature"]))
            else:
                names.append(item)
        return {**value, "require_checks": names, "signature_keys": tuple(dict.fromkeys(keys))}

    @field_validator("require_checks", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        names = _names(value, _any_name)
        for name in names:
            if name not in KNOWN_CHECKS:
                raise ValueError(f"unknown check {name!r}; known checks: {', '.join(KNOWN_CHECKS)}")
        return names


def _signature_keys(options: Any) -> list[str]:
    if not isinstance(options, dict) or set(options) != {"keys"}:
        raise ValueError("signature takes {keys: [sha256:<fingerprint>, ...]}")
    try:
        return list(_names(options["keys"], fingerprint))
    except ValueError as exc:
        raise ValueError(f"signature keys: {exc}") from exc


def _rule_kind(value: Any) -> str | None:
    """Which rule a YAML mapping is, by the one rule key it carries."""
    if isinstance(value, dict):
        kinds = [kind for kind in RULE_KINDS if kind in value]
        return kinds[0] if len(kinds) == 1 else None
    if isinstance(value, _Strict):
        return next((kind for kind in RULE_KINDS if hasattr(value, kind)), None)
    return None


Rule = Annotated[
    Annotated[RequireTags, Tag("require_tags")]
    | Annotated[RequireLineage, Tag("require_lineage")]
    | Annotated[MetricThreshold, Tag("metric")]
    | Annotated[BetterThanHolder, Tag("better_than_holder")]
    | Annotated[RequireChecks, Tag("require_checks")],
    Discriminator(
        _rule_kind,
        custom_error_type="unknown_rule",
        custom_error_message=(
            f"a rule is a mapping with exactly one of the keys {', '.join(RULE_KINDS)}"
        ),
    ),
]


class ApprovalRequirement(_Strict):
    min: int = Field(default=1, ge=1, le=100)
    groups: tuple[str, ...] = ()

    @field_validator("groups", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        return _names(value, _any_name)


class Policy(_Strict):
    protected: Protected
    rules: tuple[Rule, ...] = ()
    approvals: ApprovalRequirement = ApprovalRequirement()
    request_ttl: str = "7d"

    @field_validator("request_ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        if isinstance(value, str):
            ttl_seconds(value)  # raises ValueError naming the problem
        return value

    @property
    def ttl_ms(self) -> int:
        return ttl_seconds(self.request_ttl) * 1000

    def protects(self, kind: str, label: str) -> bool:
        return label in (self.protected.aliases if kind == "alias" else self.protected.stages)


def ttl_seconds(text: str) -> int:
    match = _TTL.match(text)
    if match is None:
        raise ValueError(f"request_ttl {text!r} is invalid: use <number><s|m|h|d|w>, e.g. 7d")
    seconds = int(match.group(1)) * TTL_UNITS[match.group(2)]
    if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"request_ttl {text!r} must be between 1m and 365d")
    return seconds


@lru_cache(maxsize=256)
def parse_policy(text: str) -> Policy:
    """The policy a YAML document describes, or InvalidArgument naming the field and line.

    Cached by text: a stored policy never changes (a change is a new version), and policies
    are read on every direct alias or stage change.
    """
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise InvalidArgument(
            f"policy is {len(text.encode())} bytes; the limit is {MAX_POLICY_BYTES}",
            field="policy",
        )
    data, node = policy_yaml.load(text)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [
            policy_yaml.problem(error, node, _yaml_path(tuple(error["loc"])))
            for error in exc.errors()
        ]
        first = problems[0]
        raise InvalidArgument(
            f"policy is invalid: {first['field']} (line {first['line']}): {first['problem']}",
            field="policy",
            problems=problems,
        ) from exc


def _yaml_path(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """pydantic's location without the rule-kind tags its discriminated union inserts."""
    path: list[str | int] = []
    for i, part in enumerate(loc):
        if i == 2 and loc[0] == "rules" and part in RULE_KINDS:
            continue
        path.append(part)
    return tuple(path)


DEFAULT_POLICY = parse_policy(DEFAULT_POLICY_YAML)
