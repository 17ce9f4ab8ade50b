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


class DatabaseBusy(DomainError):
    """A write could not get the database's lock in time (another writer, a backup, an
    anti-virus scan holding the file): nothing was written; send it again, same key."""

    status = 503
    code = "database_busy"

    def __init__(self, message: str = "databasen er optaget / the database is busy",
                 **extra: Any) -> None:
        super().__init__(message, retry_after=extra.pop("retry_after", 1), **extra)


class DiskFull(DomainError):
    """The database's disk is full: nothing of this write was kept; it heals by itself
    when space is back."""

    status = 503
    code = "disk_full"

    def __init__(self, message: str = "disken er fuld / the server's disk is full",
                 **extra: Any) -> None:
        super().__init__(message, retry_after=extra.pop("retry_after", 5), **extra)
