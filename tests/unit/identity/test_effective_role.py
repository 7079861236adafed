"""``effective_role``: the highest role that a principal's grants give it on a model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from charter.errors import InvalidArgument
from charter.identity.grants import Role, effective_role, parse_prefix, parse_role


@dataclass(frozen=True)
class G:
    principal_type: str
    principal: str
    role: str
    scope: str = "global"
    model_id: int | None = None
    prefix: str | None = None


def user(name: str, role: str, **where: object) -> G:
    return G("user", name, role, **where)  # type: ignore[arg-type]


def group(name: str, role: str, **where: object) -> G:
    return G("group", name, role, **where)  # type: ignore[arg-type]


class TestRoles:
    def test_are_ordered_from_reader_to_admin(self) -> None:
        assert [r.value for r in sorted(Role, key=lambda r: r.rank)] == [
            "reader",
            "contributor",
            "approver",
            "maintainer",
            "admin",
        ]
        assert Role.ADMIN.covers(Role.READER)
        assert not Role.CONTRIBUTOR.covers(Role.APPROVER)

    def test_parse_ignores_case_and_names_the_choices(self) -> None:
        assert parse_role(" Maintainer ") is Role.MAINTAINER
        with pytest.raises(InvalidArgument, match="reader, contributor"):
            parse_role("owner")


class TestNoGrant:
    def test_no_grants_is_no_role(self) -> None:
        assert effective_role("alice", [], []) is None

    def test_someone_elses_grant_is_not_yours(self) -> None:
        grants = [user("bob", "admin"), group("ops", "admin")]
        assert effective_role("alice", ["ml"], grants, 1, "fraud") is None


class TestScopes:
    def test_global_grant_applies_everywhere_and_without_a_model(self) -> None:
        grants = [user("alice", "reader")]
        assert effective_role("alice", [], grants) is Role.READER
        assert effective_role("alice", [], grants, 7, "anything") is Role.READER

    def test_model_grant_applies_to_that_model_id_only(self) -> None:
        grants = [user("alice", "maintainer", scope="model", model_id=7)]
        assert effective_role("alice", [], grants, 7, "fraud") is Role.MAINTAINER
        assert effective_role("alice", [], grants, 8, "fraud") is None
        assert effective_role("alice", [], grants) is None

    def test_model_grant_follows_a_rename(self) -> None:
        grants = [user("alice", "approver", scope="model", model_id=7)]
        assert effective_role("alice", [], grants, 7, "fraud-renamed") is Role.APPROVER

    def test_prefix_grant_matches_the_current_name_case_sensitively(self) -> None:
        grants = [user("alice", "contributor", scope="prefix", prefix="fraud-*")]
        assert effective_role("alice", [], grants, 1, "fraud-eu") is Role.CONTRIBUTOR
        assert effective_role("alice", [], grants, 1, "fraud-") is Role.CONTRIBUTOR
        assert effective_role("alice", [], grants, 1, "Fraud-eu") is None
        assert effective_role("alice", [], grants, 1, "fraud") is None
        assert effective_role("alice", [], grants) is None

    def test_unknown_scope_or_role_is_ignored_not_trusted(self) -> None:
        grants = [user("alice", "admin", scope="everything"), user("alice", "superuser")]
        assert effective_role("alice", [], grants, 1, "fraud") is None


class TestHighestWins:
    def test_across_users_groups_and_scopes(self) -> None:
        grants = [
            user("alice", "reader"),
            group("ml", "contributor", scope="prefix", prefix="fraud-*"),
            group("risk", "approver", scope="model", model_id=3),
            group("other", "admin"),
        ]
        assert effective_role("alice", ["ml", "risk"], grants, 3, "fraud-eu") is Role.APPROVER
        assert effective_role("alice", ["ml", "risk"], grants, 4, "fraud-us") is Role.CONTRIBUTOR
        assert effective_role("alice", ["ml", "risk"], grants, 5, "churn") is Role.READER

    def test_group_grant_needs_membership(self) -> None:
        grants = [group("admins", "admin")]
        assert effective_role("alice", ["admins"], grants) is Role.ADMIN
        assert effective_role("alice", [], grants) is None
        # A user named like a group gets nothing from the group's grant.
        assert effective_role("admins", [], grants) is None

    def test_order_of_grants_does_not_matter(self) -> None:
        grants = [user("alice", "admin"), user("alice", "reader", scope="model", model_id=1)]
        assert effective_role("alice", [], grants, 1, "x") is Role.ADMIN
        assert effective_role("alice", [], list(reversed(grants)), 1, "x") is Role.ADMIN


class TestPrefix:
    def test_needs_exactly_one_trailing_star(self) -> None:
        assert parse_prefix("fraud-*") == "fraud-*"
        for bad in ("fraud-", "*", "fr*aud-*", "fraud-**", "a/b*"):
            with pytest.raises(InvalidArgument, match="prefix"):
                parse_prefix(bad)

    def test_is_nfc_normalised(self) -> None:
        assert parse_prefix("cafe\u0301-*") == "caf\u00e9-*"
