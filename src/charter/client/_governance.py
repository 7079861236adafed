"""The governance half of the client: promotion requests, policies and role grants."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from charter.client._exceptions import InvalidArgument
from charter.client._governance_models import Grant, Policy, Promotion
from charter.client._models import Page
from charter.client._references import API, Ref, model_path
from charter.client._registry import RegistryMethods, follow_pages


def _target(alias: str | None, stage: str | None) -> dict[str, str]:
    if (alias is None) == (stage is None):
        raise InvalidArgument("give exactly one of alias and stage", field="alias")
    return {"alias": alias} if alias is not None else {"stage": stage or ""}


class GovernanceMethods(RegistryMethods):
    """Promotions go through approvals and the model's policy; the server enforces roles."""

    # -- promotions -----------------------------------------------------------------------

    def request_promotion(
        self,
        ref: Ref,
        *,
        alias: str | None = None,
        stage: str | None = None,
        justification: str,
        archive_existing: bool = False,
    ) -> Promotion:
        """Ask to move a version to a protected alias or stage; the request shows every rule
        of the model's policy with what it saw, and waits for approvals."""
        model, number = self.resolve_number(ref)
        body: dict[str, Any] = {"version": number, "justification": justification}
        body |= _target(alias, stage)
        if archive_existing:
            body["archive_existing"] = True
        path = f"{model_path(model)}/promotions"
        return Promotion.model_validate(self._http.json("POST", path, json=body))

    def force_promotion(
        self,
        ref: Ref,
        *,
        alias: str | None = None,
        stage: str | None = None,
        reason: str,
        archive_existing: bool = False,
    ) -> Promotion:
        """Break-glass (admins): move a protected label now; flagged in the audit trail."""
        model, number = self.resolve_number(ref)
        body: dict[str, Any] = {"version": number, "reason": reason} | _target(alias, stage)
        if archive_existing:
            body["archive_existing"] = True
        path = f"{model_path(model)}/promotions/force"
        return Promotion.model_validate(self._http.json("POST", path, json=body))

    def get_promotion(self, request_id: int) -> Promotion:
        return Promotion.model_validate(self._http.json("GET", f"{API}/promotions/{request_id}"))

    def approve_promotion(self, request_id: int, comment: str) -> Promotion:
        """Approve; the last approval needed executes the move if every rule passes."""
        path = f"{API}/promotions/{request_id}/approve"
        return Promotion.model_validate(self._http.json("POST", path, json={"comment": comment}))

    def reject_promotion(self, request_id: int, comment: str) -> Promotion:
        path = f"{API}/promotions/{request_id}/reject"
        return Promotion.model_validate(self._http.json("POST", path, json={"comment": comment}))

    def execute_promotion(self, request_id: int) -> Promotion:
        """Try an approved request that a failing rule blocked, once the rule is fixed."""
        path = f"{API}/promotions/{request_id}/execute"
        return Promotion.model_validate(self._http.json("POST", path))

    def list_promotions(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Promotion]:
        """Requests, newest first; ``status`` is open, blocked, executed, rejected or expired."""
        params = {
            "model": model,
            "status": status,
            "max_results": max_results,
            "page_token": page_token,
        }
        body = self._http.json("GET", f"{API}/promotions", params=params)
        items = tuple(Promotion.model_validate(p) for p in body["promotions"])
        return Page(items, body.get("next_page_token"))

    def iter_promotions(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        max_results: int | None = None,
    ) -> Iterator[Promotion]:
        return follow_pages(
            lambda token: self.list_promotions(
                model=model, status=status, max_results=max_results, page_token=token
            )
        )

    # -- policies -------------------------------------------------------------------------

    def get_policy(self, model: str | None = None) -> Policy:
        """The policy that applies to ``model`` (its own, else the global one, else the
        default), or the installation's when ``model`` is None."""
        path = f"{model_path(model)}/policy" if model is not None else f"{API}/policy"
        return Policy.model_validate(self._http.json("GET", path))

    def set_policy(self, document: str, model: str | None = None) -> Policy:
        """Store a policy (YAML) as the next version for ``model``, or globally."""
        path = f"{model_path(model)}/policy" if model is not None else f"{API}/policy"
        return Policy.model_validate(self._http.json("PUT", path, json={"yaml": document}))

    # -- grants ---------------------------------------------------------------------------

    def add_grant(
        self,
        principal: str,
        role: str,
        *,
        group: bool = False,
        model: str | None = None,
        prefix: str | None = None,
    ) -> Grant:
        """Give ``role`` to a user (or a group): globally, on ``model`` or on ``prefix``."""
        body = {
            "principal_type": "group" if group else "user",
            "principal": principal,
            "role": role,
            "model": model,
            "prefix": prefix,
        }
        return Grant.model_validate(self._http.json("POST", f"{API}/grants", json=body))

    def list_grants(self, *, principal: str | None = None, model: str | None = None) -> list[Grant]:
        params = {"principal": principal, "model": model}
        body = self._http.json("GET", f"{API}/grants", params=params)
        return [Grant.model_validate(g) for g in body["grants"]]

    def remove_grant(self, grant_id: int) -> None:
        self._http.request("DELETE", f"{API}/grants/{grant_id}")
