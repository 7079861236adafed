"""The audit trail: append-only, hash-chained events with signed checkpoints.

Every other area records its changes here; ``audit`` calls no other area.

Recording a change (in the same transaction as the change)::

    from charter.audit import AuditService

    AuditService(session, ctx).record(
        "alias.set", "alias", model.id, f"{model.name}@{alias}",
        before={"version": 2}, after={"version": 3},
    )

``record(action, resource_type, resource_id, resource_name, before=None, after=None,
outcome="success") -> AuditEventView`` appends the event to the request's session and flushes;
it commits or rolls back with the change. The session must be a writing one (non-GET
requests get one; on SQLite it began IMMEDIATE). Call it *after* taking the change's own locks
(``get_live(..., lock=True)``): it locks the chain's head row until the transaction ends, and
taking locks in the other order could deadlock with a concurrent request.

Recording a refused attempt (in a transaction of its own)::

    record_denied(db, ctx, "alias.set", "alias", model.id, "fraud@champion", reason)

The request's transaction is rolled back, so the event is written in a short transaction of
its own. Call it once that transaction is over (the API's PermissionDenied handler runs after
``get_session`` has rolled back) or before the request wrote anything: while the same thread
holds SQLite's write lock or the head row, a second transaction would wait for it.

Conventions
-----------
* ``action``: dotted lower case, ``<resource>.<verb>``: ``model.create``, ``model.rename``,
  ``model.delete``, ``model.tag.set``, ``model.tag.delete``, ``version.create``,
  ``version.update``, ``version.finalize``, ``version.delete``, ``version.tag.set``,
  ``alias.set``, ``alias.delete``, ``stage.transition``, ``artifact.upload``,
  ``promotion.request``, ``promotion.evaluate``, ``promotion.approve``, ``promotion.reject``.
* ``resource_type`` and ``resource_name``: for things that belong to a model the type is one
  of ``MODEL_SCOPED`` (``model``, ``model_version`` or ``version``, ``alias``, ``stage``,
  ``artifact``, ``promotion_request``, ``deployment``) and the name is its reference, starting
  with the model's name: ``fraud``, ``fraud/3``, ``fraud@champion``, ``fraud/3/model.pkl``
  (after a rename, the new name). The model's name is taken from there and stored with the
  event (exports filter on it); model names cannot contain ``/``, ``@`` or ``:``, so this is
  unambiguous.
* ``resource_id``: the row's id (the model's id tells a re-created model from the old one).
* ``before``/``after``: JSON objects of the fields that changed, small (no file lists).
  The evidence report reads: ``model.rename`` ``{"name"}`` on both sides (exports follow
  renames); ``version.create`` after ``{"version", "source", "run_id", "run_link"}``;
  ``version.finalize`` after ``{"status", "manifest_digest"}``; ``alias.set`` before/after
  ``{"version"}``; ``alias.delete`` before ``{"version"}``; ``stage.transition`` before/after
  ``{"stage"}`` with ``resource_name`` ``fraud/3``; ``promotion.*`` after
  ``{"version", "policy", "results", "decision", ...}``.
* ``outcome``: ``success`` (``record``), ``denied`` (``record_denied``), or ``failure`` for
  an attempt that was allowed but failed and that must still be on record.

Checkpoints: ``checkpoint_if_due(db, signer)`` signs the head every ``CHECKPOINT_EVERY``
events; the audit router runs it in the background while the server runs (see
``charter.api.routes.audit``). Verification and evidence packs: ``charter.audit.evidence``,
``charter.audit.pack``, ``charter.audit.pack_verify``; the canonical form: ``chain``.
"""

from __future__ import annotations

from charter.audit.schemas import AuditEventView, AuditFilter, CheckpointView
from charter.audit.service import (
    CHECKPOINT_EVERY,
    MODEL_SCOPED,
    AuditService,
    authorize,
    checkpoint_if_due,
    record_denied,
)

__all__ = [
    "CHECKPOINT_EVERY",
    "MODEL_SCOPED",
    "AuditEventView",
    "AuditFilter",
    "AuditService",
    "CheckpointView",
    "authorize",
    "checkpoint_if_due",
    "record_denied",
]
