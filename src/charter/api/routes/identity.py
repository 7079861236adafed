"""Native routes of identity: who am I, my own API tokens, and role grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from charter.api.deps import ContextDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.identity.schemas import (
    GrantCreate,
    GrantList,
    GrantRead,
    MeRead,
    TokenCreate,
    TokenIssued,
    TokenList,
    TokenRead,
)
from charter.identity.service import GrantService, IdentityService

router = APIRouter(route_class=TransactionalRoute, prefix="/api/v1", tags=["identity"])


@router.get("/me", response_model=MeRead)
async def me(ctx: ContextDep) -> MeRead:
    actor = ctx.actor
    return MeRead(
        name=actor.name,
        kind=actor.kind,
        user_id=actor.user_id,
        groups=list(actor.groups),
        method=actor.method,
        token_id=actor.token_id,
        authentication=ctx.governed,
    )


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def create_token(body: TokenCreate, session: SessionDep, ctx: ContextDep) -> TokenIssued:
    issued = IdentityService(session, ctx).create_own_token(body.name, body.expires_in)
    return TokenIssued.model_validate(issued)


@router.get("/tokens", response_model=TokenList)
def list_tokens(session: SessionDep, ctx: ContextDep) -> TokenList:
    views = IdentityService(session, ctx).list_own_tokens()
    return TokenList(tokens=[TokenRead.model_validate(v) for v in views])


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, session: SessionDep, ctx: ContextDep) -> Response:
    IdentityService(session, ctx).revoke_own_token(token_id)
    return Response(status_code=204)


@router.get("/grants", response_model=GrantList)
def list_grants(
    session: SessionDep,
    ctx: ContextDep,
    principal_type: str | None = None,
    principal: str | None = None,
    model: Annotated[str | None, Query(description="Only the grants on this model")] = None,
) -> GrantList:
    grants = GrantService(session, ctx).list_grants(principal_type, principal, model)
    return GrantList(grants=[GrantRead.model_validate(g) for g in grants])


@router.post("/grants", response_model=GrantRead, status_code=201)
def add_grant(body: GrantCreate, session: SessionDep, ctx: ContextDep) -> GrantRead:
    grant = GrantService(session, ctx).add(
        body.principal_type, body.principal, body.role, model=body.model, prefix=body.prefix
    )
    return GrantRead.model_validate(grant)


@router.delete("/grants/{grant_id}", status_code=204)
def remove_grant(grant_id: int, session: SessionDep, ctx: ContextDep) -> Response:
    GrantService(session, ctx).remove(grant_id)
    return Response(status_code=204)
