"""Native routes for the caller itself: who am I, and my own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from charter.api.deps import ContextDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.identity.schemas import MeRead, TokenCreate, TokenIssued, TokenList, TokenRead
from charter.identity.service import IdentityService

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
