"""Native routes for a version's signatures: add one, list them, verify them all."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from charter.api.deps import BlobsDep, ContextDep, DatabaseDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.registry.references import parse_selector
from charter.signatures.schemas import (
    SignatureCreate,
    SignatureList,
    SignatureRead,
    SignatureVerifyReport,
)
from charter.signatures.service import SignatureService

router = APIRouter(
    route_class=TransactionalRoute,
    prefix="/api/v1/models/{name}/versions/{version}/signatures",
    tags=["signatures"],
)


@router.post("", response_model=SignatureRead, status_code=201)
def add_signature(
    name: str,
    version: str,
    body: SignatureCreate,
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
) -> SignatureRead:
    view = SignatureService(session, ctx, blobs).add(
        name, parse_selector(version), body.bundle, body.public_key
    )
    return SignatureRead.model_validate(view)


@router.get("", response_model=SignatureList)
def list_signatures(
    name: str, version: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> SignatureList:
    views = SignatureService(session, ctx, blobs).list(name, parse_selector(version))
    return SignatureList(signatures=[SignatureRead.model_validate(v) for v in views])


@router.post("/verify", response_model=SignatureVerifyReport)
async def verify_signatures(
    name: str, version: str, db: DatabaseDep, ctx: ContextDep, blobs: BlobsDep
) -> SignatureVerifyReport:
    def verify() -> SignatureVerifyReport:
        # A read-only transaction: re-hashing every file must not hold the write lock.
        with db.transaction(write=False) as session:
            report = SignatureService(session, ctx, blobs).verify(name, parse_selector(version))
            return SignatureVerifyReport.model_validate(report)

    return await run_in_threadpool(verify)
