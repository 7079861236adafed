"""The card's sections that come from Charter's own records: integrity and governance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from charter.approvals.service import PromotionService
from charter.approvals.views import PromotionView
from charter.inspection.service import InspectionService
from charter.inspection.verdicts import DANGEROUS, FAILED, SUSPICIOUS
from charter.modelcards import markdown as md
from charter.modelcards.sections import CardSubject, Section, iso
from charter.pagination import Page
from charter.registry.lifecycle import HoldingView, LifecycleService
from charter.registry.references import VersionSelector
from charter.signatures.service import SignatureService

T = TypeVar("T")
PAGE = 1000
MAX_ROWS = 10_000  # a card lists a version's history, not a model's whole archive
REASON_SHOWN = 500  # characters of a scan's reason in the Markdown; the data has it whole


def scan_status(subject: CardSubject) -> dict[str, Any]:
    """The version's security scan: its verdict (``pending`` while a scan is queued or running),
    why, when, and how many files were found dangerous, suspicious or impossible to scan."""
    scan = InspectionService(subject.session, subject.ctx).scan(
        subject.model.name, subject.selector
    )
    verdicts = [f.verdict for f in scan.files]
    return {
        "status": scan.verdict,
        "reason": scan.reason,
        "scanned_at": iso(scan.scanned_at),
        "dangerous_files": verdicts.count(DANGEROUS),
        "suspicious_files": verdicts.count(SUSPICIOUS),
        "failed_files": verdicts.count(FAILED),
    }


def _scan_text(scan: dict[str, Any]) -> str:
    found = [
        f"{scan[key]} {label}"
        for key, label in (
            ("dangerous_files", "dangerous"),
            ("suspicious_files", "suspicious"),
            ("failed_files", "failed to scan"),
        )
        if scan[key]
    ]
    counts = f" ({', '.join(found)} files)" if found else ""
    when = f", scanned at {scan['scanned_at']}" if scan["scanned_at"] else ""
    reason = f": {scan['reason'][:REASON_SHOWN]}" if scan["reason"] else ""
    return md.inline(f"{scan['status']}{counts}{when}{reason}")


def signature_status(subject: CardSubject) -> dict[str, Any]:
    status = SignatureService(subject.session, subject.ctx, subject.blobs).status(
        subject.model.name, VersionSelector(number=subject.version.version)
    )
    signatures = [
        {
            "id": view.id,
            "key_fingerprint": view.key_fingerprint,
            "signed_by": view.created_by,
            "signed_at": iso(view.created_at),
            "valid": check.ok,
            "problems": [p.problem for p in check.problems],
        }
        for view, check in status.signatures
    ]
    if not signatures:
        summary = "unsigned"
    elif all(s["valid"] for s in signatures):
        summary = "signed"
    else:
        summary = "signature invalid"
    return {"status": summary, "signatures": signatures}


def integrity(subject: CardSubject) -> Section:
    version = subject.version
    scan, signing = scan_status(subject), signature_status(subject)
    data = {
        "manifest_digest": version.manifest_digest,
        "file_count": version.file_count,
        "total_size": version.total_size,
        "scan": scan,
        "signature": signing,
    }
    rows = [
        ("Manifest digest", md.code(version.manifest_digest or "none (no files in Charter)")),
        ("Files", f"{version.file_count} ({version.total_size} bytes)"),
        ("Scan status", _scan_text(scan)),
        ("Signature status", md.inline(signing["status"])),
    ]
    parts = [md.facts(rows)]
    if signing["signatures"]:
        parts.append(
            md.table(
                ["Key", "Signed by", "Signed at", "Check"],
                [
                    [
                        md.code(s["key_fingerprint"]),
                        md.inline(s["signed_by"]),
                        s["signed_at"] or "",
                        "valid" if s["valid"] else md.inline("; ".join(s["problems"])),
                    ]
                    for s in signing["signatures"]
                ],
            )
        )
        parts.append(
            "Signatures are OpenSSF model-signing bundles: `charter versions verify "
            f"{md.inline(subject.ref)}` checks them against the downloaded files."
        )
    return Section("integrity", "Integrity", data, "\n\n".join(parts))


def _all(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    token: str | None = None
    for _ in range(MAX_ROWS // PAGE):
        page = fetch(token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return


def _holdings(subject: CardSubject) -> list[HoldingView]:
    lifecycle = LifecycleService(subject.session, subject.ctx)
    rows = _all(
        lambda token: lifecycle.history(subject.model.name, max_results=PAGE, page_token=token)
    )
    return [h for h in rows if h.version == subject.version.version]


def _promotions(subject: CardSubject) -> list[PromotionView]:
    promotions = PromotionService(subject.session, subject.ctx, blobs=subject.blobs)
    rows = _all(
        lambda token: promotions.search(
            model=subject.model.name, max_results=PAGE, page_token=token
        )
    )
    return [p for p in rows if p.version == subject.version.version]


def governance(subject: CardSubject) -> Section:
    version = subject.version
    holdings = _holdings(subject)
    promotions = [_promotion(p) for p in _promotions(subject)]
    data: dict[str, Any] = {
        "stage": version.stage,
        "aliases": list(version.aliases),
        "history": [
            {
                "kind": h.kind,
                "label": h.label,
                "from": iso(h.started_at),
                "by": h.started_by,
                "until": iso(h.ended_at),
                "end_reason": h.end_reason,
            }
            for h in holdings
        ],
        "promotions": promotions,
    }
    aliases = ", ".join(md.inline(a) for a in version.aliases) or "none"
    parts = [md.facts([("Stage", md.inline(version.stage)), ("Aliases", aliases)])]
    parts.append("### Stage and Alias History")
    parts.append(
        md.table(
            ["Held", "From", "By", "Until"],
            [
                [
                    md.inline(f"{h.kind} {h.label}"),
                    iso(h.started_at) or "",
                    md.inline(h.started_by),
                    md.inline(f"{iso(h.ended_at)} ({h.end_reason})") if h.ended_at else "now",
                ]
                for h in holdings
            ],
        )
        if holdings
        else "This version has never held a stage or an alias."
    )
    parts.append("### Approval History")
    parts.append(_promotion_table(promotions) if promotions else "No promotion requests.")
    return Section("governance", "Governance", data, "\n\n".join(parts))


def _promotion(p: PromotionView) -> dict[str, Any]:
    return {
        "id": p.id,
        "target": f"{p.kind} {p.label}",
        "status": p.status,
        "requested_by": p.requested_by,
        "requested_at": iso(p.requested_at),
        "justification": p.justification,
        "forced": p.forced,
        "rules_passed": p.rules_passed,
        "decisions": [
            {"decision": d.decision, "by": d.decided_by, "at": iso(d.decided_at)}
            for d in p.decisions
        ],
    }


def _promotion_table(promotions: list[dict[str, Any]]) -> str:
    rows = []
    for p in promotions:
        decisions = "; ".join(f"{d['decision']} by {d['by']}" for d in p["decisions"])
        rows.append(
            [
                str(p["id"]),
                md.inline(p["target"]),
                md.inline(p["status"] + (" (forced)" if p["forced"] else "")),
                md.inline(p["requested_by"]),
                md.inline(decisions or "none"),
                md.inline(p["justification"]),
            ]
        )
    return md.table(["Request", "Target", "Status", "Requested by", "Decisions", "Why"], rows)
