"""The rules of lineage: recording it (append-only once a version is READY), reading it, and
walking the graph upstream (what a version depends on); impact (downstream) is in
``charter.lineage.impact``.

Services flush; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from charter import access
from charter.access import Role
from charter.audit import AuditService
from charter.context import RequestContext
from charter.db import now_ms
from charter.errors import Conflict, InvalidArgument, NotFound
from charter.lineage import graph
from charter.lineage.drafts import SINGLE_ROLES, Drafts, EdgeDraft, ValueDraft, entity_drafts
from charter.lineage.models import (
    RUN,
    RUN_METRIC,
    RUN_PARAM,
    LineageEdge,
    LineageValue,
)
from charter.lineage.repository import LineageRepository
from charter.lineage.schemas import (
    LineageIn,
    LineageRead,
    UpstreamEdge,
    UpstreamNode,
    UpstreamRead,
)
from charter.lineage.views import lineage_reads, version_key
from charter.registry.models import PENDING, ModelVersion, RegisteredModel
from charter.registry.references import VersionSelector, parse_reference
from charter.registry.service import VersionService

AUDIT_ITEMS = 50  # an audit event names at most this many added items, and counts them all
# Attributes that only spell what the entity key already identifies (a repository URL given as
# https or as git@): the first spelling stays, another one is neither a change nor a conflict.
SPELLINGS = frozenset({"repo"})


class LineageService:
    def __init__(self, session: Session, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx
        self.versions = VersionService(session, ctx)
        self.repo = LineageRepository(session)

    # -- reading --------------------------------------------------------------------------

    def get(self, name: str, selector: VersionSelector) -> LineageRead:
        _, version = self.versions.get_row(name, selector)
        read = lineage_reads(self.session, [version.id])[version.id]
        parents = [p.version.id for p in read.parents if p.version is not None]
        return _without(read, self._hidden(parents))

    def _hidden(self, version_ids: list[int]) -> set[int]:
        """The versions, of those given, whose model the caller may not read."""
        owners = self.repo.owners(version_ids)
        return {
            v
            for v, (model_id, model) in owners.items()
            if not access.visible(self.ctx, _Model(model_id, model))
        }

    def upstream(
        self, name: str, selector: VersionSelector, max_depth: int | None = None
    ) -> UpstreamRead:
        """The version's lineage and that of every version it was made from, transitively."""
        if max_depth is not None and max_depth < 0:
            raise InvalidArgument("max_depth must be 0 or more", field="max_depth")
        _, version = self.versions.get_row(name, selector)
        edges = self.repo.ancestor_edges([version.id])
        parents = graph.parents_of((child, parent) for child, parent, _ in edges)
        depth = graph.depths(version.id, parents, max_depth)
        # A version of a model the caller may not read is left out, and so is its name.
        hidden = self._hidden(list(depth))
        ids = sorted((i for i in depth if i not in hidden), key=lambda i: (depth[i], i))
        reads = {i: _without(r, hidden) for i, r in lineage_reads(self.session, ids).items()}
        names = self.repo.version_keys(ids)
        kept = [
            (c, p, relation)
            for c, p, relation in edges
            if c in names and p in names and depth[p] <= depth[c] + 1
        ]
        return UpstreamRead(
            version=version_key(version.id, names),
            nodes=[UpstreamNode(depth=depth[i], lineage=reads[i]) for i in ids],
            edges=[
                UpstreamEdge(
                    child=version_key(c, names), parent=version_key(p, names), relation=relation
                )
                for c, p, relation in kept
            ],
            truncated=any(parents.get(i) and depth[i] == max_depth for i in ids),
        )

    # -- recording ------------------------------------------------------------------------

    def add(self, name: str, selector: VersionSelector, body: LineageIn) -> LineageRead:
        """Add to a version's lineage. What is already recorded may be repeated (a no-op) or
        completed (a value that was absent); changing it is refused once the version is not
        PENDING_REGISTRATION (409): a READY version's lineage is append-only."""
        model, version = self.versions.get_row(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        drafts = self._drafts(version, body)
        added = self._apply(model, version, drafts, mutable=version.status == PENDING)
        if added:
            AuditService(self.session, self.ctx).record(
                "lineage.add",
                "model_version",
                version.id,
                f"{model.name}/{version.version}",
                after={"added": added[:AUDIT_ITEMS], "count": len(added)},
            )
        return lineage_reads(self.session, [version.id])[version.id]

    def replace(self, name: str, selector: VersionSelector, body: LineageIn) -> LineageRead:
        """Replace a PENDING_REGISTRATION version's whole lineage (409 once it is READY)."""
        model, version = self.versions.get_row(name, selector)
        access.require(self.ctx, Role.CONTRIBUTOR, model)
        if version.status != PENDING:
            raise Conflict(
                f"the lineage of {model.name}/{version.version} cannot be rewritten: the version "
                f"is {version.status}, and its lineage can only be added to",
                model=model.name,
                version=version.version,
                status=version.status,
            )
        drafts = self._drafts(version, body)
        self.repo.clear(version.id)
        added = self._apply(model, version, drafts, mutable=True)
        AuditService(self.session, self.ctx).record(
            "lineage.replace",
            "model_version",
            version.id,
            f"{model.name}/{version.version}",
            after={"added": added[:AUDIT_ITEMS], "count": len(added)},
        )
        return lineage_reads(self.session, [version.id])[version.id]

    def _drafts(self, version: ModelVersion, body: LineageIn) -> Drafts:
        drafts = entity_drafts(body)
        parents: list[tuple[str, int]] = []
        for index, parent in enumerate(body.parents):
            if parent.version is None:
                continue
            row = resolve_parent(self.versions, parent.version, f"parents[{index}].version")
            label = f"{parent.relation} {parent.version}"
            drafts.edges.append(EdgeDraft(parent.relation, label, parent_id=row.id))
            parents.append((parent.version, row.id))
        if parents:
            self._refuse_cycles(version, parents)
        return drafts

    def _refuse_cycles(self, version: ModelVersion, parents: list[tuple[str, int]]) -> None:
        """A parent edge version -> P closes a cycle when version is upstream of P."""
        self.repo.lock_parent_graph()
        edges = self.repo.ancestor_edges([parent_id for _, parent_id in parents])
        upward = graph.parents_of((child, parent) for child, parent, _ in edges)
        for ref, parent_id in parents:
            path = [version.id] if parent_id == version.id else None
            path = path or graph.path_up(parent_id, version.id, upward)
            if path is None:
                continue
            names = self.repo.version_keys([version.id, *path])
            cycle = [version_key(i, names).ref for i in [version.id, *path]]
            raise InvalidArgument(
                f"parent {ref!r} would make a cycle in parent-model lineage: {' -> '.join(cycle)}",
                field="parents",
                cycle=cycle,
            )

    def _apply(
        self, model: RegisteredModel, version: ModelVersion, drafts: Drafts, *, mutable: bool
    ) -> list[str]:
        """Write the drafts; returns labels of what was added or completed."""
        ref = f"{model.name}/{version.version}"
        added: list[str] = []
        existing = [edge for edge, _ in self.repo.edges([version.id])]
        for draft in drafts.edges:
            entity_id = None if draft.entity is None else self.repo.entity_id(draft.entity)
            label = self._apply_edge(ref, version, existing, draft, entity_id, mutable=mutable)
            if label:
                added.append(label)
        current = {(v.section, v.key): v for v in self.repo.values([version.id])}
        for value in drafts.values:
            label = self._apply_value(ref, version, current, value, mutable=mutable)
            if label:
                added.append(label)
        return added

    def _apply_edge(
        self,
        ref: str,
        version: ModelVersion,
        existing: list[LineageEdge],
        draft: EdgeDraft,
        entity_id: int | None,
        *,
        mutable: bool,
    ) -> str | None:
        if draft.role in SINGLE_ROLES:
            for other in [e for e in existing if e.role == draft.role]:
                if other.entity_id == entity_id:
                    continue
                if not mutable:
                    raise _rewrite(ref, f"its {draft.role.replace('_', ' ')} is already recorded")
                self.repo.delete_edge(other)
                existing.remove(other)
                if draft.role == RUN:
                    self.repo.delete_values(version.id, RUN_PARAM)
                    self.repo.delete_values(version.id, RUN_METRIC)
        same = [
            e
            for e in existing
            if e.role == draft.role
            and e.entity_id == entity_id
            and e.parent_version_id == draft.parent_id
        ]
        if not same:
            edge = LineageEdge(
                version_id=version.id,
                role=draft.role,
                entity_id=entity_id,
                parent_version_id=draft.parent_id,
                attributes=_compact(draft.attributes),
                created_at=now_ms(),
                created_by=self.ctx.actor.name,
            )
            self.repo.add_edge(edge)
            existing.append(edge)
            return draft.label
        edge = same[0]
        merged, changed = _merge(edge.attributes, draft.attributes)
        if changed and not mutable:
            raise _rewrite(ref, f"{draft.label} is already recorded with other details")
        if merged != edge.attributes:
            edge.attributes = merged
            self.session.flush()
            return f"{draft.label} (details)"
        return None

    def _apply_value(
        self,
        ref: str,
        version: ModelVersion,
        current: dict[tuple[str, str], LineageValue],
        value: ValueDraft,
        *,
        mutable: bool,
    ) -> str | None:
        label = f"{value.section.replace('_', ' ')} {value.key}"
        row = current.get((value.section, value.key))
        if row is None:
            row = LineageValue(
                version_id=version.id,
                section=value.section,
                key=value.key,
                value=value.value,
                created_at=now_ms(),
                created_by=self.ctx.actor.name,
            )
            self.repo.put_value(row)
            current[(value.section, value.key)] = row
            return label
        if row.value == value.value:
            return None
        if not mutable:
            raise _rewrite(ref, f"{label} is already recorded as {row.value}, not {value.value}")
        row.value = value.value
        self.session.flush()
        return label


def resolve_parent(versions: VersionService, ref: str, field: str) -> ModelVersion:
    """The live version a parent reference names; a reference to nothing is bad input (400)."""
    try:
        name, selector = parse_reference(ref)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"{field} {ref!r} is not a version reference: {exc.message}", field=field
        ) from exc
    try:
        _, row = versions.get_row(name, selector)
    except NotFound as exc:
        raise InvalidArgument(
            f"{field} {ref!r} does not exist: {exc.message}", field=field, ref=ref
        ) from exc
    return row


def _compact(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def _merge(current: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``current`` completed with the members of ``new`` it lacks, and whether ``new`` changes
    a member that ``current`` has (which an append-only lineage refuses)."""
    given = {k: v for k, v in _compact(new).items() if k not in current or k not in SPELLINGS}
    changed = any(key in current and current[key] != value for key, value in given.items())
    return {**current, **given}, changed


def _rewrite(ref: str, what: str) -> Conflict:
    return Conflict(
        f"the lineage of {ref} is append-only (the version is no longer pending): {what}; "
        "it can be added to, not rewritten",
        version=ref,
    )


__all__ = ["LineageService", "resolve_parent"]


@dataclass(frozen=True)
class _Model:
    id: int
    name: str


def _without(read: LineageRead, hidden: set[int]) -> LineageRead:
    """The lineage without parents the caller may not see (not even their names)."""
    if not hidden:
        return read
    parents = [p for p in read.parents if p.version is None or p.version.id not in hidden]
    return read.model_copy(update={"parents": parents})
