"""Promotion requests: asking to move a version to a protected alias or stage, approving or
rejecting the request, and executing it in the approval's own transaction.

A request is created even when rules fail: it shows them, and the move waits until they pass
and enough approvals have arrived. The rules are evaluated again (against the policy of that
moment) at each approval, so a version or policy that changed since the request is judged as
it is now. With governance off, roles, separation of duties and approver groups are not
enforced; the rules and the number of approvals still are, since the user asked for them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter import access, naming
from charter.approvals.authorization import Authorizer, ModelRef, Role, RoleAuthorizer
from charter.approvals.evidence import gather
from charter.approvals.models import (
    APPROVE,
    BLOCKED,
    EXECUTED,
    OPEN,
    PENDING_STATUSES,
    REJECT,
    REJECTED,
    STATUSES,
    PromotionDecision,
    PromotionRequest,
)
from charter.approvals.protection import (
    EffectivePolicy,
    effective_policy,
    ensure_promotion_needed,
)
from charter.approvals.repository import PromotionRepository, RequestRow
from charter.approvals.rules import (
    Approval,
    RuleResult,
    Target,
    evaluate,
    separation_of_duties,
    tally,
)
from charter.approvals.trail import _audit
from charter.approvals.views import (
    PromotionView,
    evaluation_document,
    promotion_views,
    status_at,
)
from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import (
    Conflict,
    Hidden,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PolicyViolation,
)
from charter.pagination import Page, decode_token, encode_token, page_size
from charter.registry.lifecycle import LifecycleService
from charter.registry.models import ALIAS, READY, RegisteredModel
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService
from charter.registry.views import VersionView

LIST_ORDERING = "requested_at:d,id:d"
TEXT_MAX = 10_000  # justifications, comments and reasons


class PromotionService:
    def __init__(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        blobs: BlobStore | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.blobs = blobs  # for checks that read artifacts (artifacts_verified)
        self.versions = VersionService(session, ctx)
        self.promotions = PromotionRepository(session)
        self.authorizer = authorizer or RoleAuthorizer()

    # --- reading ------------------------------------------------------------------------------

    def get(self, request_id: int) -> PromotionView:
        row = self._row(request_id)
        if not access.visible(self.ctx, ModelRef(row[0].model_id, row[1])):
            raise Hidden(f"promotion request {request_id} does not exist", request_id=request_id)
        return promotion_views(self.session, [row], now_ms())[0]

    def search(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[PromotionView]:
        if status is not None and status not in STATUSES:
            raise InvalidArgument(
                f"status {status!r} is invalid; expected one of {', '.join(STATUSES)}",
                field="status",
            )
        model_id = self.versions.models.get_row(model).id if model is not None else None
        limit, now = page_size(max_results), now_ms()
        rows = self.promotions.search(
            model_id=model_id,
            status=status,
            now=now,
            limit=limit + 1,
            after=decode_token(page_token, LIST_ORDERING),
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            token = encode_token(LIST_ORDERING, [rows[-1][0].requested_at, rows[-1][0].id])
        if not access.allowed(self.ctx, Role.READER):
            rows = [r for r in rows if access.visible(self.ctx, ModelRef(r[0].model_id, r[1]))]
        return Page(promotion_views(self.session, rows, now), token)

    # --- requesting ---------------------------------------------------------------------------

    def request(
        self,
        name: str,
        number: int,
        target: Target,
        justification: str,
        *,
        archive_existing: bool = False,
    ) -> PromotionView:
        model, candidate, target, effective = self._prepare(name, number, target, Role.CONTRIBUTOR)
        justification = _text(justification, "justification")
        now = now_ms()
        pending = self.promotions.pending_for(candidate.id, target.kind, target.label, now)
        if pending is not None:
            raise Conflict(
                f"promotion request {pending} already asks to move {model.name}/{number} to "
                f"{target}",
                request_id=pending,
            )
        ttl = effective.policy.ttl_ms
        request = self._open(candidate, target, effective, justification, archive_existing, ttl)
        return self._record("promotion.request", request.id, with_rules=True)

    def force(
        self,
        name: str,
        number: int,
        target: Target,
        reason: str,
        *,
        archive_existing: bool = False,
    ) -> PromotionView:
        """Break-glass: an admin moves a protected label now, without approvals or gates.

        The rules are still evaluated and recorded, so the record shows what was overridden.
        """
        model, candidate, target, effective = self._prepare(name, number, target, Role.ADMIN)
        reason = _text(reason, "reason")
        # A forced move is decided at once: it never waits, so it expires as it is made.
        request = self._open(candidate, target, effective, reason, archive_existing, ttl_ms=0)
        request.forced, request.force_reason = True, reason
        self._execute(request, model.name, number)
        return self._record("promotion.force", request.id, with_rules=True)

    # --- deciding -----------------------------------------------------------------------------

    def approve(self, request_id: int, comment: str) -> PromotionView:
        """Record an approval; when it is the last one needed and every rule passes, execute."""
        row = self._pending(request_id, Role.APPROVER)
        request, created_by = row[0], row[3]
        comment = _text(comment, "comment")
        approver = self.ctx.actor.name
        if self.ctx.governed:
            refusal = separation_of_duties(
                approver, requested_by=request.requested_by, version_created_by=created_by
            )
            if refusal is not None:
                raise PermissionDenied(refusal, request_id=request_id)
        if approver in self._approvers(request_id):
            raise Conflict(
                f"{approver} has already approved promotion request {request_id}; an approval "
                "counts once",
                request_id=request_id,
            )
        self._decide(request, APPROVE, comment)
        self._record("promotion.approve", request_id, comment=comment)
        self._advance(row)
        return self.get(request_id)

    def reject(self, request_id: int, comment: str) -> PromotionView:
        request = self._pending(request_id, Role.APPROVER)[0]
        comment = _text(comment, "comment")
        self._decide(request, REJECT, comment)
        request.status = REJECTED
        request.closed_at, request.closed_by = now_ms(), self.ctx.actor.name
        self.session.flush()
        return self._record("promotion.reject", request_id, comment=comment)

    def execute(self, request_id: int) -> PromotionView:
        """Try a blocked request again (after its version or the policy was fixed).

        Refused with PolicyViolation, listing every rule, while a rule still fails.
        """
        row = self._pending(request_id, Role.CONTRIBUTOR)
        if self._advance(row):
            return self.get(request_id)
        view = self.get(request_id)
        approvals = view.approvals
        missing_groups = approvals.missing_groups if self.ctx.governed else []
        if approvals.received < approvals.required or missing_groups:
            raise Conflict(
                f"promotion request {request_id} has {approvals.received} of "
                f"{approvals.required} approvals"
                + (f", and none from {', '.join(missing_groups)}" if missing_groups else ""),
                request_id=request_id,
            )
        raise PolicyViolation(
            f"promotion request {request_id} cannot execute: "
            + "; ".join(f"{r.rule}: {r.message}" for r in view.rules if not r.passed),
            request_id=request_id,
            rules=[r.as_dict() for r in view.rules],
        )

    # --- internals ----------------------------------------------------------------------------

    def _prepare(
        self, name: str, number: int, target: Target, role: Role
    ) -> tuple[RegisteredModel, VersionView, Target, EffectivePolicy]:
        """The model, the candidate version, the target and the policy of a new request."""
        # The model's row lock serialises requests for one model, so two identical requests
        # cannot both pass the "already pending" check on PostgreSQL.
        model = self.versions.models.get_row(name, lock=True)
        self.authorizer.require(self.ctx, role, ModelRef(model.id, model.name))
        selector = VersionSelector(number=naming.version_number(number))
        candidate = self.versions.get(model.name, selector)
        if candidate.status != READY:
            raise Conflict(
                f"version {model.name}/{candidate.version} is {candidate.status}; only READY "
                "versions can be promoted",
                status=candidate.status,
            )
        target = target.normalised()
        effective = effective_policy(self.session, model.id)
        ensure_promotion_needed(effective.policy, target, candidate)
        return model, candidate, target, effective

    def _open(
        self,
        candidate: VersionView,
        target: Target,
        effective: EffectivePolicy,
        justification: str,
        archive_existing: bool,
        ttl_ms: int,
    ) -> PromotionRequest:
        now = now_ms()
        request = PromotionRequest(
            model_id=candidate.model_id,
            version_id=candidate.id,
            kind=target.kind,
            label=target.label,
            archive_existing=archive_existing,
            justification=justification,
            status=OPEN,
            requested_by=self.ctx.actor.name,
            requested_at=now,
            expires_at=now + ttl_ms,
            forced=False,
        )
        self._evaluate(request, effective, target, candidate)
        return self.promotions.add(request)

    def _row(self, request_id: int, *, lock: bool = False) -> RequestRow:
        row = self.promotions.get(request_id, lock=lock)
        if row is None:
            raise NotFound(f"promotion request {request_id} does not exist", request_id=request_id)
        return row

    def _pending(self, request_id: int, role: Role) -> RequestRow:
        """The request, locked, when the actor holds ``role`` and it still awaits a decision."""
        row = self._row(request_id, lock=True)
        request, model = row[0], row[1]
        self.authorizer.require(self.ctx, role, ModelRef(request.model_id, model))
        # Lock the model before the audit trail's head, as every registry change does: an
        # approval that executes moves a label under the model's lock after its own event.
        self.versions.models.get_row(model, lock=True)
        status = status_at(request, now_ms())
        if status not in PENDING_STATUSES:
            raise Conflict(
                f"promotion request {request_id} is {status}"
                + ("; request the promotion again" if status != EXECUTED else ""),
                request_id=request_id,
                status=status,
            )
        return row

    def _approvers(self, request_id: int) -> list[str]:
        decisions = self.promotions.decisions([request_id]).get(request_id, [])
        return [d.decided_by for d in decisions if d.decision == APPROVE]

    def _decide(self, request: PromotionRequest, decision: str, comment: str) -> None:
        self.promotions.add_decision(
            PromotionDecision(
                request_id=request.id,
                decision=decision,
                decided_by=self.ctx.actor.name,
                groups=list(self.ctx.actor.groups),
                comment=comment,
                decided_at=now_ms(),
            )
        )

    def _evaluate(
        self,
        request: PromotionRequest,
        effective: EffectivePolicy,
        target: Target,
        candidate: VersionView,
    ) -> list[RuleResult]:
        """Evaluate the rules and stamp the request with the results and the policy used."""
        evidence = gather(self.session, self.ctx, self.blobs, effective.policy, target, candidate)
        results = evaluate(effective.policy, evidence)
        request.policy_id = effective.record.id if effective.record is not None else None
        request.policy_scope = effective.scope
        request.policy_version = effective.version
        request.evaluation = evaluation_document(results, effective.policy.approvals)
        request.evaluated_at = now_ms()
        return results

    def _advance(self, row: RequestRow) -> bool:
        """Evaluate against the policy of now; execute when approved and every rule passes.

        Returns whether the move happened. Otherwise the request stays open (approvals still
        missing) or becomes blocked (approved, but a rule fails).
        """
        request, model, number, _ = row
        effective = effective_policy(self.session, request.model_id)
        candidate = self.versions.get(model, VersionSelector(number=number))
        target = Target(request.kind, request.label)
        results = self._evaluate(request, effective, target, candidate)
        decisions = self.promotions.decisions([request.id]).get(request.id, [])
        approvals = [
            Approval(d.decided_by, tuple(d.groups)) for d in decisions if d.decision == APPROVE
        ]
        counted = tally(approvals, effective.policy.approvals)
        if not counted.satisfied(enforce_groups=self.ctx.governed):
            request.status = OPEN
        elif all(r.passed for r in results):
            self._execute(request, model, number)
            self._record("promotion.execute", request.id, with_rules=True)
            return True
        else:
            request.status = BLOCKED
        self.session.flush()
        return False

    def _execute(self, request: PromotionRequest, model: str, number: int) -> None:
        """Move the label, in this transaction, through the registry's promotion-only door."""
        lifecycle = LifecycleService(self.session, self.ctx)
        if request.kind == ALIAS:
            lifecycle.set_alias_via_promotion(model, request.label, number)
        else:
            lifecycle.transition_stage_via_promotion(
                model, number, request.label, archive_existing=request.archive_existing
            )
        request.status = EXECUTED
        request.closed_at, request.closed_by = now_ms(), self.ctx.actor.name
        self.session.flush()

    def _record(
        self, action: str, request_id: int, *, with_rules: bool = False, comment: str | None = None
    ) -> PromotionView:
        """Write the audit event of ``action`` on a request; return the request as it is now."""
        view = self.get(request_id)
        after: dict[str, object] = {
            "version": view.version,
            "target": f"{view.kind} {view.label}",
            "status": view.status,
            "forced": view.forced,
        }
        if comment is not None:
            after["comment"] = comment
        if with_rules:
            after["justification"] = view.justification
            after["policy"] = f"{view.policy_scope} v{view.policy_version}"
            after["rules"] = [r.as_dict() for r in view.rules]
        # Named after the version (fraud/3), as the audit trail names what concerns a version.
        name = f"{view.model}/{view.version}"
        _audit(self.session, self.ctx, action, "promotion_request", str(view.id), name, after=after)
        return view


def _text(value: str, field: str) -> str:
    text = naming.normalise(value).strip()
    if not text:
        raise InvalidArgument(f"{field} is required and must not be blank", field=field)
    if len(text) > TEXT_MAX:
        raise InvalidArgument(
            f"{field} is {len(text)} characters long; the limit is {TEXT_MAX}", field=field
        )
    return text
