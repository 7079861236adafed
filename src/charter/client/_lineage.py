"""The lineage half of the client: what a version was made from, what depends on what, and
OpenLineage exports."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import Field

from charter.client._http import HTTP
from charter.client._models import Page, UtcDatetime, _Result
from charter.client._references import API, Ref, model_path, parse_ref

Item = Mapping[str, Any]


class LineageSchemaField(_Result):
    name: str
    type: str
    description: str | None = None


class _Recorded(_Result):
    recorded_at: UtcDatetime
    recorded_by: str


class LineageDataset(_Recorded):
    """A dataset a version was trained (``role="training"``) or evaluated on."""

    role: str
    uri: str
    snapshot: str | None
    name: str | None
    row_count: int | None
    schema_: list[LineageSchemaField] | None = Field(alias="schema")


class LineageFeature(_Recorded):
    store: str
    view: str
    version: str | None
    features: list[str]


class LineageCode(_Recorded):
    repo: str | None
    commit: str
    path: str | None
    dirty: bool | None


class LineageRun(_Recorded):
    id: str
    link: str | None
    tracking: str | None
    params: dict[str, str]
    metrics: dict[str, float]


class LineageLoggedModel(_Recorded):
    id: str
    name: str | None


class ExternalModel(_Result):
    """A model outside Charter, e.g. ``source="huggingface"``, a repo id and a revision."""

    source: str
    name: str
    revision: str | None


class VersionKey(_Result):
    id: int
    model: str
    version: int

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"


class LineageParent(_Recorded):
    """A model a version was made from: a Charter ``version`` or an ``external`` model."""

    relation: str
    version: VersionKey | None
    external: ExternalModel | None


class Lineage(_Result):
    """Everything recorded about what made one version."""

    model: str
    version: int
    status: str
    datasets: list[LineageDataset]
    features: list[LineageFeature]
    code: list[LineageCode]
    run: LineageRun | None
    logged_model: LineageLoggedModel | None
    parents: list[LineageParent]
    environment: dict[str, str]
    hyperparameters: dict[str, Any]


class UpstreamNode(_Result):
    depth: int
    lineage: Lineage


class UpstreamEdge(_Result):
    child: VersionKey
    parent: VersionKey
    relation: str


class Upstream(_Result):
    """A version and everything it depends on, transitively through its parent versions."""

    version: VersionKey
    nodes: list[UpstreamNode]
    edges: list[UpstreamEdge]
    truncated: bool


class ImpactedVersion(_Result):
    """A version built (directly, or through parent versions) from what an impact query named."""

    id: int
    model: str
    version: int
    status: str
    stage: str
    aliases: list[str]
    live: bool
    direct: bool

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"


def _body(
    datasets: Sequence[Item] | None,
    features: Sequence[Item] | None,
    code: Sequence[Item] | None,
    run: Item | None,
    logged_model: Item | None,
    parents: Sequence[Item] | None,
    environment: Item | None,
    hyperparameters: Mapping[str, str | int | float | bool] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "datasets": [dict(d) for d in datasets or ()],
        "features": [dict(f) for f in features or ()],
        "code": [dict(c) for c in code or ()],
        "parents": [dict(p) for p in parents or ()],
        "hyperparameters": dict(hyperparameters or {}),
    }
    for key, value in (("run", run), ("logged_model", logged_model), ("environment", environment)):
        if value is not None:
            body[key] = dict(value)
    return body


def _flag(value: bool) -> str:
    return "true" if value else "false"


class LineageMethods:
    """A version's lineage; every method is one request unless it says otherwise.

    Sections are given as the native API spells them, e.g.
    ``datasets=[{"uri": "s3://b/train.parquet", "snapshot": "v3", "row_count": 1000}]``,
    ``code=[{"repo": "https://github.com/org/repo", "commit": "4f2a9c1"}]``,
    ``parents=[{"version": "base/3"}, {"relation": "distilled_from",
    "external": {"source": "huggingface", "name": "bert-base-uncased", "revision": "main"}}]``.
    """

    _http: HTTP

    def get_lineage(self, ref: Ref) -> Lineage:
        return Lineage.model_validate(self._http.json("GET", f"{parse_ref(ref).path}/lineage"))

    def add_lineage(
        self,
        ref: Ref,
        *,
        datasets: Sequence[Item] | None = None,
        features: Sequence[Item] | None = None,
        code: Sequence[Item] | None = None,
        run: Item | None = None,
        logged_model: Item | None = None,
        parents: Sequence[Item] | None = None,
        environment: Item | None = None,
        hyperparameters: Mapping[str, str | int | float | bool] | None = None,
    ) -> Lineage:
        """Add to a version's lineage. Repeating what is recorded is a no-op; changing it
        raises ``Conflict`` once the version is READY (its lineage is append-only)."""
        body = _body(
            datasets, features, code, run, logged_model, parents, environment, hyperparameters
        )
        path = f"{parse_ref(ref).path}/lineage"
        return Lineage.model_validate(self._http.json("POST", path, json=body))

    def replace_lineage(
        self,
        ref: Ref,
        *,
        datasets: Sequence[Item] | None = None,
        features: Sequence[Item] | None = None,
        code: Sequence[Item] | None = None,
        run: Item | None = None,
        logged_model: Item | None = None,
        parents: Sequence[Item] | None = None,
        environment: Item | None = None,
        hyperparameters: Mapping[str, str | int | float | bool] | None = None,
    ) -> Lineage:
        """Replace the lineage of a PENDING_REGISTRATION version (``Conflict`` once READY)."""
        body = _body(
            datasets, features, code, run, logged_model, parents, environment, hyperparameters
        )
        path = f"{parse_ref(ref).path}/lineage"
        return Lineage.model_validate(self._http.json("PUT", path, json=body))

    def upstream(self, ref: Ref, *, max_depth: int | None = None) -> Upstream:
        path = f"{parse_ref(ref).path}/lineage/upstream"
        body = self._http.json("GET", path, params={"max_depth": max_depth})
        return Upstream.model_validate(body)

    def impact(
        self,
        *,
        dataset: str | None = None,
        snapshot: str | None = None,
        commit: str | None = None,
        repo: str | None = None,
        feature: str | None = None,
        feature_store: str | None = None,
        feature_version: str | None = None,
        parent: Ref | None = None,
        live_only: bool = False,
        transitive: bool = True,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[ImpactedVersion]:
        """One page of the versions built from a dataset (any snapshot, or ``snapshot``), a
        commit, a feature view or a parent version, transitively through parent versions."""
        params = {
            "dataset": dataset,
            "snapshot": snapshot,
            "commit": commit,
            "repo": repo,
            "feature": feature,
            "feature_store": feature_store,
            "feature_version": feature_version,
            "parent": None if parent is None else str(parse_ref(parent)),
            "live_only": _flag(live_only),
            "transitive": _flag(transitive),
            "max_results": max_results,
            "page_token": page_token,
        }
        body = self._http.json("GET", f"{API}/lineage/impact", params=params)
        items = tuple(ImpactedVersion.model_validate(v) for v in body["versions"])
        return Page(items, body.get("next_page_token"))

    def iter_impact(self, **query: Any) -> Iterator[ImpactedVersion]:
        """Every version ``impact(**query)`` finds, page after page."""
        token: str | None = None
        while True:
            page = self.impact(**query, page_token=token)
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def openlineage_event(self, ref: Ref, *, namespace: str | None = None) -> dict[str, Any]:
        """The version as one OpenLineage RunEvent, ready to send to Marquez and the like."""
        path = f"{parse_ref(ref).path}/lineage/openlineage"
        event: dict[str, Any] = self._http.json("GET", path, params={"namespace": namespace})
        return event

    def iter_openlineage_events(
        self, model: str, *, namespace: str | None = None, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """One RunEvent per version of ``model``, oldest first (one request per page)."""
        token: str | None = None
        while True:
            params = {"namespace": namespace, "max_results": page_size, "page_token": token}
            path = f"{model_path(model)}/lineage/openlineage"
            body = self._http.json("GET", path, params=params)
            yield from body["events"]
            token = body.get("next_page_token")
            if not token:
                return


__all__ = [
    "ExternalModel",
    "ImpactedVersion",
    "Lineage",
    "LineageCode",
    "LineageDataset",
    "LineageFeature",
    "LineageLoggedModel",
    "LineageMethods",
    "LineageParent",
    "LineageRun",
    "Upstream",
    "UpstreamEdge",
    "UpstreamNode",
    "VersionKey",
]
