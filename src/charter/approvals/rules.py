"""Evaluating a policy against a version's evidence, and counting approvals: no I/O here.

Every rule result keeps the values the rule saw, so a reviewer (or an auditor, later) can tell
why it passed or failed without re-running it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter import naming
from charter.approvals.policy import (
    ApprovalRequirement,
    BetterThanHolder,
    MetricThreshold,
    Policy,
    RequireChecks,
    RequireLineage,
    RequireTags,
    Rule,
)
from charter.errors import InvalidArgument

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Target:
    """Where a promotion moves a version: an alias or a stage."""

    kind: str  # alias | stage
    label: str

    def __str__(self) -> str:
        return f"{self.kind} {self.label}"

    def normalised(self) -> Target:
        """The canonical spelling (NFC alias, capitalised stage), or InvalidArgument."""
        if self.kind == "alias":
            return Target(self.kind, naming.alias(self.label))
        if self.kind == "stage":
            return Target(self.kind, naming.stage(self.label))
        raise InvalidArgument(f"target kind {self.kind!r} is not alias or stage", field="target")


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one named check (artifact verification, later scans and signatures)."""

    passed: bool
    detail: str
    seen: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HolderEvidence:
    """The version that holds the promotion's target now."""

    version: int
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class Evidence:
    """Everything the rules may look at, gathered once per evaluation."""

    version: int
    tags: Mapping[str, str]
    metrics: Mapping[str, float]
    lineage: Mapping[str, str]
    holder: HolderEvidence | None
    checks: Mapping[str, CheckOutcome]


@dataclass(frozen=True)
class RuleResult:
    rule: str  # the rule as a reviewer reads it, e.g. "metrics.auc >= 0.85"
    kind: str
    passed: bool
    message: str
    seen: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "passed": self.passed,
            "message": self.message,
            "seen": self.seen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleResult:
        return cls(
            rule=str(data["rule"]),
            kind=str(data["kind"]),
            passed=bool(data["passed"]),
            message=str(data["message"]),
            seen=dict(data.get("seen") or {}),
        )


def evaluate(policy: Policy, evidence: Evidence) -> list[RuleResult]:
    return [evaluate_rule(rule, evidence) for rule in policy.rules]


def evaluate_rule(rule: Rule, evidence: Evidence) -> RuleResult:
    match rule:
        case RequireTags():
            return _present("require_tags", "tag", rule.require_tags, evidence.tags)
        case RequireLineage():
            return _present(
                "require_lineage", "lineage field", rule.require_lineage, evidence.lineage
            )
        case MetricThreshold():
            return _threshold(rule, evidence)
        case BetterThanHolder():
            return _better_than_holder(rule, evidence)
        case RequireChecks():
            return _checks(rule, evidence)
    raise AssertionError(f"unhandled rule {rule!r}")  # pragma: no cover - the union is closed


def _present(kind: str, noun: str, keys: Sequence[str], values: Mapping[str, str]) -> RuleResult:
    seen = {key: values.get(key) for key in keys}
    missing = [key for key, value in seen.items() if value is None or not value.strip()]
    message = (
        f"missing {noun}s: {', '.join(missing)}" if missing else f"all {len(keys)} {noun}s set"
    )
    return RuleResult(f"{kind}: {', '.join(keys)}", kind, not missing, message, seen)


def _threshold(rule: MetricThreshold, evidence: Evidence) -> RuleResult:
    text = f"metrics.{rule.metric} {rule.op} {rule.value:g}"
    value = evidence.metrics.get(rule.metric)
    seen: dict[str, Any] = {f"metrics.{rule.metric}": value}
    if value is None or math.isnan(value):
        return RuleResult(text, "metric", False, f"version has no metric {rule.metric}", seen)
    passed = _COMPARATORS[rule.op](value, rule.value)
    verdict = "meets" if passed else "does not meet"
    message = f"{rule.metric} is {value:g}: {verdict} {rule.op} {rule.value:g}"
    return RuleResult(text, "metric", passed, message, seen)


def _better_than_holder(rule: BetterThanHolder, evidence: Evidence) -> RuleResult:
    metric, higher = rule.better_than_holder.metric, rule.better_than_holder.direction == "higher"
    op = ">" if higher else "<"
    text = f"metrics.{metric} {op} holder.metrics.{metric}"
    value = evidence.metrics.get(metric)
    holder = evidence.holder
    seen: dict[str, Any] = {
        f"metrics.{metric}": value,
        "holder.version": holder.version if holder else None,
        f"holder.metrics.{metric}": holder.metrics.get(metric) if holder else None,
    }
    if value is None or math.isnan(value):
        return RuleResult(text, "better_than_holder", False, f"version has no {metric}", seen)
    if holder is None:
        return RuleResult(text, "better_than_holder", True, "no current holder to beat", seen)
    theirs = holder.metrics.get(metric)
    if theirs is None or math.isnan(theirs):
        message = f"holder version {holder.version} has no {metric}: nothing to beat"
        return RuleResult(text, "better_than_holder", True, message, seen)
    passed = _COMPARATORS[op](value, theirs)
    verdict = "beats" if passed else "does not beat"
    message = f"{metric} {value:g} {verdict} holder version {holder.version}'s {theirs:g}"
    return RuleResult(text, "better_than_holder", passed, message, seen)


def _checks(rule: RequireChecks, evidence: Evidence) -> RuleResult:
    seen: dict[str, Any] = {}
    failed = []
    for name in rule.require_checks:
        outcome = evidence.checks.get(name)
        if outcome is None:
            outcome = CheckOutcome(False, "no result for this check")
        seen[name] = {"passed": outcome.passed, "detail": outcome.detail, **outcome.seen}
        if not outcome.passed:
            failed.append(f"{name} ({outcome.detail})")
    message = f"failed: {'; '.join(failed)}" if failed else "all checks passed"
    text = f"require_checks: {', '.join(rule.require_checks)}"
    return RuleResult(text, "require_checks", not failed, message, seen)


# --- approvals and separation of duties -------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """One recorded approval: who, and the groups they were in when they approved."""

    approver: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Tally:
    required: int
    approvers: tuple[str, ...]  # distinct, in the order they approved
    missing_groups: tuple[str, ...]

    @property
    def received(self) -> int:
        return len(self.approvers)

    def satisfied(self, *, enforce_groups: bool = True) -> bool:
        enough = self.received >= self.required
        return enough and (not enforce_groups or not self.missing_groups)


def tally(approvals: Sequence[Approval], requirement: ApprovalRequirement) -> Tally:
    """Count each person once, and see which required groups no approver belongs to."""
    approvers = tuple(dict.fromkeys(a.approver for a in approvals))
    covered = {group for a in approvals for group in a.groups}
    missing = tuple(g for g in requirement.groups if g not in covered)
    return Tally(required=requirement.min, approvers=approvers, missing_groups=missing)


def separation_of_duties(
    approver: str, *, requested_by: str, version_created_by: str
) -> str | None:
    """Why ``approver`` may not approve this request, or None when they may.

    The person who asks for a promotion and the person who built the version are the two
    whose judgement an approval exists to check.
    """
    if approver == requested_by:
        return f"{approver} requested this promotion; someone else must approve it"
    if approver == version_created_by:
        return f"{approver} created this version; someone else must approve it"
    return None
