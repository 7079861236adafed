"""Routes whose transaction begins and ends on one worker thread.

A sync route runs on a thread of a bounded pool. If the commit ran in a later step (a
dependency's exit, say), a request holding a lock — SQLite's write lock, a PostgreSQL row
lock — would need a second thread to release it; with every thread taken by requests
waiting for that lock, nothing moves until the pool times out. So the endpoint, its commit
and the session's close happen in the same thread call, and a lock is never held while a
request waits for a thread.

The same thread call checks the caller's credentials first (``UnverifiedContext`` in
charter.api.deps): one statement, and no thread hop of its own.

It also serialises the answer: FastAPI would otherwise validate the
returned model again on one more worker thread (for a sync endpoint) before encoding it,
which costs a second thread hop and about a third of a small read's CPU.

On SQLite, an endpoint that can reach only the database skips the worker thread and runs on
the event loop. A read waits for no network and, in WAL mode, for no writer, so it only costs
CPU; on a worker thread it cost more: the thread hop, and a hand-over of the GIL to and from
the event loop around every SQLite call. A write runs there too once it holds the writers'
lock, which the loop waits for at most ``LOOP_WRITE_WAIT_SECONDS`` (a write holds it for about
a millisecond; one that finds it held longer, say by a long command-line import, goes to a
worker thread to wait, and the loop keeps serving). A worker thread that holds the lock no
longer shares the GIL with the loop and the other threads while it writes, and that is where
writes lost most of their time. Measured under load (BENCHMARKS.md, session 4): a version read
went from 1.0 to 0.8 ms of server CPU, and from 1.4-1.9 to 0.9 with authentication on;
creating a model from 683 to 1,013 per second. Reads that may take long (lineage graph walks)
say ``@on_worker_thread``; PostgreSQL (a network round trip per statement) and endpoints that
reach past the database (the blob store, the request's body stream) always run on a thread,
unless an endpoint that takes the blob store only to hand it on says ``@on_event_loop``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args, get_origin

import anyio.to_thread
import pydantic_core
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.api.deps import UnverifiedContext
from charter.context import RequestContext
from charter.db import Database
from charter.errors import Conflict

# How long a write may wait on the event loop for SQLite's writers' lock (other requests wait
# meanwhile) before it goes to a worker thread to wait there: a write holds it ~1 ms.
LOOP_WRITE_WAIT_SECONDS = 0.05

# What an endpoint may take and still run on the event loop: nothing that reaches past the
# database (a blob store, the application state, the request and its body stream).
_LOOP_SAFE = (Session, RequestContext, BaseModel, str, int, float, bool, type(None))


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # Read by get_context: whether this route checks the credentials on its own thread.
        self.checks_credentials = False
        if _takes(endpoint, Session):
            if inspect.iscoroutinefunction(endpoint):
                raise TypeError(
                    f"{endpoint.__qualname__} is async and takes a session: make it a plain "
                    "function so its transaction runs on one worker thread"
                )
            self.checks_credentials = _takes(endpoint, RequestContext)
            loop_safe = _loop_safe(endpoint)
            endpoint = in_transaction(endpoint, _Encoder.for_route(kwargs), loop_safe=loop_safe)
        super().__init__(path, endpoint, **kwargs)


def _takes(endpoint: Callable[..., Any], kind: type) -> bool:
    hints = inspect.get_annotations(endpoint, eval_str=True)
    return any(_is_a(hint, kind) for hint in hints.values())


def _is_a(hint: Any, kind: type) -> bool:
    # SessionDep is Annotated[Session, Depends(...)]: its origin is the Session class.
    return hint is kind or (get_origin(hint) is Annotated and hint.__origin__ is kind)


def on_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a read that may take long (tens of milliseconds or more) to run on a worker
    thread even on SQLite, so that the event loop keeps serving other requests meanwhile.
    Put it under the route's decorator."""
    endpoint.charter_on_worker_thread = True  # type: ignore[attr-defined]
    return endpoint


