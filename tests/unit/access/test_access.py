"""Role checks from the grants a request context carries: scopes, ranks, hiding, single-user."""

from __future__ import annotations

import pytest

from charter import access
from charter.access import Role
from charter.approvals.authorization import ModelRef, RoleAuthorizer
from charter.context import Actor, RequestContext
from charter.errors import NotFound, PermissionDenied
from charter.identity.grants import GrantRule

FRAUD = ModelRef(id=1, name="fraud-card")
CHURN = ModelRef(id=2, name="churn")


def ctx(*grants: GrantRule, groups: tuple[str, ...] = (), governed: bool = True) -> RequestContext:
    return RequestContext(actor=Actor(name="pat", groups=groups), governed=governed, grants=grants)


def user(role: str, scope: str = "global", **where: object) -> GrantRule:
    return GrantRule("user", "pat", role, scope, **where)  # type: ignore[arg-type]


class TestScopes:
    def test_a_global_grant_reaches_every_model_and_the_installation(self) -> None:
        held = ctx(user("approver"))
        assert access.role_on(held, FRAUD) is Role.APPROVER
        assert access.role_on(held) is Role.APPROVER

    def test_a_model_grant_reaches_that_model_only(self) -> None:
        held = ctx(user("maintainer", "model", model_id=1))
        assert access.role_on(held, FRAUD) is Role.MAINTAINER
        assert access.role_on(held, CHURN) is None
        assert access.role_on(held) is None

    def test_a_prefix_grant_reaches_the_names_it_matches_and_new_ones(self) -> None:
        held = ctx(user("contributor", "prefix", prefix="fraud-*"))
        assert access.allowed(held, Role.CONTRIBUTOR, FRAUD)
        assert access.allowed(held, Role.CONTRIBUTOR, name="fraud-new")
        assert not access.allowed(held, Role.CONTRIBUTOR, name="churn-new")

    def test_a_group_grant_reaches_its_members(self) -> None:
        grant = GrantRule("group", "ml-leads", "approver", "global")
        assert access.allowed(ctx(grant, groups=("ml-leads",)), Role.APPROVER, FRAUD)
        assert not access.allowed(ctx(grant, groups=("others",)), Role.READER, FRAUD)

    def test_the_highest_role_wins(self) -> None:
        held = ctx(user("reader"), user("maintainer", "model", model_id=1))
        assert access.role_on(held, FRAUD) is Role.MAINTAINER
        assert access.role_on(held, CHURN) is Role.READER


class TestRequire:
    @pytest.mark.parametrize(
        ("held", "wanted", "allowed"),
        [
            ("admin", Role.APPROVER, True),
            ("maintainer", Role.APPROVER, True),
            ("approver", Role.CONTRIBUTOR, True),
            ("contributor", Role.APPROVER, False),
            ("approver", Role.MAINTAINER, False),
            ("maintainer", Role.ADMIN, False),
        ],
    )
    def test_a_role_includes_the_ones_below(self, held: str, wanted: Role, allowed: bool) -> None:
        assert access.allowed(ctx(user(held)), wanted, FRAUD) is allowed

    def test_a_missing_role_is_refused_with_its_name(self) -> None:
        with pytest.raises(PermissionDenied) as caught:
            access.require(ctx(user("contributor")), Role.APPROVER, FRAUD)
        assert caught.value.message == "pat needs the approver role on model 'fraud-card'"
        assert caught.value.details == {"role": "approver", "model": "fraud-card"}

    def test_a_model_the_caller_may_not_read_does_not_exist(self) -> None:
        with pytest.raises(NotFound, match="'churn' does not exist"):
            access.require(ctx(user("admin", "model", model_id=1)), Role.MAINTAINER, CHURN)

    def test_a_global_role(self) -> None:
        with pytest.raises(PermissionDenied, match="on this installation"):
            access.require(ctx(user("maintainer", "model", model_id=1)), Role.MAINTAINER)

    def test_without_governance_nothing_is_enforced(self) -> None:
        access.require(ctx(governed=False), Role.ADMIN, FRAUD)
        RoleAuthorizer().require(ctx(governed=False), Role.ADMIN, None)

    def test_unknown_roles_in_stored_grants_give_nothing(self) -> None:
        assert not access.allowed(ctx(user("superuser")), Role.READER, FRAUD)
