"""Role checks: nothing enforced without governance; ranked roles with it."""

from __future__ import annotations

import pytest

from charter.approvals.authorization import ModelRef, Role, RoleAuthorizer, has_role, roles_of
from charter.context import Actor, RequestContext
from charter.errors import PermissionDenied

FRAUD = ModelRef(id=1, name="fraud")


def ctx(*groups: str, governed: bool = True) -> RequestContext:
    return RequestContext(actor=Actor(name="pat", groups=groups), governed=governed)


class TestRoles:
    def test_interim_roles_come_from_role_groups(self) -> None:
        held = roles_of(ctx("role:approver", "ml-leads", "role:nonsense"), FRAUD)
        assert held == frozenset({Role.APPROVER})

    @pytest.mark.parametrize(
        ("held", "wanted", "allowed"),
        [
            (Role.ADMIN, Role.APPROVER, True),
            (Role.MAINTAINER, Role.APPROVER, True),
            (Role.APPROVER, Role.CONTRIBUTOR, True),
            (Role.CONTRIBUTOR, Role.APPROVER, False),
            (Role.APPROVER, Role.MAINTAINER, False),
            (Role.MAINTAINER, Role.ADMIN, False),
        ],
    )
    def test_a_role_includes_the_ones_below(self, held: Role, wanted: Role, allowed: bool) -> None:
        assert has_role(frozenset({held}), wanted) is allowed


class TestRoleAuthorizer:
    def test_without_governance_everything_is_allowed(self) -> None:
        RoleAuthorizer().require(ctx(governed=False), Role.ADMIN, FRAUD)

    def test_with_governance_the_role_is_required(self) -> None:
        RoleAuthorizer().require(ctx("role:approver"), Role.APPROVER, FRAUD)
        with pytest.raises(PermissionDenied) as caught:
            RoleAuthorizer().require(ctx("role:contributor"), Role.APPROVER, FRAUD)
        assert caught.value.message == "pat needs the approver role on model 'fraud'"

    def test_a_global_role(self) -> None:
        with pytest.raises(PermissionDenied, match="on this installation"):
            RoleAuthorizer().require(ctx(), Role.MAINTAINER, None)
