"""The errors the SDK raises: the server's error tree, seen from the client.

Every class is also a subclass of the server class of the same name in ``charter.errors``,
so ``except charter.errors.NotFound`` catches a missing model whether it was raised by a
service in process or by the SDK over HTTP.

    charter.errors.CharterError
     └── CharterError                  every error the SDK raises
          ├── NotFound                 RESOURCE_DOES_NOT_EXIST
          ├── AlreadyExists            RESOURCE_ALREADY_EXISTS
          ├── InvalidArgument          INVALID_PARAMETER_VALUE
          ├── Unauthenticated          UNAUTHENTICATED
          ├── PermissionDenied         PERMISSION_DENIED
          ├── Conflict                 RESOURCE_CONFLICT
          ├── PolicyViolation          POLICY_VIOLATION
          ├── PayloadTooLarge          REQUEST_LIMIT_EXCEEDED
          ├── Unavailable              TEMPORARILY_UNAVAILABLE
          │    └── TransportError      the server could not be reached (refused, timed out, ...)
          └── ChecksumMismatch         bytes on the wire do not hash to what the other side says

An error code the SDK does not know becomes a plain ``CharterError`` whose ``details`` carry
the ``error_code`` and the HTTP ``status``.
"""

from __future__ import annotations

from typing import Any

from charter import errors


class CharterError(errors.CharterError):
    """Base of every error the SDK raises; ``status_code`` is the HTTP status if there was one."""

    status_code: int | None = None


class NotFound(CharterError, errors.NotFound):
    pass


class AlreadyExists(CharterError, errors.AlreadyExists):
    pass


class InvalidArgument(CharterError, errors.InvalidArgument):
    pass


class Unauthenticated(CharterError, errors.Unauthenticated):
    pass


class PermissionDenied(CharterError, errors.PermissionDenied):
    pass


class Conflict(CharterError, errors.Conflict):
    pass


class PolicyViolation(CharterError, errors.PolicyViolation):
    pass


class PayloadTooLarge(CharterError, errors.PayloadTooLarge):
    pass


class Unavailable(CharterError, errors.Unavailable):
    pass


class TransportError(Unavailable):
    """The request never got an HTTP answer: connection refused, DNS failure, timeout."""


class ChecksumMismatch(CharterError):
    """Downloaded or uploaded bytes do not hash to the SHA-256 the other side announced."""


_BY_CODE: dict[str, type[CharterError]] = {
    cls.error_code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        Conflict,
        PolicyViolation,
        PayloadTooLarge,
        Unavailable,
    )
}


def error_from_body(status: int, body: Any, text: str) -> CharterError:
    """The error a non-2xx response stands for, from the ``{error_code, message, details}`` body."""
    if not isinstance(body, dict):
        body = {}
    code = body.get("error_code")
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status}: {text.strip()[:200] or 'no message'}"
    details = body.get("details")
    details = dict(details) if isinstance(details, dict) else {}
    cls = _BY_CODE.get(code) if isinstance(code, str) else None
    if cls is None:
        cls = CharterError
        details.update(error_code=code, status=status)
    exc = cls(message)
    # Assigned rather than passed as **kwargs: a server detail may be named like a parameter.
    exc.details = details
    exc.status_code = status
    return exc
