"""Which visit call next takes, the queue order, and the automatic transitions.

Pure functions of a day's state (DESIGN.md rule 6). Whether a walk-in fits, and when the
waiting walk-ins can expect to be called, is the planner's (planner.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import forward, lifecycle, planner
from .planner import booked_key, walkin_key
from .types import Counter, DayState, Kind, State, Visit


@dataclass(frozen=True, slots=True)
class NextChoice:
    visit: Visit | None
    #: booked_due | assigned | walkin_fits | booked_early | nobody
    reason: str
    #: When nobody is due: the start of the next booking still expected today.
    next_booking_at: datetime | None = None
    walkins_waiting: int = 0
    #: When nobody is called though walk-ins wait: the first of them, held back by the
    #: planner because no gap here fits them before a booked citizen.
    held: Visit | None = None


def walkin_fits(day: DayState, walkin: Visit, counter_id: int | None, now: datetime) -> bool:
    """The planner's fit test (backend/domain/planner.py)."""
    return planner.walkin_fits(day, walkin, counter_id, now)


def next_booking_at(day: DayState, now: datetime, counter: Counter | None = None
                    ) -> datetime | None:
    """The start of the next booked citizen still expected (not yet arrived, and not yet a
    no-show: slot + grace still ahead) whose errand the counter handles."""
    gone_by = now - day.rules.grace
    booked = State.BOOKED
    errands = counter.errands if counter is not None else None  # None: every errand
    return min((v.slot_start for v in day.visits
                if v.state is booked and v.slot_start is not None and v.slot_start > gone_by
                and v.kind is Kind.BOOKED and (errands is None or v.errand in errands)),
               default=None)


def choose_next(day: DayState, counter: Counter, now: datetime) -> NextChoice:
    """The visit call next at `counter` takes now, or nobody and when the next is due."""
    # one pass over the day: the candidates (waiting, an errand the counter handles, sent
    # here or to no counter) by what call next does with them, and the next booking expected
    due_by, gone_by = now + day.rules.due_ahead, now - day.rules.grace
    waiting, booked_, walkin_ = State.WAITING, State.BOOKED, Kind.WALKIN
    here, errands = counter.id, counter.errands
    first: list[Visit] = []
    walkins: list[Visit] = []
    early: list[Visit] = []
    coming = None
    for v in day.visits:
        state = v.state
        if state is booked_:
            # the next booking expected here (conditions cheapest-first: the same answer; one
            # not before the earliest so far is passed at once: most of them)
            s = v.slot_start
            if s is not None and (coming is None or s < coming) and s > gone_by \
                    and v.kind is not walkin_ and (errands is None or v.errand in errands):
                coming = s
        elif state is waiting:
            if (errands is not None and v.errand not in errands) or (
                    v.counter_id is not None and v.counter_id != here):
                continue
            if v.kind is walkin_:
                walkins.append(v)
                if v.counter_id == here:
                    first.append(v)
            else:
                early.append(v)
                if v.counter_id == here or (v.slot_start is not None and v.slot_start <= due_by):
                    first.append(v)
    if first:
        # a citizen sent to this counter (transferred, moved) comes before the due booked
        # ones: else a transferred walk-in (no slot) waits as long as bookings keep coming
        v = min(first, key=lambda v: (v.counter_id != here, *booked_key(v)))
        return NextChoice(v, "assigned" if v.counter_id == here else "booked_due")
    if walkins:
        v = planner.pick_walkin(day, counter, now)
        if v is not None:
            return NextChoice(v, "walkin_fits")
    if early:
        return NextChoice(min(early, key=booked_key), "booked_early")
    return NextChoice(None, "nobody", next_booking_at=coming, walkins_waiting=len(walkins),
                      held=min(walkins, key=walkin_key) if walkins else None)


def queue_plan(day: DayState, now: datetime) -> forward.Plan:
    """Every waiting visit's rank and every waiting walk-in's estimated call time."""
    return forward.plan(day, now)


def queue_ranks(day: DayState, now: datetime) -> dict[int, int]:
    """Every waiting visit's place in the order call next takes them (1 = next): assigned
    and due booked citizens, then the others by the planner's expected call time."""
    return forward.plan(day, now).ranks


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