def on_event_loop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a short endpoint that takes the blob store only to hand it to a service whose work
    here is all in the database (registering a version from files already stored, say), so
    that it runs on the event loop where its sessions allow. Put it under the route's
    decorator."""
    endpoint.charter_on_event_loop = True  # type: ignore[attr-defined]
    return endpoint


def _loop_safe(endpoint: Callable[..., Any]) -> bool:
    """Whether the endpoint can run on the event loop when its sessions allow it: not marked
    ``on_worker_thread``, and it takes nothing that reaches past the database (or says it
    does not use it so, ``on_event_loop``)."""
    if getattr(endpoint, "charter_on_worker_thread", False):
        return False
    if getattr(endpoint, "charter_on_event_loop", False):
        return True
    hints = inspect.get_annotations(endpoint, eval_str=True)
    hints.pop("return", None)
    return all(_plain(hint) for hint in hints.values())


def _plain(hint: Any) -> bool:
    if get_origin(hint) is Annotated:
        hint = hint.__origin__
    args = get_args(hint)
    if args and get_origin(hint) is not Literal:  # X | None, list[str], ...
        return all(_plain(arg) for arg in args)
    if get_origin(hint) is Literal:
        return True
    return inspect.isclass(hint) and issubclass(hint, _LOOP_SAFE)


class _Encoder:
    """Encodes an endpoint's result as its route would, when it is exactly the response model.

    Anything else (a Response, a dict, a subclass that the response model would filter) is
    returned unchanged for FastAPI to handle.
    """

    def __init__(self, model: type[BaseModel], status_code: int, exclude_none: bool) -> None:
        self.model = model
        self.status_code = status_code
        self.exclude_none = exclude_none

    @classmethod
    def for_route(cls, options: dict[str, Any]) -> _Encoder | None:
        model = options.get("response_model")
        plain = not any(
            options.get(option)
            for option in (
                "response_model_include",
                "response_model_exclude",
                "response_model_exclude_unset",
                "response_model_exclude_defaults",
            )
        )
        response_class = options.get("response_class")
        if isinstance(response_class, DefaultPlaceholder):  # what a router passes by default
            response_class = response_class.value
        custom_class = response_class not in (None, JSONResponse)
        if not (inspect.isclass(model) and issubclass(model, BaseModel)) or not plain:
            return None
        if custom_class:
            return None
        return cls(
            model,
            options.get("status_code") or 200,
            bool(options.get("response_model_exclude_none")),
        )

    def encode(self, result: Any) -> Any:
        if type(result) is not self.model:
            return result
        body = result.model_dump_json(by_alias=True, exclude_none=self.exclude_none)
        return Response(body, status_code=self.status_code, media_type="application/json")


def json_answer(data: Any, status_code: int = 200) -> Response:
    """An answer written straight from plain data: for pages, which would otherwise build and
    validate a model per item only to serialise it again."""
    return Response(pydantic_core.to_json(data), status_code, media_type="application/json")


def in_transaction(
    endpoint: Callable[..., Any], encoder: _Encoder | None = None, *, loop_safe: bool = False
) -> Callable[..., Any]:
    """Check the caller's credentials in the endpoint's first session, then commit the sessions
    the endpoint was given when it returns; roll back when it raises.

    All of it runs on one worker thread, or on the event loop when ``loop_safe`` and every
    session is a read on SQLite (see the module's docstring).
    """

    def transact(on_loop: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        try:
            for key, value in kwargs.items():
                if isinstance(value, UnverifiedContext):
                    kwargs[key] = value.verified(sessions[0], on_loop=on_loop)
            result = endpoint(*args, **kwargs)
            for session in sessions:
                session.commit()
            return result if encoder is None else encoder.encode(result)
        except IntegrityError as exc:
            _rollback(sessions)
            raise Conflict("the change conflicts with a concurrent change; retry it") from exc
        except BaseException:
            _rollback(sessions)
            raise
        finally:
            for session in sessions:
                session.close()

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        unverified = {k: v for k, v in kwargs.items() if isinstance(v, UnverifiedContext)}
        if loop_safe and all(map(Database.is_local_read, sessions)):
            return await on_loop(args, kwargs, unverified)
        if loop_safe and len(sessions) == 1:
            # Held only while the transaction runs, with no await inside: the lock belongs to
            # a thread, and another request on this loop must never find it held as its own.
            with Database.writers_lock_within(sessions[0], LOOP_WRITE_WAIT_SECONDS) as held:
                if held:  # the credentials are checked in the write: a few tens of us here
                    result = transact(True, args, kwargs)
            if held:
                await run_deferred(unverified)
                return result
        try:
            for key, ctx in unverified.items():
                if ctx.can_check_ahead:
                    kwargs[key] = ctx.checked_ahead()
        except BaseException:
            for session in sessions:
                session.close()
            raise
        return await anyio.to_thread.run_sync(transact, False, args, kwargs)

    async def on_loop(
        args: tuple[Any, ...], kwargs: dict[str, Any], unverified: dict[str, UnverifiedContext]
    ) -> Any:
        result = transact(True, args, kwargs)
        await run_deferred(unverified)
        return result

    run.encoder = encoder  # type: ignore[attr-defined]  # read by tests
    run.loop_safe = loop_safe  # type: ignore[attr-defined]
    return run


async def run_deferred(unverified: dict[str, UnverifiedContext]) -> None:
    """The writes a credential check put off because it ran on the loop, on worker threads."""
    for ctx in unverified.values():
        for work in ctx.deferred:
            await anyio.to_thread.run_sync(work)


def _rollback(sessions: list[Session]) -> None:
    for session in sessions:
        session.rollback()
