"""Domain types: plain frozen dataclasses, built by storage and read by the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache


class State(StrEnum):
    BOOKED = "booked"
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    LEFT = "left"


class Kind(StrEnum):
    BOOKED = "booked"
    WALKIN = "walkin"


class CounterState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class Outcome(StrEnum):
    SERVED = "served"
    MISSING_DOCUMENTS = "missing_documents"
    REFERRED = "referred"
    SOLVED_BY_PHONE = "solved_by_phone"
    SELF_SERVICE = "self_service"
    OTHER = "other"


class DocStatus(StrEnum):
    UNKNOWN = "unknown"
    PRESENT = "present"
    MISSING = "missing"


#: States in which a visit still needs the centre today.
OPEN_STATES = frozenset({State.BOOKED, State.WAITING, State.CALLED, State.SERVING, State.PARKED})
#: States in which a counter is occupied by the visit.
HOLDING_STATES = frozenset({State.CALLED, State.SERVING})


@dataclass(slots=True)
class Visit:
    """A visit as the rules see it. Treated as immutable (the rules return new ones with
    dataclasses.replace); not frozen only because frozen construction costs several times
    more, and every write builds the whole queue."""

    id: int
    site_id: str
    day: date
    kind: Kind
    ticket: str
    state: State
    errand: str
    expected_minutes: int
    priority: int = 0
    counter_id: int | None = None
    slot_start: datetime | None = None
    arrived_at: datetime | None = None
    called_at: datetime | None = None
    last_called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    call_count: int = 0
    version: int = 1
    documents: tuple[tuple[str, DocStatus], ...] = ()
    outcome: Outcome | None = None
    outcome_note: str | None = None
    referred_to: str | None = None
    left_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Counter:
    id: int
    site_id: str
    number: int
    name: str
    state: CounterState = CounterState.CLOSED
    staffed_by: str | None = None
    #: Errand codes this counter handles; None means every errand.
    errands: frozenset[str] | None = None
    version: int = 1

    def handles(self, errand: str) -> bool:
        return self.errands is None or errand in self.errands


@dataclass(frozen=True, slots=True)
class Rules:
    """The site settings the rules read."""

    grace_minutes: int = 10
    due_ahead_minutes: int = 2
    max_calls: int = 3
    recall_min_seconds: int = 30
    slot_minutes: int = 5
    #: Planner: a walk-in waiting longer than this may no longer be passed over by later
    #: walk-ins (0: no limit).
    passed_over_minutes: int = 20
    #: Planner: expected duration of an errand = this quantile of the day's finished visits
    #: of it (at least 5 of them), else the catalogue's minutes (0: always the catalogue's).
    duration_quantile: float = 0.8

    @property
    def due_ahead(self) -> timedelta:
        return _minutes(self.due_ahead_minutes)

    @property
    def grace(self) -> timedelta:
        return _minutes(self.grace_minutes)


@lru_cache(maxsize=64)
def _minutes(n: float) -> timedelta:
    """timedelta(minutes=n), kept: building one costs ten times more than finding it (call
    next reads two on every decision)."""
    return timedelta(minutes=n)


@dataclass(frozen=True, slots=True)
class DayState:
    """One site's day as the rules see it: its counters and its open visits."""

    site_id: str
    day: date
    counters: tuple[Counter, ...]
    visits: tuple[Visit, ...]
    rules: Rules = field(default_factory=Rules)
    #: Service minutes (errand, started → finished) of the day's finished visits, for the
    #: planner's duration quantile; empty when not loaded.
    observed: tuple[tuple[str, float], ...] = ()

    def counter(self, counter_id: int) -> Counter | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def holding(self, counter_id: int) -> Visit | None:
        """The called or serving visit a counter holds, if any."""
        return next((v for v in self.visits
                     if v.counter_id == counter_id and v.state in HOLDING_STATES), None)
