"""Protected aliases and stages: which labels only an approved promotion may move, and the
guards the registry calls before a direct change or a deletion.

The registry calls in here (lifecycle moves, deletions), so this module imports the registry's
tables and views only; the one registry service it needs is imported where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from charter.approvals.models import SCOPE_DEFAULT, SCOPE_GLOBAL, SCOPE_MODEL, PolicyRecord
from charter.approvals.policy import DEFAULT_POLICY, DEFAULT_POLICY_YAML, Policy, parse_policy
from charter.approvals.repository import PolicyRepository
from charter.approvals.rules import Target
from charter.context import RequestContext
from charter.errors import Conflict, InvalidArgument, PermissionDenied, Protected
from charter.registry.filters import Condition
from charter.registry.models import ALIAS, STAGE, ModelVersion, RegisteredModel
from charter.registry.views import VersionView, model_views, version_views


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies to a model, and where it comes from."""

    policy: Policy
    scope: str  # model | global | default
    version: int  # 0 for the built-in default
    record: PolicyRecord | None

    @property
    def document(self) -> str:
        return self.record.document if self.record is not None else DEFAULT_POLICY_YAML


def effective_policy(session: Session, model_id: int | None) -> EffectivePolicy:
    """The model's own newest policy, else the newest global one, else the built-in default.

    With ``model_id`` None: the global policy (or the default).
    """
    policies = PolicyRepository(session)
    record = policies.current(None) if model_id is None else policies.effective(model_id)
    if record is None:
        return EffectivePolicy(DEFAULT_POLICY, SCOPE_DEFAULT, 0, None)
    scope = SCOPE_GLOBAL if record.model_id is None else SCOPE_MODEL
    return EffectivePolicy(parse_policy(record.document), scope, record.version, record)


class ProtectionService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def is_protected(self, model_id: int, kind: str, label: str) -> bool:
        return effective_policy(self.session, model_id).policy.protects(kind, label)


def how_to_request(
    model: str, kind: str, label: str, version: int | None = None, to: str | None = None
) -> str:
    """The message that says how to make a refused change the governed way."""
    flag = "--to" if kind == ALIAS else "--stage"
    ref = f"{model}/{version if version is not None else '<version>'}"
    return (
        f"`{label}` is protected: request a promotion with "
        f"`charter promote request {ref} {flag} {to or label} --justification '...'`"
    )


def ensure_direct_change_allowed(
    session: Session,
    ctx: RequestContext,
    model: RegisteredModel,
    kind: str,
    label: str,
    *,
    version: int | None = None,
    to: str | None = None,
) -> None:
    """Refuse a direct move of a protected alias or stage when governance is on.

    No exception for the model's creator or an admin: admins have break-glass, which leaves a
    flagged record. ``version`` and ``to`` (a stage a version leaves ``label`` for), when
    known, make the how-to message exact.
    """
    if not ctx.governed or not ProtectionService(session).is_protected(model.id, kind, label):
        return
    raise PermissionDenied(
        how_to_request(model.name, kind, label, version, to),
        model=model.name,
        kind=kind,
        label=label,
    )


def ensure_promotion_needed(policy: Policy, target: Target, candidate: VersionView) -> None:
    """A promotion request is for protected labels only; anything else is set directly."""
    holds = (
        target.label in candidate.aliases
        if target.kind == ALIAS
        else candidate.stage == target.label
    )
    if holds:
        raise Conflict(
            f"version {candidate.model}/{candidate.version} already holds {target}",
            model=candidate.model,
        )
    # Leaving a protected stage changes who holds it, as much as entering it does.
    leaving = target.kind == STAGE and policy.protects(STAGE, candidate.stage)
    if policy.protects(target.kind, target.label) or leaving:
        return
    raise InvalidArgument(
        f"{target} of model {candidate.model!r} is not protected: set it directly, no "
        "promotion request is needed",
        field=target.kind,
    )


def legal_hold_reason(session: Session, model_id: int, version_id: int | None) -> str | None:
    """Why a legal hold forbids deleting this model or version, or None when none does.

    Legal holds are not modelled yet: nothing is held. The legal-hold feature answers here, and
    every deletion already asks.
    """
    del session, model_id, version_id
    return None


def ensure_model_deletable(session: Session, ctx: RequestContext, model: RegisteredModel) -> None:
    """Refuse deleting a model while one of its versions holds a protected alias or stage."""
    _refuse_legal_hold(session, model, None)
    if not ctx.governed:
        return
    policy = effective_policy(session, model.id).policy
    aliases = model_views(session, [model])[0].aliases
    held = [f"alias {a} (version {n})" for a, n in aliases.items() if a in policy.protected.aliases]
    held += [f"stage {s} (version {n})" for s, n in _stage_holders(session, ctx, model, policy)]
    if held:
        raise Protected(
            f"model {model.name!r} cannot be deleted: it holds the protected {', '.join(held)}; "
            "a maintainer must unprotect them in the model's policy first",
            model=model.name,
            held=held,
        )


def ensure_version_deletable(
    session: Session, ctx: RequestContext, model: RegisteredModel, version: ModelVersion
) -> None:
    """Refuse deleting a version that holds a protected alias or stage."""
    _refuse_legal_hold(session, model, version)
    if not ctx.governed:
        return
    policy = effective_policy(session, model.id).policy
    view = version_views(session, [(version, model.name)])[0]
    held = [f"alias {a}" for a in view.aliases if a in policy.protected.aliases]
    if view.stage in policy.protected.stages:
        held.append(f"stage {view.stage}")
    if held:
        raise Protected(
            f"version {model.name}/{version.version} cannot be deleted: it holds the protected "
            f"{', '.join(held)}; promote another version in its place first",
            model=model.name,
            version=version.version,
            held=held,
        )


def _refuse_legal_hold(
    session: Session, model: RegisteredModel, version: ModelVersion | None
) -> None:
    reason = legal_hold_reason(session, model.id, version.id if version is not None else None)
    if reason is not None:
        raise Protected(f"{model.name} is under legal hold: {reason}", model=model.name)


def _stage_holders(
    session: Session, ctx: RequestContext, model: RegisteredModel, policy: Policy
) -> list[tuple[str, int]]:
    if not policy.protected.stages:
        return []
    # registry.service calls this module during deletions: importing it at call time keeps
    # the two modules from importing each other at load time.
    from charter.registry.service import VersionService

    page = VersionService(session, ctx).search(
        [
            Condition("model_id", "=", model.id),
            Condition("stage", "IN", policy.protected.stages),
        ],
        max_results=100,
    )
    return [(v.stage, v.version) for v in page.items]
