"""What can go wrong talking to the backend, as types the screens can tell apart."""

from __future__ import annotations

from typing import Any

from . import i18n
from .i18n import N_, _


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
    send it again with the same Idempotency-Key until the backend answers. `reason` is what
    the server said, in the console's language (a 503's database_busy: "databasen er
    optaget"; never the backend's bilingual message), or None."""

    @property
    def reason(self) -> str | None:
        return _(CODES[self.code]) if self.status and self.code in CODES else None

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


#: The backend's stable codes in the console's language (its messages are English).
CODES = {
    "unknown_visit": N_("the visit does not exist"),
    "unknown_booking": N_("no booking has that reference"),
    "unknown_site": N_("the backend has no such site"),
    "unknown_counter": N_("the site has no such counter"),
    "unknown_errand": N_("the errand is not in the catalogue"),
    "site_closed": N_("the site is closed then"),
    "invalid_cpr": N_("the CPR number is not valid"),
    "counter_not_open": N_("the counter is not open; open it first"),
    "counter_busy": N_("the counter already has a citizen: finish or requeue first"),
    "counter_staffed": N_("someone else staffs that counter"),
    "already_staffing": N_("you already staff another counter"),
    "already_called": N_("already called by another counter"),
    "max_calls_reached": N_("called the most times allowed: mark no-show or requeue"),
    "illegal_transition": N_("not possible in the visit's state now"),
    "not_your_visit": N_("the visit is not at your counter"),
    "not_your_counter": N_("that is not your counter"),
    "slot_unavailable": N_("that time is no longer free"),
    "time_passed": N_("that time has passed"),
    "not_today": N_("only for today's visits"),
    "referral_needs_authority": N_("name the authority"),
    "outcome_needs_note": N_("write a note"),
    "undo_too_late": N_("too late to undo"),
    "token_expired": N_("the token has expired"),
    "token_revoked": N_("the token has been revoked"),
    "unknown_token": N_("the backend does not know the token"),
    "unauthorized": N_("the backend did not accept the token"),
    "database_busy": N_("the database is busy"),
    "disk_full": N_("the server's disk is full"),
}


def said(exc: ApiError) -> str:
    """What went wrong, in the console's language only (never the backend's English)."""
    if isinstance(exc, Offline):
        return _("the backend cannot be reached; check the address and the network")
    if exc.code in CODES:
        return _(CODES[exc.code])
    if isinstance(exc, ServerError):
        return _("the backend failed (HTTP {status}); try again").format(status=exc.status)
    if i18n.current() == "en":
        return exc.message
    return _("the backend refused (code {code})").format(code=exc.code)
