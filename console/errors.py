"""What can go wrong talking to the backend, as types the screens can tell apart."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The backend said no (or could not be asked). `code` is the backend's stable code."""

    def __init__(self, message: str, *, code: str = "error", status: int | None = None,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.body = body or {}


class Offline(ApiError):
    """The backend could not be reached within the attempts allowed."""


class Unknown(ApiError):
    """A write was sent but no definite answer came (no answer in time, a cut or reset
    connection, a 5xx, a 503 busy): it may or may not have been applied. Not a failure:
    send it again with the same Idempotency-Key until the backend answers. `reason` is the
    server's own words when it gave any (a 503's "databasen er optaget"), else None."""

    @property
    def reason(self) -> str | None:
        return self.body.get("message") if self.status else None

    @property
    def retry_after(self) -> float | None:
        value = self.body.get("retry_after")
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None


class Unauthorised(ApiError):
    """The token is missing, unknown, expired or revoked: log in again."""


class Forbidden(ApiError):
    """The token's role, or the counter you staff, does not allow this."""


class NotFound(ApiError):
    pass


class InvalidRequest(ApiError):
    pass


class Conflict(ApiError):
    """The visit or counter is not in a state that allows this. `state` is its state now."""

    @property
    def state(self) -> str | None:
        return self.body.get("state")

    @property
    def by_counter(self) -> str | None:
        """For `already_called`: the counter that called the citizen first."""
        return self.body.get("by_counter")


class CounterBusy(Conflict):
    """The counter already holds a called or serving citizen."""


class StaleVersion(ApiError):
    """Someone changed the visit meanwhile; `current` is its state now."""

    @property
    def current(self) -> dict[str, Any]:
        return self.body.get("current", {})


class TooSoon(ApiError):
    @property
    def retry_after(self) -> int:
        return int(self.body.get("retry_after", 1))


class ServerError(ApiError):
    pass


def from_response(status: int, body: dict[str, Any]) -> ApiError:
    code = str(body.get("code", "error"))
    message = str(body.get("message", f"HTTP {status}"))
    kind: type[ApiError]
    if status == 401:
        kind = Unauthorised
    elif status == 403:
        kind = Forbidden
    elif status == 404:
        kind = NotFound
    elif status == 412:
        kind = StaleVersion
    elif status == 429:
        kind = TooSoon
    elif status == 409:
        kind = CounterBusy if code == "counter_busy" else Conflict
    elif status >= 500:
        kind = ServerError
    else:
        kind = InvalidRequest
    return kind(message, code=code, status=status, body=body)
