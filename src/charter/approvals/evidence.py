"""Gathering what the rules look at: a version's tags, metrics and lineage, the current holder of
the target, and the results of named checks.

``lineage_fields`` and ``check_outcome`` are the two seams where the lineage and checks areas
will plug in; rules never read those sources any other way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from charter.approvals.policy import Policy, RequireChecks
from charter.approvals.rules import CheckOutcome, Evidence, HolderEvidence, Target
from charter.artifacts.service import ArtifactService
from charter.blobs import BlobStore
from charter.context import RequestContext
from charter.errors import NotFound
from charter.inspection.service import SECURITY_SCAN, SECURITY_SCAN_STRICT, InspectionService
from charter.registry.models import ALIAS
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService
from charter.registry.views import VersionView
from charter.signatures.service import SignatureService

ARTIFACTS_VERIFIED = "artifacts_verified"
SIGNATURE = "signature"


@dataclass(frozen=True)
class CheckSubject:
    """What a check runs against, with the means to run it."""

    session: Session
    ctx: RequestContext
    blobs: BlobStore | None
    model: str
    version: int
    signature_keys: tuple[str, ...] = ()  # a signature by one of these, when any are named


def lineage_fields(version: VersionView) -> dict[str, str]:
    """The lineage of a version (training_dataset, code_commit, ...).

    Read from the version's tags until the lineage area records lineage of its own.
    """
    return dict(version.tags)


def check_outcome(name: str, subject: CheckSubject) -> CheckOutcome:
    """The result of the named check for a version: the one place checks are looked up."""
    if name == ARTIFACTS_VERIFIED:
        return _artifacts_verified(subject)
    if name == SIGNATURE:
        return _signature(subject)
    if name in (SECURITY_SCAN, SECURITY_SCAN_STRICT):
        found = InspectionService(subject.session, subject.ctx).security_outcome(
            subject.model, subject.version, strict=name == SECURITY_SCAN_STRICT
        )
        return CheckOutcome(found.passed, found.detail, found.seen)
    return CheckOutcome(False, f"no check named {name!r} is known")


def _artifacts_verified(subject: CheckSubject) -> CheckOutcome:
    """Re-hash every file of the version against its manifest, now."""
    if subject.blobs is None:
        return CheckOutcome(False, "no artifact store at hand to verify against")
    report = ArtifactService(subject.session, subject.ctx, subject.blobs).verify(
        subject.model, VersionSelector(number=subject.version)
    )
    seen = {
        "files_checked": report.files_checked,
        "manifest_digest": report.manifest_digest,
        "problems": [p.model_dump() for p in report.problems],
    }
    if report.files_checked == 0:
        # A version registered from an outside source has nothing here to verify; a gate that
        # asks for verified artifacts must not pass on nothing.
        return CheckOutcome(False, "the version has no files in Charter's store to verify", seen)
    if not report.ok:
        return CheckOutcome(False, f"{len(report.problems)} problems", seen)
    return CheckOutcome(True, f"all {report.files_checked} files match the manifest", seen)


def _signature(subject: CheckSubject) -> CheckOutcome:
    """Every stored signature checked against the manifest now; one must be by a named key."""
    if subject.blobs is None:
        return CheckOutcome(False, "no artifact store at hand to check signatures against")
    status = SignatureService(subject.session, subject.ctx, subject.blobs).status(
        subject.model, VersionSelector(number=subject.version)
    )
    checks = [check for _, check in status.signatures]
    seen = {
        "required_keys": list(subject.signature_keys),
        "signatures": [
            {"key": c.key_fingerprint, "valid": c.ok, "problems": [p.problem for p in c.problems]}
            for c in checks
        ],
    }
    if not checks:
        return CheckOutcome(False, "the version is not signed", seen)
    broken = [c for c in checks if not c.ok]
    if broken:
        first = broken[0]
        return CheckOutcome(
            False, f"signature by {first.key_fingerprint} fails: {first.problems[0].problem}", seen
        )
    valid = status.valid_keys()
    if subject.signature_keys and not set(valid) & set(subject.signature_keys):
        return CheckOutcome(
            False,
            f"no signature by a required key ({', '.join(subject.signature_keys)}); signed by "
            f"{', '.join(valid)}",
            seen,
        )
    return CheckOutcome(True, f"signed by {', '.join(valid)}", seen)


def current_holder(
    session: Session, ctx: RequestContext, model: str, target: Target, candidate: VersionView
) -> VersionView | None:
    """The version holding the target now (for a stage, its newest), unless it is the candidate."""
    selector = (
        VersionSelector(alias=target.label)
        if target.kind == ALIAS
        else VersionSelector(stage=target.label)
    )
    try:
        holder = VersionService(session, ctx).get(model, selector)
    except NotFound:
        return None
    return None if holder.id == candidate.id else holder


def gather(
    session: Session,
    ctx: RequestContext,
    blobs: BlobStore | None,
    policy: Policy,
    target: Target,
    candidate: VersionView,
) -> Evidence:
    """The evidence for evaluating ``policy``; checks run only when a rule asks for them."""
    holder = current_holder(session, ctx, candidate.model, target, candidate)
    rules = [rule for rule in policy.rules if isinstance(rule, RequireChecks)]
    keys = tuple(dict.fromkeys(k for rule in rules for k in rule.signature_keys))
    subject = CheckSubject(session, ctx, blobs, candidate.model, candidate.version, keys)
    wanted = [n for rule in rules for n in rule.require_checks]
    return Evidence(
        version=candidate.version,
        tags=dict(candidate.tags),
        metrics=dict(candidate.metrics),
        lineage=lineage_fields(candidate),
        holder=HolderEvidence(holder.version, dict(holder.metrics)) if holder else None,
        checks={name: check_outcome(name, subject) for name in dict.fromkeys(wanted)},
    )
