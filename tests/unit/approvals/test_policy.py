"""Policy YAML: what parses, what it means, and errors that name the field and the line."""

from __future__ import annotations

import pytest

from charter.approvals.policy import (
    DEFAULT_POLICY,
    MAX_POLICY_BYTES,
    BetterThanHolder,
    MetricThreshold,
    RequireChecks,
    RequireLineage,
    RequireTags,
    parse_policy,
    ttl_seconds,
)
from charter.errors import InvalidArgument

EXAMPLE = """\
protected: {aliases: [champion], stages: [production]}
rules:
  - require_tags: [owner]
  - require_lineage: [training_dataset, code_commit]
  - metric: auc
    op: ">="
    value: 0.85
  - metric: latency_p99_ms
    op: "<="
    value: 50
  - better_than_holder: {metric: auc, direction: higher}
  - require_checks: [artifacts_verified]
approvals: {min: 2, groups: [ml-leads, risk]}
request_ttl: 3d
"""


class TestParse:
    def test_the_documented_example(self) -> None:
        policy = parse_policy(EXAMPLE)
        assert policy.protected.aliases == ("champion",)
        assert policy.protected.stages == ("Production",)  # canonical spelling of the stage
        assert [type(r) for r in policy.rules] == [
            RequireTags,
            RequireLineage,
            MetricThreshold,
            MetricThreshold,
            BetterThanHolder,
            RequireChecks,
        ]
        assert policy.rules[3] == MetricThreshold(metric="latency_p99_ms", op="<=", value=50.0)
        assert policy.approvals.min == 2
        assert policy.approvals.groups == ("ml-leads", "risk")
        assert policy.ttl_ms == 3 * 86400 * 1000

    def test_defaults(self) -> None:
        policy = parse_policy("protected: {}")
        assert policy.protected.aliases == ()
        assert policy.protected.stages == ()
        assert policy.rules == ()
        assert policy.approvals.min == 1
        assert policy.ttl_ms == 7 * 86400 * 1000

    def test_the_built_in_default_protects_champion_and_production_with_one_approval(self) -> None:
        assert DEFAULT_POLICY.protects("alias", "champion")
        assert DEFAULT_POLICY.protects("stage", "Production")
        assert not DEFAULT_POLICY.protects("alias", "challenger")
        assert not DEFAULT_POLICY.protects("stage", "Staging")
        assert DEFAULT_POLICY.rules == (RequireChecks(require_checks=("security_scan",)),)
        assert DEFAULT_POLICY.approvals.min == 1

    def test_repeated_names_count_once(self) -> None:
        policy = parse_policy("protected: {aliases: [champion, champion]}")
        assert policy.protected.aliases == ("champion",)


