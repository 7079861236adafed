"""MLflow's search grammar: every supported form, and every malformed one refused by name."""

from __future__ import annotations

import pytest

from charter.api.mlflow import search
from charter.errors import InvalidArgument
from charter.registry.filters import Condition, Order

# What every search gets unless it asks for prompts: MLflow keeps them out of results.
NOT_A_PROMPT = Condition("tag", "=", "true", key="mlflow.prompt.is_prompt", negate=True)


class TestModelFilters:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("name = 'fraud'", [Condition("name", "=", "fraud")]),
            ('name = "fraud"', [Condition("name", "=", "fraud")]),
            ("name != 'fraud'", [Condition("name", "!=", "fraud")]),
            ("name LIKE 'fr%'", [Condition("name", "LIKE", "fr%")]),
            ("name like 'fr%'", [Condition("name", "LIKE", "fr%")]),
            ("name ILIKE '%RAU%'", [Condition("name", "ILIKE", "%RAU%")]),
            ("name IN ('a', \"b\")", [Condition("name", "IN", ("a", "b"))]),
            ("name in ('a')", [Condition("name", "IN", ("a",))]),
            ("name NOT IN ('a','b')", [Condition("name", "NOT IN", ("a", "b"))]),
            ("attribute.name = 'a'", [Condition("name", "=", "a")]),
            ("tags.team = 'risk'", [Condition("tag", "=", "risk", key="team")]),
            ("tag.team = 'risk'", [Condition("tag", "=", "risk", key="team")]),
            ("tags.`key with space` = 'v'", [Condition("tag", "=", "v", key="key with space")]),
            ("tags.\"quoted\" = 'v'", [Condition("tag", "=", "v", key="quoted")]),
            ("tags.'single' = 'v'", [Condition("tag", "=", "v", key="single")]),
            (
                "tags.mlflow.source.type = 'NOTEBOOK'",
                [Condition("tag", "=", "NOTEBOOK", key="mlflow.source.type")],
            ),
            ("tags.my-key != 'v'", [Condition("tag", "!=", "v", key="my-key")]),
            ("tags.k LIKE '%x'", [Condition("tag", "LIKE", "%x", key="k")]),
            ("tags.k ILIKE '%x'", [Condition("tag", "ILIKE", "%x", key="k")]),
            ("name = 'it''s'", [Condition("name", "=", "it's")]),
            ('name = "say ""hi"""', [Condition("name", "=", 'say "hi"')]),
            ("name = 'caf\u00e9 \u2603'", [Condition("name", "=", "caf\u00e9 \u2603")]),
            ("name = ''", [Condition("name", "=", "")]),
            (
                "name = 'a' AND tags.k = 'v'",
                [Condition("name", "=", "a"), Condition("tag", "=", "v", key="k")],
            ),
            (
                "name='a'and tags.k='v'",
                [Condition("name", "=", "a"), Condition("tag", "=", "v", key="k")],
            ),
            (
                "  name = 'a'\n\tAND name != 'b'  ",
                [Condition("name", "=", "a"), Condition("name", "!=", "b")],
            ),
        ],
    )
    def test_supported_forms(self, text: str, expected: list[Condition]) -> None:
        assert search.model_conditions(text) == [*expected, NOT_A_PROMPT]

    @pytest.mark.parametrize("text", [None, "", "   ", "\n"])
    def test_empty_filter_only_leaves_prompts_out(self, text: str | None) -> None:
        assert search.model_conditions(text) == [NOT_A_PROMPT]

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("run_id = 'a'", "invalid attribute 'run_id'"),
            ("version_number = 1", "invalid attribute 'version_number'"),
            ("creation_timestamp > 1", "invalid attribute 'creation_timestamp'"),
            ("name > 'a'", "invalid comparator > for name"),
            ("tags.k IN ('a')", "invalid comparator IN for tags.k"),
            ("name = 1", "expected a quoted string value for name"),
            ("tags.k = 1", "expected a quoted string value for k"),
            ("metric.x = 'y'", "invalid entity 'metric'"),
            ("params.x = 'y'", "invalid entity 'params'"),
        ],
    )
    def test_what_models_do_not_support(self, text: str, fragment: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            search.model_conditions(text)
        assert fragment in caught.value.message
        assert caught.value.details["field"] == "filter"


class TestVersionFilters:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("name = 'fraud'", [Condition("name", "=", "fraud")]),
            ("run_id = 'abc'", [Condition("run_id", "=", "abc")]),
            ("run_id IN ('a', 'b')", [Condition("run_id", "IN", ("a", "b"))]),
            ("run_id NOT IN ('a')", [Condition("run_id", "NOT IN", ("a",))]),
            ("run_id LIKE 'a%'", [Condition("run_id", "LIKE", "a%")]),
            ("source_path = 's3://b/p'", [Condition("source", "=", "s3://b/p")]),
            ("source_path ILIKE 'S3://%'", [Condition("source", "ILIKE", "S3://%")]),
            ("version_number = 3", [Condition("version", "=", 3)]),
            ("version_number = '3'", [Condition("version", "=", 3)]),
            ("version_number != 3", [Condition("version", "!=", 3)]),
            ("version_number > 2", [Condition("version", ">", 2)]),
            ("version_number >= 2", [Condition("version", ">=", 2)]),
            ("version_number < 2", [Condition("version", "<", 2)]),
            ("version_number <= 2", [Condition("version", "<=", 2)]),
            ("version_number = -1", [Condition("version", "=", -1)]),
            ("tags.k = 'v'", [Condition("tag", "=", "v", key="k")]),
            (
                "name = 'm' AND version_number > 1 AND tags.`a b` != 'c'",
                [
                    Condition("name", "=", "m"),
                    Condition("version", ">", 1),
                    Condition("tag", "!=", "c", key="a b"),
                ],
            ),
        ],
    )
    def test_supported_forms(self, text: str, expected: list[Condition]) -> None:
        assert search.version_conditions(text) == [*expected, NOT_A_PROMPT]

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("source = 's3://x'", "invalid attribute 'source'"),
            ("current_stage = 'Production'", "invalid attribute 'current_stage'"),
            ("version_number = 2.0", "expected an integer, got 2.0"),
            ("version_number = 'two'", "expected an integer, got 'two'"),
            ("version_number = '+-3'", "expected an integer, got '+-3'"),
            ("version_number = 99999999999999999999", "expected an integer"),
            ("version_number LIKE '1'", "invalid comparator LIKE for version_number"),
            ("version_number IN ('1')", "invalid comparator IN for version_number"),
            ("source_path IN ('a')", "invalid comparator IN for source_path"),
            ("run_id > 'a'", "invalid comparator > for run_id"),
            ("run_id = 1", "expected a quoted string value for run_id"),
            ("name LIKE 'abc\\'", "ends with a lone backslash"),
            ("tags.k ILIKE '\\'", "ends with a lone backslash"),
        ],
    )
    def test_what_versions_do_not_support(self, text: str, fragment: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            search.version_conditions(text)
        assert fragment in caught.value.message

    def test_an_escaped_backslash_ends_a_like_pattern_fine(self) -> None:
        assert search.version_conditions("name LIKE 'a\\\\'") == [
            Condition("name", "LIKE", "a\\\\"),
            NOT_A_PROMPT,
        ]


class TestPrompts:
    @pytest.mark.parametrize(
        "text",
        [
            "tag.`mlflow.prompt.is_prompt` != 'true'",  # what the mlflow client appends
            "tags.`mlflow.prompt.is_prompt` = 'false'",
            "tags.mlflow.prompt.is_prompt LIKE 'x%'",
        ],
    )
    def test_a_filter_that_leaves_prompts_out_reads_as_not_a_prompt(self, text: str) -> None:
        assert search.model_conditions(f"name = 'a' AND {text}") == [
            Condition("name", "=", "a"),
            NOT_A_PROMPT,
        ]
        assert search.version_conditions(text) == [NOT_A_PROMPT]

    @pytest.mark.parametrize(
        ("text", "condition"),
        [
            (
                "tags.`mlflow.prompt.is_prompt` = 'true'",
                Condition("tag", "=", "true", key="mlflow.prompt.is_prompt"),
            ),
            (
                "tags.`mlflow.prompt.is_prompt` != 'false'",
                Condition("tag", "!=", "false", key="mlflow.prompt.is_prompt"),
            ),
        ],
    )
    def test_a_filter_that_asks_for_prompts_gets_them(
        self, text: str, condition: Condition
    ) -> None:
        assert search.model_conditions(text) == [condition]


class TestMalformedFilters:
    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("name = ", "ends too early; expected a number or a quoted string"),
            ("name", "ends too early"),
            ("name = 'a' AND", "ends too early; expected a field name"),
            ("name = 'unbalanced", "unterminated string at character 8"),
            ('name = "unbalanced', "unterminated string at character 8"),
            ("tags.`unbalanced = 'x'", "unterminated quoted key"),
            ("name = fraud", "unexpected 'fraud' at character 8"),
            ("name = 'a' OR name = 'b'", "only AND can join conditions"),
            ("name = 'a' name = 'b'", "unexpected 'name'"),
            ("(name = 'a')", "unexpected '('"),
            ("name == 'a'", "unexpected '='"),
            ("name <> 'a'", "unexpected '>'"),
            ("name IN ()", "unexpected ')'"),
            ("name IN ('a',)", "unexpected ')'"),
            ("name IN (1, 2)", "expected a quoted string"),
            ("name IN 'a'", "unexpected"),
            ("`name` = 'a'", "unexpected '`name`'"),
            ("= 'a'", "unexpected '='"),
            ("tags. = 'a'", "unexpected"),
            ("name = 'a'; DROP TABLE registered_models", "unexpected ';' at character 11"),
            ("'; DROP TABLE registered_models; --", "unterminated string"),
            ("name = 'a' -- comment", "unexpected '--'"),
            ("name = 'a' /* c */", "unexpected '/'"),
            ("1 = 1", "unexpected '1'"),
            ("name = 'a\x00'", "NUL character"),
        ],
    )
    def test_is_refused_naming_the_problem(self, text: str, fragment: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            search.model_conditions(text)
        assert fragment in caught.value.message
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"

    def test_the_message_quotes_the_filter(self) -> None:
        with pytest.raises(InvalidArgument, match=r"invalid filter \"name = 'x\""):
            search.version_conditions("name = 'x")


class TestOrderBy:
    @pytest.mark.parametrize(
        ("items", "expected"),
        [
            ([], [Order("name")]),
            (["name"], [Order("name")]),
            (["name DESC"], [Order("name", True)]),
            (["name desc"], [Order("name", True)]),
            (["`name` DESC"], [Order("name", True)]),
            (["attribute.name ASC"], [Order("name")]),
            (["timestamp"], [Order("updated_at"), Order("name")]),
            (["last_updated_timestamp DESC"], [Order("updated_at", True), Order("name")]),
            (["creation_timestamp DESC"], [Order("created_at", True), Order("name")]),
            (["creation_timestamp", "name DESC"], [Order("created_at"), Order("name", True)]),
        ],
    )
    def test_models(self, items: list[str], expected: list[Order]) -> None:
        assert search.model_orders(items) == expected

    @pytest.mark.parametrize(
        ("items", "expected"),
        [
            (
                [],
                [Order("updated_at", True), Order("name"), Order("version", True)],
            ),
            (["name"], [Order("name"), Order("version", True)]),
            (["version_number"], [Order("version"), Order("name")]),
            (["version_number DESC", "name"], [Order("version", True), Order("name")]),
            (
                ["creation_timestamp ASC"],
                [Order("created_at"), Order("name"), Order("version", True)],
            ),
            (
                ["last_updated_timestamp"],
                [Order("updated_at"), Order("name"), Order("version", True)],
            ),
        ],
    )
    def test_versions(self, items: list[str], expected: list[Order]) -> None:
        assert search.version_orders(items) == expected

    @pytest.mark.parametrize(
        ("items", "fragment"),
        [
            (["version_number"], "models can be ordered by creation_timestamp"),
            (["tags.k"], "invalid order_by key 'tags.k'"),
            (["name sideways"], "unexpected 'sideways' at character 6; expected"),
            (["name DESC ASC"], "unexpected 'ASC'"),
            ([""], "ends too early"),
            (["name", "name DESC"], "names the same field twice"),
            (["timestamp", "last_updated_timestamp"], "names the same field twice"),
            (["name; DROP TABLE x"], "unexpected ';'"),
        ],
    )
    def test_bad_model_orderings(self, items: list[str], fragment: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            search.model_orders(items)
        assert fragment in caught.value.message
        assert caught.value.details["field"] == "order_by"

    def test_versions_cannot_be_ordered_by_timestamp(self) -> None:
        with pytest.raises(InvalidArgument, match="versions can be ordered by"):
            search.version_orders(["timestamp"])
