"""The one error tree of Charter.

Domain errors carry a stable ``error_code`` and domain data, never an HTTP status: each
interface (the native API, the MLflow adapter, the CLI, the SDK) maps them once.

    CharterError
     ├── NotFound            RESOURCE_DOES_NOT_EXIST
     │    └── Hidden         (the same, for what exists but the caller may not read)
     ├── AlreadyExists       RESOURCE_ALREADY_EXISTS
     ├── InvalidArgument     INVALID_PARAMETER_VALUE
     ├── Unauthenticated     UNAUTHENTICATED
     ├── PermissionDenied    PERMISSION_DENIED
     ├── Conflict            RESOURCE_CONFLICT
     │    └── Protected      (a deletion refused by protection or a legal hold)
     ├── PolicyViolation     POLICY_VIOLATION
     ├── PayloadTooLarge     REQUEST_LIMIT_EXCEEDED
     └── Unavailable         TEMPORARILY_UNAVAILABLE
"""

from __future__ import annotations

from typing import Any, ClassVar


class CharterError(Exception):
    """Base of every error Charter raises on purpose."""

    error_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return self.message


class NotFound(CharterError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class Hidden(NotFound):
    """Something the caller may not read, answered exactly as if it did not exist (no leak of
    names); the API still records the refused attempt in the audit trail."""


class AlreadyExists(CharterError):
    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidArgument(CharterError):
    error_code = "INVALID_PARAMETER_VALUE"


class Unauthenticated(CharterError):
    error_code = "UNAUTHENTICATED"


class PermissionDenied(CharterError):
    error_code = "PERMISSION_DENIED"


class Conflict(CharterError):
    """A state conflict: immutable artifacts, a version that is not in the right state."""

    error_code = "RESOURCE_CONFLICT"


class Protected(Conflict):
    """A deletion refused because what it would delete holds a protected alias or stage, or is
    under legal hold; the API records the refused attempt in the audit trail."""


class PolicyViolation(CharterError):
    error_code = "POLICY_VIOLATION"


class PayloadTooLarge(CharterError):
    error_code = "REQUEST_LIMIT_EXCEEDED"


class Unavailable(CharterError):
    """The database or the blob store cannot be reached."""

    error_code = "TEMPORARILY_UNAVAILABLE"


ERRORS_BY_CODE: dict[str, type[CharterError]] = {
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
