"""FastAPI dependencies: the request's session (its one transaction), context and stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from uuid import uuid4

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.api.state import AppState
from charter.blobs import BlobStore
from charter.context import Actor, RequestContext
from charter.db import Database
from charter.errors import Conflict

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Trivial dependencies are async so they run on the event loop: a sync one costs a thread hop.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.charter
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_database(state: StateDep) -> Database:
    return state.db


async def get_blobs(state: StateDep) -> BlobStore:
    return state.blobs


DatabaseDep = Annotated[Database, Depends(get_database)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


def get_session(request: Request, db: DatabaseDep) -> Iterator[Session]:
    """The request's one transaction: committed when the route returns, rolled back on error.

    ``scope="function"`` below makes FastAPI run the commit before the response is sent, so
    a client never sees success for a change that did not commit.
    """
    session = db.session(write=request.method not in READ_METHODS)
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("the change conflicts with a concurrent change; retry it") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_context(request: Request) -> RequestContext:
    client = request.client
    return RequestContext(
        actor=Actor(),
        request_id=request.headers.get("x-request-id") or uuid4().hex,
        client_address=client.host if client else None,
        user_agent=request.headers.get("user-agent"),
    )


ContextDep = Annotated[RequestContext, Depends(get_context)]
