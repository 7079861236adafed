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
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_origin

import pydantic_core
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.api.deps import UnverifiedContext
from charter.context import RequestContext
from charter.errors import Conflict


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
            endpoint = in_transaction(endpoint, _Encoder.for_route(kwargs))
        super().__init__(path, endpoint, **kwargs)


def _takes(endpoint: Callable[..., Any], kind: type) -> bool:
    hints = inspect.get_annotations(endpoint, eval_str=True)
    return any(_is_a(hint, kind) for hint in hints.values())


def _is_a(hint: Any, kind: type) -> bool:
    # SessionDep is Annotated[Session, Depends(...)]: its origin is the Session class.
    return hint is kind or (get_origin(hint) is Annotated and hint.__origin__ is kind)


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
    endpoint: Callable[..., Any], encoder: _Encoder | None = None
) -> Callable[..., Any]:
    """Check the caller's credentials in the endpoint's first session, then commit the sessions
    the endpoint was given when it returns; roll back when it raises."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        try:
            unverified = [(k, v) for k, v in kwargs.items() if isinstance(v, UnverifiedContext)]
            for key, ctx in unverified:
                kwargs[key] = ctx.verified(sessions[0])
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

    run.encoder = encoder  # type: ignore[attr-defined]  # read by tests
    return run


def _rollback(sessions: list[Session]) -> None:
    for session in sessions:
        session.rollback()
