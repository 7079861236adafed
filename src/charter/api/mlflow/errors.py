"""MLflow's view of Charter's errors: its status codes and its ``{error_code, message}`` body."""

from __future__ import annotations

from typing import Any

from charter import errors

STATUS: dict[type[errors.CharterError], int] = {
    errors.NotFound: 404,
    errors.AlreadyExists: 400,  # MLflow answers 400 for RESOURCE_ALREADY_EXISTS
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.Conflict: 409,
    errors.PolicyViolation: 403,
    errors.PayloadTooLarge: 413,
    errors.Unavailable: 503,
}


def mlflow_error(exc: errors.CharterError) -> tuple[int, dict[str, Any]]:
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 500)
    code = "PERMISSION_DENIED" if isinstance(exc, errors.PolicyViolation) else exc.error_code
    return status, {"error_code": code, "message": exc.message}
