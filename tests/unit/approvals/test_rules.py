"""Rule evaluation: each rule's verdict and the values it saw."""

from __future__ import annotations

import math
from typing import Any

import pytest

from charter.approvals.policy import parse_policy
from charter.approvals.rules import (
    CheckOutcome,
    Evidence,
    HolderEvidence,
    RuleResult,
    evaluate,
)


def evidence(**changes: Any) -> Evidence:
    values: dict[str, Any] = {
        "version": 3,
        "tags": {"owner": "fraud-team"},
        "metrics": {"auc": 0.9, "latency_p99_ms": 40.0},
        "lineage": {"training_dataset": "s3://d/2026-11", "code_commit": "abc123"},
        "holder": HolderEvidence(version=2, metrics={"auc": 0.88}),
        "checks": {"artifacts_verified": CheckOutcome(True, "all 2 files match")},
    }
    values.update(changes)
    return Evidence(**values)


def one(rule_yaml: str, facts: Evidence) -> RuleResult:
    policy = parse_policy(f"protected: {{}}\nrules:\n  - {rule_yaml}\n")
    [result] = evaluate(policy, facts)
    return result


class TestRequireTags:
    def test_present(self) -> None:
        result = one("require_tags: [owner]", evidence())
        assert result.passed
        assert result.seen == {"owner": "fraud-team"}

    def test_missing_and_blank_tags_fail_and_are_named(self) -> None:
        result = one("require_tags: [owner, team]", evidence(tags={"owner": "  "}))
        assert not result.passed
        assert result.message == "missing tags: owner, team"
        assert result.seen == {"owner": "  ", "team": None}


class TestRequireLineage:
    def test_reads_the_lineage_not_the_tags(self) -> None:
        facts = evidence(tags={"training_dataset": "x"}, lineage={"code_commit": "abc"})
        result = one("require_lineage: [training_dataset, code_commit]", facts)
        assert not result.passed
        assert result.kind == "require_lineage"
        assert result.seen == {"training_dataset": None, "code_commit": "abc"}


class TestMetricThreshold:
    @pytest.mark.parametrize(
        ("op", "threshold", "passed"),
        [
            (">=", 0.9, True),
            (">", 0.9, False),
            ("<=", 0.9, True),
            ("<", 0.95, True),
            ("==", 0.9, True),
            ("!=", 0.9, False),
        ],
    )
    def test_comparators(self, op: str, threshold: float, passed: bool) -> None:
        result = one(f"{{metric: auc, op: '{op}', value: {threshold}}}", evidence())
        assert result.passed is passed
        assert result.seen == {"metrics.auc": 0.9}
        assert result.rule == f"metrics.auc {op} {threshold:g}"

    def test_an_upper_bound(self) -> None:
        result = one("{metric: latency_p99_ms, op: '<=', value: 50}", evidence())
        assert result.passed
        assert result.message == "latency_p99_ms is 40: meets <= 50"

    def test_a_missing_metric_fails(self) -> None:
        result = one("{metric: recall, op: '>=', value: 0.5}", evidence())
        assert not result.passed
        assert result.seen == {"metrics.recall": None}
        assert "no metric recall" in result.message

    def test_nan_fails_whatever_the_comparator(self) -> None:
        result = one("{metric: auc, op: '!=', value: 0.5}", evidence(metrics={"auc": math.nan}))
        assert not result.passed


class TestBetterThanHolder:
    def test_higher_is_better(self) -> None:
        result = one("better_than_holder: {metric: auc}", evidence())
        assert result.passed
        assert result.seen == {
            "metrics.auc": 0.9,
            "holder.version": 2,
            "holder.metrics.auc": 0.88,
        }

    def test_equal_is_not_better(self) -> None:
        facts = evidence(holder=HolderEvidence(version=2, metrics={"auc": 0.9}))
        assert not one("better_than_holder: {metric: auc}", facts).passed

    def test_lower_is_better(self) -> None:
        facts = evidence(holder=HolderEvidence(version=2, metrics={"latency_p99_ms": 45.0}))
        rule = "better_than_holder: {metric: latency_p99_ms, direction: lower}"
        result = one(rule, facts)
        assert result.passed
        assert result.rule == "metrics.latency_p99_ms < holder.metrics.latency_p99_ms"

    def test_passes_when_nothing_holds_the_target(self) -> None:
        result = one("better_than_holder: {metric: auc}", evidence(holder=None))
        assert result.passed
        assert result.seen["holder.version"] is None
        assert result.message == "no current holder to beat"

    def test_passes_when_the_holder_lacks_the_metric(self) -> None:
        facts = evidence(holder=HolderEvidence(version=2, metrics={}))
        result = one("better_than_holder: {metric: auc}", facts)
        assert result.passed
        assert "holder version 2 has no auc" in result.message

    def test_fails_when_the_candidate_lacks_the_metric(self) -> None:
        assert not one("better_than_holder: {metric: auc}", evidence(metrics={})).passed


class TestRequireChecks:
    def test_passed(self) -> None:
        result = one("require_checks: [artifacts_verified]", evidence())
        assert result.passed
        assert result.seen == {
            "artifacts_verified": {"passed": True, "detail": "all 2 files match"}
        }

    def test_a_failed_check_fails_with_its_detail_and_values(self) -> None:
        outcome = CheckOutcome(False, "1 problems", {"problems": [{"path": "model.pkl"}]})
        result = one(
            "require_checks: [artifacts_verified]",
            evidence(checks={"artifacts_verified": outcome}),
        )
        assert not result.passed
        assert "artifacts_verified (1 problems)" in result.message
        assert result.seen["artifacts_verified"]["problems"] == [{"path": "model.pkl"}]

    def test_a_check_without_a_result_fails(self) -> None:
        result = one("require_checks: [artifacts_verified]", evidence(checks={}))
        assert not result.passed
        assert "no result" in result.message


class TestEvaluate:
    def test_one_result_per_rule_in_order(self) -> None:
        policy = parse_policy(
            "protected: {}\nrules:\n"
            "  - require_tags: [owner]\n"
            "  - {metric: auc, op: '>=', value: 0.95}\n"
            "  - better_than_holder: {metric: auc}\n"
        )
        results = evaluate(policy, evidence())
        assert [(r.kind, r.passed) for r in results] == [
            ("require_tags", True),
            ("metric", False),
            ("better_than_holder", True),
        ]

    def test_results_survive_storage_as_json(self) -> None:
        [result] = evaluate(
            parse_policy("protected: {}\nrules:\n  - require_tags: [owner]\n"), evidence()
        )
        assert RuleResult.from_dict(result.as_dict()) == result
