"""Who may approve, and how approvals are counted."""

from __future__ import annotations

from charter.approvals.policy import ApprovalRequirement
from charter.approvals.rules import Approval, separation_of_duties, tally


class TestSeparationOfDuties:
    def test_the_requester_may_not_approve(self) -> None:
        reason = separation_of_duties("rick", requested_by="rick", version_created_by="carol")
        assert reason == "rick requested this promotion; someone else must approve it"

    def test_the_versions_creator_may_not_approve(self) -> None:
        reason = separation_of_duties("carol", requested_by="rick", version_created_by="carol")
        assert reason == "carol created this version; someone else must approve it"

    def test_anyone_else_may(self) -> None:
        reason = separation_of_duties("alice", requested_by="rick", version_created_by="carol")
        assert reason is None


class TestTally:
    def test_one_person_counts_once(self) -> None:
        counted = tally(
            [Approval("alice", ()), Approval("alice", ()), Approval("bob", ())],
            ApprovalRequirement(min=3),
        )
        assert counted.approvers == ("alice", "bob")
        assert counted.received == 2
        assert not counted.satisfied()

    def test_enough_approvals(self) -> None:
        counted = tally([Approval("alice", ())], ApprovalRequirement(min=1))
        assert counted.satisfied()

    def test_each_required_group_needs_an_approver_from_it(self) -> None:
        requirement = ApprovalRequirement(min=1, groups=("ml-leads", "risk"))
        counted = tally([Approval("bob", ("ml-leads",))], requirement)
        assert counted.missing_groups == ("risk",)
        assert not counted.satisfied()
        assert counted.satisfied(enforce_groups=False)

    def test_one_approver_may_cover_several_groups(self) -> None:
        requirement = ApprovalRequirement(min=1, groups=("ml-leads", "risk"))
        counted = tally([Approval("alice", ("risk", "ml-leads"))], requirement)
        assert counted.missing_groups == ()
        assert counted.satisfied()

    def test_groups_do_not_replace_the_minimum(self) -> None:
        requirement = ApprovalRequirement(min=2, groups=("ml-leads",))
        counted = tally([Approval("alice", ("ml-leads",))], requirement)
        assert not counted.satisfied()