class TestErrors:
    @pytest.mark.parametrize(
        ("document", "field", "line", "fragment"),
        [
            ("rules: []\n", "protected", 1, "is required"),
            ("protected:\n", "protected", 1, "must be a mapping"),
            ("protected: {aliases: champion}\n", "protected.aliases", 1, "must be a list"),
            ("protected: {aliases: [latest]}\n", "protected.aliases", 1, "reserved"),
            ("protected: {stages: [Prod]}\n", "protected.stages", 1, "Production"),
            ("protected: {stages: [None]}\n", "protected.stages", 1, "cannot be protected"),
            ("protected: {}\ncolour: blue\n", "colour", 2, "unknown key 'colour'"),
            (
                "protected: {}\nrules:\n  - metric: auc\n    op: '=>'\n    value: 1\n",
                "rules[0].op",
                4,
                "'>='",
            ),
            (
                "protected: {}\nrules:\n  - metric: auc\n    op: '>'\n    value: '0.8'\n",
                "rules[0].value",
                5,
                "must be a number",
            ),
            (
                "protected: {}\nrules:\n  - metric: auc\n    op: '>'\n    value: true\n",
                "rules[0].value",
                5,
                "must be a number",
            ),
            (
                "protected: {}\nrules:\n  - metric: auc\n    op: '>'\n",
                "rules[0].value",
                3,
                "is required",
            ),
            (
                "protected: {}\nrules:\n  - require_tags: [a]\n  - colour: red\n",
                "rules[1]",
                4,
                "exactly one of the keys",
            ),
            (
                "protected: {}\nrules:\n  - require_tags: [a]\n    metric: auc\n",
                "rules[0]",
                3,
                "exactly one of the keys",
            ),
            (
                "protected: {}\nrules:\n  - better_than_holder: {metric: auc, direction: up}\n",
                "rules[0].better_than_holder.direction",
                3,
                "'higher' or 'lower'",
            ),
            (
                "protected: {}\nrules:\n  - require_checks: [virus_scan]\n",
                "rules[0].require_checks",
                3,
                "unknown check 'virus_scan'",
            ),
            ("protected: {}\nrules:\n  - require_tags: []\n", "rules[0].require_tags", 3, "1"),
            ("protected: {}\napprovals: {min: 0}\n", "approvals.min", 2, "greater than"),
            ("protected: {}\napprovals: {groups: ['']}\n", "approvals.groups", 2, "blank"),
            ("protected: {}\nrequest_ttl: 2y\n", "request_ttl", 2, "<number><s|m|h|d|w>"),
            ("protected: {}\nrequest_ttl: 10s\n", "request_ttl", 2, "between 1m and 365d"),
        ],
    )
    def test_names_the_field_and_line(
        self, document: str, field: str, line: int, fragment: str
    ) -> None:
        with pytest.raises(InvalidArgument) as caught:
            parse_policy(document)
        error = caught.value
        assert f"{field} (line {line})" in error.message
        assert fragment in error.message
        first = error.details["problems"][0]
        assert (first["field"], first["line"]) == (field, line)

    def test_every_problem_is_listed(self) -> None:
        document = "protected: {}\nrules:\n  - metric: auc\n    op: '=>'\n    value: x\n"
        with pytest.raises(InvalidArgument) as caught:
            parse_policy(document)
        fields = [p["field"] for p in caught.value.details["problems"]]
        assert fields == ["rules[0].op", "rules[0].value"]

    @pytest.mark.parametrize(
        ("document", "fragment"),
        [
            ("", "policy is empty"),
            ("# only a comment\n", "policy is empty"),
            ("- protected\n", "must be a YAML mapping"),
            ("protected: [\n", "not valid YAML (line 2)"),
            ("\b", "character #x0008 at position 0 is not allowed"),
            ("protected: {}\n# \x00\n", "character #x0000 at position 16 is not allowed"),
            ("protected: {}\nprotected: {}\n", "repeats the key 'protected' (line 2)"),
            ("protected: {}\napprovals: {min: 1, min: 2}\n", "repeats the key 'min' (line 2)"),
            (
                "protected: {aliases: &names [champion]}\napprovals: {groups: *names}\n",
                "anchor is on line 1",
            ),
        ],
    )
    def test_documents_that_are_not_a_policy(self, document: str, fragment: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            parse_policy(document)
        assert fragment in caught.value.message

    def test_size_limit(self) -> None:
        document = "protected: {}\n" + "#" * MAX_POLICY_BYTES
        with pytest.raises(InvalidArgument) as caught:
            parse_policy(document)
        assert "limit" in caught.value.message

    @pytest.mark.parametrize(
        "document", ["protected: " + "[" * 20000 + "]" * 20000, "protected: " + "{a: " * 5000]
    )
    def test_deep_nesting_is_refused(self, document: str) -> None:
        with pytest.raises(InvalidArgument, match="nested too deeply"):
            parse_policy(document)

    def test_yaml_tags_that_build_objects_are_refused(self) -> None:
        with pytest.raises(InvalidArgument):
            parse_policy("protected: !!python/object/apply:os.system ['true']\n")


class TestTtl:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("1m", 60), ("90m", 5400), ("12h", 43200), ("7d", 604800), ("2w", 1209600)],
    )
    def test_units(self, text: str, seconds: int) -> None:
        assert ttl_seconds(text) == seconds

    @pytest.mark.parametrize("text", ["", "7", "d7", "1.5d", "-1d", "366d", "59s"])
    def test_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="request_ttl"):
            ttl_seconds(text)
