"""Impact analysis: which versions were built from a dataset, a commit, a feature view or a
parent version, directly or transitively through parent edges, and which of them are live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from charter import access
from charter.context import RequestContext
from charter.errors import InvalidArgument
from charter.lineage import keys
from charter.lineage.models import CODE, DATASET, FEATURE
from charter.lineage.repository import EntityMatch, LineageRepository
from charter.lineage.schemas import ImpactedVersion
from charter.lineage.service import resolve_parent
from charter.pagination import Page, decode_token, encode_token, page_size
from charter.registry.service import VersionService

IMPACT_ORDERING = "lineage-impact:id"


@dataclass(frozen=True)
class ImpactQuery:
    """What changed: exactly one of a dataset, a commit, a feature view or a parent version."""

    dataset: str | None = None
    snapshot: str | None = None
    commit: str | None = None
    repo: str | None = None
    feature: str | None = None
    feature_store: str | None = None
    feature_version: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class _Model:
    id: int
    name: str


class ImpactService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.versions = VersionService(session, ctx)
        self.repo = LineageRepository(session)

    def impact(
        self,
        query: ImpactQuery,
        *,
        live_only: bool = False,
        transitive: bool = True,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[ImpactedVersion]:
        """The versions built from what the query names, and (``transitive``) every version
        built from those through parent edges; ``live_only`` keeps those holding an alias or
        a stage other than None and Archived. In version id order, keyset-paged."""
        limit = page_size(max_results)
        after = decode_token(page_token, IMPACT_ORDERING)
        if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
            raise InvalidArgument("page_token is malformed", field="page_token")
        after_id = None if after is None else int(after[0])  # type: ignore[arg-type]
        rows = self.repo.impact(
            self._seeds(query),
            transitive=transitive,
            live_only=live_only,
            after_id=after_id,
            limit=limit + 1,
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            token = encode_token(IMPACT_ORDERING, [rows[-1].id])
        # Versions of models the caller may not read are left out (a page may come out short;
        # the token still moves past them).
        rows = [r for r in rows if access.visible(self.ctx, _Model(r.model_id, r.model))]
        aliases = self.repo.aliases([r.id for r in rows])
        items = [
            ImpactedVersion(
                id=r.id,
                model=r.model,
                version=r.version,
                status=r.status,
                stage=r.stage,
                aliases=list(aliases.get(r.id, [])),
                live=r.live,
                direct=r.direct,
            )
            for r in rows
        ]
        return Page(items, token)

    def _seeds(self, query: ImpactQuery) -> Any:
        given = [
            name
            for name, value in (
                ("dataset", query.dataset),
                ("commit", query.commit),
                ("feature", query.feature),
                ("parent", query.parent),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise InvalidArgument(
                "name exactly one of dataset, commit, feature or parent "
                f"(got {', '.join(given) or 'none'})",
                field="query",
            )
        if query.snapshot is not None and query.dataset is None:
            raise InvalidArgument("snapshot needs a dataset", field="snapshot")
        if query.repo is not None and query.commit is None:
            raise InvalidArgument("repo needs a commit", field="repo")
        if query.dataset is not None:
            uri = keys.required(query.dataset, "dataset", keys.NAME_MAX_BYTES)
            snapshot = None
            if query.snapshot is not None:
                snapshot = keys.text(query.snapshot, "snapshot", keys.REVISION_MAX_BYTES)
            return self.repo.entity_seeds(EntityMatch(DATASET, name=uri, revision=snapshot))
        if query.commit is not None:
            repo = None if query.repo is None else keys.repository(query.repo)
            match = EntityMatch(CODE, name=repo, revision=keys.commit(query.commit))
            return self.repo.entity_seeds(match)
        if query.feature is not None:
            version = query.feature_version
            match = EntityMatch(
                FEATURE,
                name=keys.required(query.feature, "feature", keys.NAME_MAX_BYTES),
                revision=None if version is None else keys.text(version, "feature_version", 256),
                namespace=query.feature_store,
            )
            return self.repo.entity_seeds(match)
        assert query.parent is not None
        parent = resolve_parent(self.versions, query.parent, "parent")
        return self.repo.child_seeds(parent.id)
