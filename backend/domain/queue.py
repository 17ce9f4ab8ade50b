"""Which visit call next takes, the queue order, and the automatic transitions.

Pure functions of a day's state (DESIGN.md rule 6). The planner of a later issue replaces
`walkin_fits` behind the same `choose_next`.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import lifecycle
from .types import HOLDING_STATES, Counter, CounterState, DayState, Kind, State, Visit


@dataclass(frozen=True, slots=True)
class NextChoice:
    visit: Visit | None
    #: booked_due | assigned | walkin_fits | booked_early | nobody
    reason: str
    #: When nobody is due: the start of the next booking still expected today.
    next_booking_at: datetime | None = None
    walkins_waiting: int = 0


_FAR = datetime.max.replace(tzinfo=None)


def _t(dt: datetime | None) -> datetime:
    return dt.replace(tzinfo=None) if dt else _FAR


def _pending_booked(day: DayState, now: datetime) -> list[Visit]:
    """Booked citizens still to be served who have not been called yet."""
    out = []
    for v in day.visits:
        if v.kind is not Kind.BOOKED or v.slot_start is None:
            continue
        if v.state is State.WAITING or (
            v.state is State.BOOKED and v.slot_start + day.rules.grace > now
        ):
            out.append(v)
    return out


def _idle_other_counters(day: DayState, counter_id: int | None) -> int:
    busy = {v.counter_id for v in day.visits if v.state in HOLDING_STATES}
    return sum(1 for c in day.counters
               if c.state is CounterState.OPEN and c.id != counter_id and c.id not in busy)


class _Fit:
    """The simple fit rule, pooled over the site's counters.

    With this counter busy for the walk-in's expected minutes, the booked citizens whose
    slot starts in that time must not outnumber the other counters standing idle now.
    With one counter this is: the next booked citizen is at least the errand's expected
    minutes away. Built once per decision, so testing many walk-ins stays cheap.
    """

    def __init__(self, day: DayState, counter_id: int | None, now: datetime) -> None:
        self.starts = sorted(v.slot_start for v in _pending_booked(day, now))
        self.idle = _idle_other_counters(day, counter_id)
        self.now = now

    def __call__(self, walkin: Visit) -> bool:
        until = self.now + timedelta(minutes=walkin.expected_minutes)
        return bisect_left(self.starts, until) <= self.idle


def walkin_fits(day: DayState, walkin: Visit, counter_id: int | None, now: datetime) -> bool:
    return _Fit(day, counter_id, now)(walkin)


def _candidates(day: DayState, counter: Counter) -> list[Visit]:
    return [v for v in day.visits
            if v.state is State.WAITING and counter.handles(v.errand)
            and v.counter_id in (None, counter.id)]


def _booked_key(v: Visit) -> tuple:
    return (-v.priority, _t(v.slot_start), _t(v.arrived_at), v.id)


def _walkin_key(v: Visit) -> tuple:
    return (-v.priority, _t(v.arrived_at), v.id)


def next_booking_at(day: DayState, now: datetime, counter: Counter | None = None
                    ) -> datetime | None:
    starts = [v.slot_start for v in _pending_booked(day, now)
              if v.state is State.BOOKED and (counter is None or counter.handles(v.errand))]
    return min(starts, default=None)


def choose_next(day: DayState, counter: Counter, now: datetime) -> NextChoice:
    """The visit call next at `counter` takes now, or nobody and when the next is due."""
    cands = _candidates(day, counter)
    due_by = now + day.rules.due_ahead
    first = [v for v in cands
             if v.counter_id == counter.id
             or (v.kind is Kind.BOOKED and v.slot_start is not None and v.slot_start <= due_by)]
    if first:
        v = min(first, key=_booked_key)
        return NextChoice(v, "assigned" if v.counter_id == counter.id else "booked_due")
    walkins = sorted((v for v in cands if v.kind is Kind.WALKIN), key=_walkin_key)
    fits = _Fit(day, counter.id, now) if walkins else None
    for v in walkins:
        if fits(v):
            return NextChoice(v, "walkin_fits")
    early = [v for v in cands if v.kind is Kind.BOOKED]
    if early:
        return NextChoice(min(early, key=_booked_key), "booked_early")
    return NextChoice(None, "nobody", next_booking_at=next_booking_at(day, now, counter),
                      walkins_waiting=len(walkins))


def queue_ranks(day: DayState, now: datetime) -> dict[int, int]:
    """Every waiting visit's place in the order call next takes them (1 = next).

    Seen from a counter that handles every errand and becomes free now: assigned and due
    booked citizens, then walk-ins that fit, then early booked citizens, then walk-ins
    waiting for a gap.
    """
    due_by = now + day.rules.due_ahead
    fits = _Fit(day, None, now)

    def key(v: Visit) -> tuple:
        if v.counter_id is not None or (
            v.kind is Kind.BOOKED and v.slot_start is not None and v.slot_start <= due_by
        ):
            return (0, *_booked_key(v))
        if v.kind is Kind.WALKIN:
            group = 1 if fits(v) else 3
            return (group, *_walkin_key(v))
        return (2, *_booked_key(v))

    waiting = sorted((v for v in day.visits if v.state is State.WAITING), key=key)
    return {v.id: i for i, v in enumerate(waiting, start=1)}


@dataclass(frozen=True, slots=True)
class AutoChange:
    action: str
    before: Visit
    after: Visit


def automatic_transitions(day: DayState, now: datetime, closing_at: datetime | None
                          ) -> list[AutoChange]:
    """What the clock alone changes: no-shows after slot + grace, max calls, closing."""
    out: list[AutoChange] = []
    rules = day.rules
    closed = closing_at is not None and now >= closing_at
    for v in day.visits:
        if v.state is State.BOOKED and v.slot_start is not None and (
            v.slot_start + rules.grace <= now or closed
        ):
            out.append(AutoChange("no_show", v, lifecycle.no_show(v, now, "not_arrived")))
        elif (v.state is State.CALLED and v.call_count >= rules.max_calls
              and v.last_called_at is not None
              and v.last_called_at + timedelta(seconds=rules.recall_min_seconds) <= now):
            out.append(AutoChange("no_show", v, lifecycle.no_show(v, now, "max_calls")))
        elif closed and v.state in (State.WAITING, State.PARKED):
            out.append(AutoChange("walk_out", v, lifecycle.walk_out(v, now, "day_closed")))
    return out
