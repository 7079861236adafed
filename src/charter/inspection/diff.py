"""Comparing two versions: metadata, tags, metrics, signature, files (by sha256), lineage, scans.

Lineage is compared as a flat mapping (``lineage_of``): one key per dataset, code repository,
feature view, parent, environment entry and hyperparameter, so that the diff names each entry
added, removed or changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.inspection.repository import ScanRepository
from charter.inspection.schemas import FilesDiff, MappingDiff, SignatureDiff, VersionDiffRead
from charter.lineage.schemas import LineageRead
from charter.lineage.service import LineageService
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService
from charter.registry.views import VersionView

METADATA_FIELDS = (
    "description",
    "status",
    "status_message",
    "stage",
    "aliases",
    "source",
    "run_id",
    "run_link",
    "created_by",
    "manifest_digest",
    "file_count",
    "total_size",
)


def lineage_of(version: VersionView, lineage: LineageRead) -> dict[str, Any]:
    """A version's lineage as the diff sees it: each entry keyed by what it is (a dataset by
    role and URI, code by repository, a parent by relation and model), valued by what pins it
    (the snapshot, the commit, the parent's version), so a new snapshot is a change."""
    run = lineage.run
    flat: dict[str, Any] = {
        "source": version.source,
        "run_id": run.id if run is not None else version.run_id,
        "run_link": (run.link if run is not None else None) or version.run_link,
    }
    for dataset in lineage.datasets:
        flat[f"dataset:{dataset.role}:{dataset.uri}"] = dataset.snapshot
    for code in lineage.code:
        flat[f"code:{code.repo or code.path or ''}"] = code.commit
    for feature in lineage.features:
        flat[f"feature:{feature.store}/{feature.view}"] = {
            "version": feature.version,
            "features": sorted(feature.features),
        }
    for parent in lineage.parents:
        if parent.version is not None:
            flat[f"parent:{parent.relation}:{parent.version.model}"] = parent.version.ref
        elif parent.external is not None:
            external = parent.external
            flat[f"parent:{parent.relation}:{external.source}/{external.name}"] = external.revision
    if lineage.logged_model is not None:
        flat["logged_model"] = lineage.logged_model.id
    if run is not None:
        flat.update({f"run_param:{k}": v for k, v in run.params.items()})
    flat.update({f"environment:{k}": v for k, v in lineage.environment.items()})
    flat.update({f"hyperparameter:{k}": v for k, v in lineage.hyperparameters.items()})
    return flat


def mapping_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> MappingDiff:
    changed: dict[str, dict[str, Any]] = {}
    for key in sorted(a.keys() & b.keys()):
        if a[key] != b[key]:
            change: dict[str, Any] = {"a": a[key], "b": b[key]}
            if _is_number(a[key]) and _is_number(b[key]):
                change["delta"] = b[key] - a[key]
            changed[key] = change
    return MappingDiff(
        added={k: b[k] for k in sorted(b.keys() - a.keys())},
        removed={k: a[k] for k in sorted(a.keys() - b.keys())},
        changed=changed,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def signature_diff(a: dict[str, Any] | None, b: dict[str, Any] | None) -> SignatureDiff:
    def part(signature: dict[str, Any] | None, name: str) -> dict[str, Any]:
        entries = (signature or {}).get(name) or []
        return {str(e.get("name")): e for e in entries if isinstance(e, dict)}

    return SignatureDiff(
        a_available=a is not None,
        b_available=b is not None,
        inputs=mapping_diff(part(a, "inputs"), part(b, "inputs")),
        outputs=mapping_diff(part(a, "outputs"), part(b, "outputs")),
        params=mapping_diff(part(a, "params"), part(b, "params")),
    )


def files_diff(a: list[tuple[str, int, str]], b: list[tuple[str, int, str]]) -> FilesDiff:
    left = {path: (size, sha) for path, size, sha in a}
    right = {path: (size, sha) for path, size, sha in b}
    changed = [
        {
            "path": path,
            "a_sha256": left[path][1],
            "b_sha256": right[path][1],
            "a_size": left[path][0],
            "b_size": right[path][0],
        }
        for path in sorted(left.keys() & right.keys())
        if left[path][1] != right[path][1]
    ]
    return FilesDiff(
        added=[
            {"path": p, "sha256": right[p][1], "size": right[p][0]}
            for p in sorted(right.keys() - left.keys())
        ],
        removed=[
            {"path": p, "sha256": left[p][1], "size": left[p][0]}
            for p in sorted(left.keys() - right.keys())
        ],
        changed=changed,
        unchanged=sum(1 for p in left.keys() & right.keys() if left[p][1] == right[p][1]),
    )


class DiffService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.versions = VersionService(session, ctx)
        self.lineage = LineageService(session, ctx)
        self.scans = ScanRepository(session)

    def diff(
        self, a: tuple[str, VersionSelector], b: tuple[str, VersionSelector]
    ) -> VersionDiffRead:
        left, right = self.versions.get(*a), self.versions.get(*b)
        return VersionDiffRead(
            a=f"{left.model}/{left.version}",
            b=f"{right.model}/{right.version}",
            metadata=mapping_diff(_metadata(left), _metadata(right)),
            tags=mapping_diff(left.tags, right.tags),
            metrics=mapping_diff(left.metrics, right.metrics),
            signature=signature_diff(self._signature(left.id), self._signature(right.id)),
            files=files_diff(self._files(left.id), self._files(right.id)),
            lineage=mapping_diff(self._lineage(left), self._lineage(right)),
            scan=mapping_diff(self._scan(left.id), self._scan(right.id)),
        )

    def _lineage(self, view: VersionView) -> dict[str, Any]:
        recorded = self.lineage.get(view.model, VersionSelector(number=view.version))
        return lineage_of(view, recorded)

    def _signature(self, version_id: int) -> dict[str, Any] | None:
        summary = self.scans.summary(version_id)
        return summary.signature if summary is not None else None

    def _scan(self, version_id: int) -> dict[str, Any]:
        summary = self.scans.summary(version_id)
        return {"verdict": summary.verdict if summary is not None else None}

    def _files(self, version_id: int) -> list[tuple[str, int, str]]:
        subject = self.scans.subject(version_id)
        return subject.files if subject is not None else []


def _metadata(view: VersionView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in METADATA_FIELDS}
