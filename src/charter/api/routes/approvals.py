"""Native routes for promotion requests and the policies that gate them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from charter.api.deps import BlobsDep, ContextDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.approvals.policy_service import PolicyService
from charter.approvals.schemas import (
    DecisionCreate,
    PolicyDocument,
    PolicyPage,
    PolicyRead,
    PromotionCreate,
    PromotionForce,
    PromotionPage,
    PromotionRead,
)
from charter.approvals.service import PromotionService
from charter.errors import InvalidArgument

router = APIRouter(route_class=TransactionalRoute, prefix="/api/v1", tags=["approvals"])

YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/plain")

# The policy body is read by hand (YAML or JSON); this tells OpenAPI what it may be.
_POLICY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/yaml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"yaml": {"type": "string"}},
                    "required": ["yaml"],
                    "additionalProperties": False,
                }
            },
        },
    }
}


async def policy_document(request: Request) -> str:
    """The YAML of a policy, sent as a text/yaml body or as JSON ``{"yaml": "..."}``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise InvalidArgument("the policy must be UTF-8 text", field="policy") from exc
    if media_type in YAML_TYPES:
        return text
    if media_type == "application/json":
        try:
            return PolicyDocument.model_validate(json.loads(text)).yaml
        except ValueError as exc:  # JSON syntax and pydantic validation errors alike
            raise InvalidArgument(
                'a JSON policy body is {"yaml": "<the policy as YAML>"}', field="policy"
            ) from exc
    raise InvalidArgument(
        f"send the policy as text/yaml or as application/json, not {media_type or 'no type'}",
        field="content-type",
    )


PolicyBody = Annotated[str, Depends(policy_document)]


# --- promotions ------------------------------------------------------------------------------


@router.post("/models/{name}/promotions", response_model=PromotionRead, status_code=201)
def request_promotion(
    name: str, body: PromotionCreate, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> PromotionRead:
    view = PromotionService(session, ctx, blobs=blobs).request(
        name,
        body.version,
        body.target,
        body.justification,
        archive_existing=body.archive_existing,
    )
    return PromotionRead.model_validate(view)


@router.post("/models/{name}/promotions/force", response_model=PromotionRead, status_code=201)
def force_promotion(
    name: str, body: PromotionForce, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> PromotionRead:
    view = PromotionService(session, ctx, blobs=blobs).force(
        name, body.version, body.target, body.reason, archive_existing=body.archive_existing
    )
    return PromotionRead.model_validate(view)


@router.get("/promotions", response_model=PromotionPage)
def list_promotions(
    session: SessionDep,
    ctx: ContextDep,
    model: str | None = None,
    status: Annotated[
        str | None, Query(description="open, blocked, executed, rejected or expired")
    ] = None,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> PromotionPage:
    page = PromotionService(session, ctx).search(
        model=model, status=status, max_results=max_results, page_token=page_token
    )
    return PromotionPage(
        promotions=[PromotionRead.model_validate(p) for p in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/promotions/{request_id}", response_model=PromotionRead)
def get_promotion(request_id: int, session: SessionDep, ctx: ContextDep) -> PromotionRead:
    return PromotionRead.model_validate(PromotionService(session, ctx).get(request_id))


@router.post("/promotions/{request_id}/approve", response_model=PromotionRead)
def approve_promotion(
    request_id: int, body: DecisionCreate, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> PromotionRead:
    view = PromotionService(session, ctx, blobs=blobs).approve(request_id, body.comment)
    return PromotionRead.model_validate(view)


@router.post("/promotions/{request_id}/reject", response_model=PromotionRead)
def reject_promotion(
    request_id: int, body: DecisionCreate, session: SessionDep, ctx: ContextDep
) -> PromotionRead:
    view = PromotionService(session, ctx).reject(request_id, body.comment)
    return PromotionRead.model_validate(view)


@router.post("/promotions/{request_id}/execute", response_model=PromotionRead)
def execute_promotion(
    request_id: int, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> PromotionRead:
    """Try a blocked request again once its version or the policy has been fixed."""
    view = PromotionService(session, ctx, blobs=blobs).execute(request_id)
    return PromotionRead.model_validate(view)


# --- policies --------------------------------------------------------------------------------


@router.get("/models/{name}/policy", response_model=PolicyRead)
def get_model_policy(name: str, session: SessionDep, ctx: ContextDep) -> PolicyRead:
    """The policy that applies to the model: its own, else the global one, else the default."""
    return PolicyRead.model_validate(PolicyService(session, ctx).get(name))


@router.put("/models/{name}/policy", response_model=PolicyRead, openapi_extra=_POLICY_BODY)
def put_model_policy(
    name: str, document: PolicyBody, session: SessionDep, ctx: ContextDep
) -> PolicyRead:
    return PolicyRead.model_validate(PolicyService(session, ctx).set(name, document))


@router.get("/models/{name}/policy/history", response_model=PolicyPage)
def model_policy_history(
    name: str,
    session: SessionDep,
    ctx: ContextDep,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> PolicyPage:
    page = PolicyService(session, ctx).history(name, max_results=max_results, page_token=page_token)
    return PolicyPage(
        policies=[PolicyRead.model_validate(p) for p in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/policy", response_model=PolicyRead)
def get_global_policy(session: SessionDep, ctx: ContextDep) -> PolicyRead:
    """The installation's policy, or the built-in default (version 0) when none is stored."""
    return PolicyRead.model_validate(PolicyService(session, ctx).get(None))


@router.put("/policy", response_model=PolicyRead, openapi_extra=_POLICY_BODY)
def put_global_policy(document: PolicyBody, session: SessionDep, ctx: ContextDep) -> PolicyRead:
    return PolicyRead.model_validate(PolicyService(session, ctx).set(None, document))


@router.get("/policy/history", response_model=PolicyPage)
def global_policy_history(
    session: SessionDep,
    ctx: ContextDep,
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: str | None = None,
) -> PolicyPage:
    page = PolicyService(session, ctx).history(None, max_results=max_results, page_token=page_token)
    return PolicyPage(
        policies=[PolicyRead.model_validate(p) for p in page.items],
        next_page_token=page.next_page_token,
    )
