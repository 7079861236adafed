"""The one place where the native API turns errors into HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from charter import errors
from charter.api.mlflow.errors import mlflow_error
from charter.api.mlflow.paths import is_mlflow_path
from charter.api.refusals import REFUSALS, record_refusal

logger = logging.getLogger("charter.api")

STATUS: dict[type[errors.CharterError], int] = {
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.Conflict: 409,
    errors.PolicyViolation: 409,
    errors.PayloadTooLarge: 413,
    errors.Unavailable: 503,
}

_HTTP_CODES = {
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "INVALID_PARAMETER_VALUE",
    413: "REQUEST_LIMIT_EXCEEDED",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error_code": code, "message": message, "details": details or {}}


def status_of(exc: errors.CharterError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A message that names the field at fault, from pydantic's first error."""
    problems = []
    for error in exc.errors():
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        problems.append({"field": ".".join(location) or "body", "problem": error.get("msg", "")})
    if not problems:
        return "invalid request", []
    first = problems[0]
    return f"invalid {first['field']}: {first['problem']}", problems


# A 401 tells the client which credentials it may send (MLflow clients send either).
CHALLENGE = 'Bearer, Basic realm="charter"'


def respond(request: Request, exc: errors.CharterError) -> JSONResponse:
    """Native or MLflow shape, by the API the request came through."""
    if is_mlflow_path(request.url.path):
        status, body = mlflow_error(exc)
        response = JSONResponse(body, status_code=status)
    else:
        response = JSONResponse(
            error_body(exc.error_code, exc.message, exc.details), status_code=status_of(exc)
        )
    if isinstance(exc, errors.Unauthenticated):
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.CharterError)
    async def charter_error(request: Request, exc: errors.CharterError) -> JSONResponse:
        if isinstance(exc, REFUSALS):
            await record_refusal(request, exc)
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, problems = describe_validation(exc)
        return respond(request, errors.InvalidArgument(message, problems=problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "INVALID_PARAMETER_VALUE")
        if is_mlflow_path(request.url.path):
            return JSONResponse(
                {"error_code": code, "message": str(exc.detail)}, status_code=exc.status_code
            )
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, exc: OperationalError) -> JSONResponse:
        logger.error("database error: %s", exc.orig)
        return JSONResponse(
            error_body("TEMPORARILY_UNAVAILABLE", "the database is unavailable; retry later"),
            status_code=503,
        )

    @app.exception_handler(PoolTimeout)
    async def database_busy(request: Request, _: PoolTimeout) -> JSONResponse:
        return respond(
            request, errors.Unavailable("every database connection is busy; retry later")
        )

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        logger.exception("database error", exc_info=exc)
        return JSONResponse(
            error_body("INTERNAL_ERROR", "the database rejected the request"), status_code=500
        )
