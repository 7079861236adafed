"""The Markdown report of a model's events: who registered, from what, who moved what when."""

from __future__ import annotations

from typing import Any

from charter.audit.report import ModelReport
from tests.unit.audit.builders import event


def on_version(seq: int, action: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"before": None, "after": None, **fields}
    return event(
        seq, action=action, resource_type="model_version", resource_name="fraud/1", **values
    )


def history() -> list[dict[str, Any]]:
    return [
        event(1, action="model.create", resource_type="model", resource_name="fraud", after=None),
        on_version(
            2, "version.create", after={"version": 1, "source": "s3://b/fraud", "run_id": "r1"}
        ),
        on_version(3, "version.finalize", after={"status": "READY"}),
        event(4, action="alias.set", before=None, after={"version": 1}, actor="bob"),
        on_version(5, "stage.transition", before={"stage": "None"}, after={"stage": "Production"}),
        event(6, action="alias.set", before={"version": 1}, after={"version": 2}, actor="carol"),
        event(
            7,
            action="alias.set",
            outcome="denied",
            reason="champion is protected",
            actor="mallory",
            after=None,
            before=None,
        ),
        on_version(
            8, "stage.transition", before={"stage": "Production"}, after={"stage": "Archived"}
        ),
        on_version(9, "version.delete"),
    ]


def render(events: list[dict[str, Any]]) -> str:
    report = ModelReport("fraud", period=", since 2026-01-01T00:00:00.000Z")
    for e in events:
        report.add(e)
    return report.render()


class TestModelReport:
    def test_says_who_registered_each_version_and_from_what(self) -> None:
        text = render(history())
        assert "### Version 1" in text
        assert "- Registered at 2026-05-28T20:26:42.000Z by alice (user, token 7)" in text
        assert "- Source: `s3://b/fraud`" in text
        assert "- Run: `r1`" in text
        assert "- Deleted at" in text

    def test_lists_when_each_version_entered_and_left_each_alias_and_stage(self) -> None:
        lines = render(history()).splitlines()
        holdings = [line for line in lines if line.startswith(("| alias |", "| stage |"))]
        assert len(holdings) == 4
        assert holdings[0].startswith("| alias | champion | 1 |")
        assert "bob (user, token 7)" in holdings[0]
        assert holdings[0].endswith("| carol (user, token 7) | moved to version 2 |")
        assert holdings[1].startswith("| stage | Production | 1 |")
        assert holdings[1].endswith("| moved to Archived |")
        assert holdings[2].startswith("| alias | champion | 2 |")
        assert holdings[2].endswith("| still holds it |  |  |")
        assert holdings[3].startswith("| stage | Archived | 1 |")
        assert holdings[3].endswith("| version deleted |")

    def test_lists_denied_attempts_with_their_reason(self) -> None:
        text = render(history())
        assert "| 7 | 2026-05-28T20:26:47.000Z | mallory (user, token 7) | alias.set" in text
        assert "champion is protected" in text

    def test_says_plainly_when_there_was_no_promotion(self) -> None:
        assert "No `promotion.*` events" in render(history())

    def test_lists_promotion_events_with_policy_and_results(self) -> None:
        promotion = event(
            10,
            action="promotion.approve",
            resource_type="promotion_request",
            resource_name="fraud/1",
            before=None,
            after={"policy": "prod-gate", "results": {"auc": "pass"}, "decision": "approved"},
        )
        text = render([*history(), promotion])
        assert "## Promotions: policy evaluations and approvals" in text
        assert "| promotion.approve | 1 | success |" in text
        assert '"policy": "prod-gate"' in text

    def test_table_cells_cannot_break_the_table(self) -> None:
        text = render([event(1, actor="a|b\nc", after={"version": 1})])
        assert "a\\|b c" in text

    def test_the_same_events_give_the_same_report(self) -> None:
        assert render(history()) == render(history())
