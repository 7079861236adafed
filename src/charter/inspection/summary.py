"""A version's verdict and signature, from the reports on its files."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from charter.inspection import mlmodel, onnx_format
from charter.inspection.verdicts import FileReport, worst

NO_FILES = "the version has no files in Charter's store: nothing to scan"


def summarise(reports: list[tuple[str, FileReport]]) -> tuple[str, str | None]:
    """The worst verdict, and the reasons of the files that have it."""
    if not reports:
        return worst([]), NO_FILES
    verdict = worst([r.verdict for _, r in reports])
    reasons = [f"{path}: {r.reason}" for path, r in reports if r.verdict == verdict and r.reason]
    return verdict, "; ".join(reasons)[:4000] or None


def signature_of(reports: list[tuple[str, FileReport]]) -> dict[str, Any] | None:
    """The signature in the MLmodel nearest the root, else the first ONNX graph's inputs/outputs."""
    by_depth = sorted(reports, key=lambda item: (len(PurePosixPath(item[0]).parts), item[0]))
    for path, report in by_depth:
        signature = report.details.get("signature") if report.format == mlmodel.FORMAT else None
        if isinstance(signature, dict) and signature:
            return {"source": path, **signature}
    for path, report in by_depth:
        if report.format == onnx_format.FORMAT and "inputs" in report.details:
            return {
                "source": path,
                "inputs": report.details["inputs"],
                "outputs": report.details.get("outputs", []),
            }
    return None
