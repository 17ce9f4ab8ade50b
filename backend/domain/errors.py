"""Domain errors with stable codes; the HTTP layer maps them in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule said no. `code` is stable (clients switch on it); `message` is for people."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class StaleVersion(DomainError):
    status = 412
    code = "stale_version"


class Invalid(DomainError):
    status = 422
    code = "invalid_request"


class TooSoon(DomainError):
    status = 429
    code = "recall_too_soon"


class TooManyFailures(DomainError):
    """Too many failed authentications from one client: it waits (Retry-After)."""

    status = 429
    code = "too_many_failures"
