"""OpenLineage exports of one version or of every version of a model."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from charter.context import RequestContext
from charter.errors import InvalidArgument
from charter.lineage import openlineage
from charter.lineage.views import lineage_reads
from charter.pagination import Page
from charter.registry.filters import Condition, Order
from charter.registry.references import VersionSelector
from charter.registry.service import VersionService

NAMESPACE_MAX = 256


class OpenLineageExport:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.versions = VersionService(session, ctx)

    def version(
        self, name: str, selector: VersionSelector, namespace: str | None = None
    ) -> dict[str, Any]:
        view = self.versions.get(name, selector)
        lineage = lineage_reads(self.session, [view.id])[view.id]
        return openlineage.run_event(view, lineage, _namespace(namespace))

    def model(
        self,
        name: str,
        namespace: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[dict[str, Any]]:
        """One event per live version of the model, oldest first, a page at a time."""
        model = self.versions.models.get_row(name)
        page = self.versions.search(
            [Condition("model_id", "=", model.id)], [Order("version")], max_results, page_token
        )
        reads = lineage_reads(self.session, [v.id for v in page.items])
        ns = _namespace(namespace)
        events = [openlineage.run_event(v, reads[v.id], ns) for v in page.items]
        return Page(events, page.next_page_token)


def _namespace(value: str | None) -> str:
    if value is None:
        return openlineage.DEFAULT_NAMESPACE
    cleaned = value.strip()
    if not cleaned or len(cleaned) > NAMESPACE_MAX:
        raise InvalidArgument(
            f"namespace must be 1 to {NAMESPACE_MAX} characters", field="namespace"
        )
    return cleaned
