"""Native routes for model cards: a version's card (Markdown or JSON) and the card's texts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from charter.api.deps import BlobsDep, ContextDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.modelcards.schemas import CardFieldsRead, CardFieldsUpdate, ModelCardRead
from charter.modelcards.service import ModelCardService
from charter.registry.references import parse_selector

router = APIRouter(route_class=TransactionalRoute, prefix="/api/v1", tags=["model cards"])

MARKDOWN = "text/markdown; charset=utf-8"
_CARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The card as Markdown with YAML front matter, or as JSON with ?format=json",
        "content": {"text/markdown": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/models/{name}/versions/{version}/card",
    response_model=ModelCardRead,
    responses=_CARD_RESPONSES,
)
def get_card(
    name: str,
    version: str,
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
    format: Annotated[Literal["markdown", "json"], Query()] = "markdown",
) -> Any:
    card = ModelCardService(session, ctx, blobs).card(name, parse_selector(version))
    if format == "json":
        return ModelCardRead.model_validate(card)
    return Response(card.markdown(), media_type=MARKDOWN)


@router.get("/models/{name}/card-fields", response_model=CardFieldsRead)
def get_model_card_fields(
    name: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> CardFieldsRead:
    view = ModelCardService(session, ctx, blobs).model_fields(name)
    return CardFieldsRead.model_validate(view)


@router.patch("/models/{name}/card-fields", response_model=CardFieldsRead)
def update_model_card_fields(
    name: str, body: CardFieldsUpdate, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> CardFieldsRead:
    changes = body.model_dump(include=body.model_fields_set)
    view = ModelCardService(session, ctx, blobs).update_model_fields(name, changes)
    return CardFieldsRead.model_validate(view)


@router.get("/models/{name}/versions/{version}/card-fields", response_model=CardFieldsRead)
def get_version_card_fields(
    name: str, version: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> CardFieldsRead:
    service = ModelCardService(session, ctx, blobs)
    return CardFieldsRead.model_validate(service.version_fields(name, parse_selector(version)))


@router.patch("/models/{name}/versions/{version}/card-fields", response_model=CardFieldsRead)
def update_version_card_fields(
    name: str,
    version: str,
    body: CardFieldsUpdate,
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
) -> CardFieldsRead:
    changes = body.model_dump(include=body.model_fields_set)
    view = ModelCardService(session, ctx, blobs).update_version_fields(
        name, parse_selector(version), changes
    )
    return CardFieldsRead.model_validate(view)
