"""Every visit transition of the lifecycle as a pure function: old visit in, new visit out.

Illegal transitions raise IllegalTransition with the visit's current state, so the API
can answer 409 with a stable code. Counter-level rules (busy, open) live in counters.py.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, datetime, timedelta
from operator import attrgetter

from .errors import IllegalTransition, Invalid, TooSoon
from .types import DocStatus, Outcome, Rules, State, Visit

# action -> states it may start from
ALLOWED: dict[str, frozenset[State]] = {
    "check_in": frozenset({State.BOOKED}),
    "call": frozenset({State.WAITING}),
    "recall": frozenset({State.CALLED}),
    "start": frozenset({State.CALLED}),
    "park": frozenset({State.SERVING}),
    "resume": frozenset({State.PARKED}),
    "transfer": frozenset({State.SERVING, State.PARKED}),
    "requeue": frozenset({State.CALLED}),
    "move": frozenset({State.WAITING}),
    "priority": frozenset({State.BOOKED, State.WAITING}),
    "no_show": frozenset({State.BOOKED, State.CALLED}),
    "undo_no_show": frozenset({State.NO_SHOW}),
    "undo_finish": frozenset({State.DONE}),
    "walk_out": frozenset({State.WAITING, State.CALLED, State.PARKED}),
    "finish": frozenset({State.SERVING}),
    "cancel": frozenset({State.BOOKED, State.WAITING}),
    "document": frozenset({State.BOOKED, State.WAITING, State.CALLED, State.SERVING,
                           State.PARKED}),
    "note": frozenset({State.BOOKED, State.WAITING, State.CALLED, State.SERVING, State.PARKED,
                       State.DONE}),
    "reschedule": frozenset({State.BOOKED}),
}


def require(visit: Visit, action: str) -> None:
    if visit.state not in ALLOWED[action]:
        raise IllegalTransition(
            f"Cannot {action.replace('_', ' ')} visit {visit.ticket}: it is {visit.state.value}.",
            state=visit.state.value, ticket=visit.ticket, action=action,
        )


_FIELDS = tuple(f.name for f in fields(Visit))
_INDEX = {name: i for i, name in enumerate(_FIELDS)}
_VALUES = attrgetter(*_FIELDS)


def _next(visit: Visit, **changes) -> Visit:
    """dataclasses.replace(visit, version=visit.version + 1, **changes), built from the
    fields read at once (replace reads them one by one: three times slower)."""
    if type(visit) is not Visit:
        return replace(visit, version=visit.version + 1, **changes)
    values = list(_VALUES(visit))
    values[_INDEX["version"]] = visit.version + 1
    for name, value in changes.items():
        values[_INDEX[name]] = value
    return Visit(*values)


def check_in(v: Visit, now: datetime) -> Visit:
    require(v, "check_in")
    return _next(v, state=State.WAITING, arrived_at=now)


def call(v: Visit, counter_id: int, now: datetime) -> Visit:
    require(v, "call")
    return _next(v, state=State.CALLED, counter_id=counter_id, called_at=now,
                 last_called_at=now, call_count=1)


def recall(v: Visit, now: datetime, rules: Rules) -> Visit:
    require(v, "recall")
    if v.call_count >= rules.max_calls:
        raise IllegalTransition(
            f"{v.ticket} has been called {v.call_count} times, the most allowed; "
            "mark it as no-show or requeue it.",
            code="max_calls_reached", state=v.state.value, ticket=v.ticket,
        )
    if v.last_called_at is not None:
        wait = (v.last_called_at - now).total_seconds() + rules.recall_min_seconds
        if wait > 0:
            raise TooSoon(f"{v.ticket} was called less than {rules.recall_min_seconds} s ago.",
                          retry_after=int(wait) + 1, ticket=v.ticket)
    return _next(v, call_count=v.call_count + 1, last_called_at=now)


def start(v: Visit, now: datetime) -> Visit:
    require(v, "start")
    return _next(v, state=State.SERVING, started_at=now)


def park(v: Visit, now: datetime) -> Visit:
    require(v, "park")
    return _next(v, state=State.PARKED)


def resume(v: Visit, now: datetime) -> Visit:
    """Back to waiting, still assigned to the counter that parked it."""
    require(v, "resume")
    return _next(v, state=State.WAITING)


def transfer(v: Visit, now: datetime, *, to_counter: int | None, to_errand: str | None,
             expected_minutes: int | None = None) -> Visit:
    require(v, "transfer")
    if to_counter is None and to_errand is None:
        raise Invalid("Transfer needs a counter, an errand, or both.")
    changes: dict = {"state": State.WAITING, "counter_id": to_counter, "started_at": None,
                     "called_at": None, "last_called_at": None, "call_count": 0}
    if to_errand is not None:
        changes["errand"] = to_errand
        if expected_minutes is not None:
            changes["expected_minutes"] = expected_minutes
    return _next(v, **changes)


def requeue(v: Visit, now: datetime) -> Visit:
    """A called citizen who did not come (yet) goes back to the pool; the call count stays."""
    require(v, "requeue")
    return _next(v, state=State.WAITING, counter_id=None)


def move(v: Visit, to_counter: int | None) -> Visit:
    require(v, "move")
    return _next(v, counter_id=to_counter)


def set_priority(v: Visit, priority: int) -> Visit:
    require(v, "priority")
    return _next(v, priority=priority)


def no_show(v: Visit, now: datetime, reason: str = "manual") -> Visit:
    require(v, "no_show")
    return _next(v, state=State.NO_SHOW, left_reason=reason, finished_at=now)


def undo_no_show(v: Visit, now: datetime) -> Visit:
    require(v, "undo_no_show")
    return _next(v, state=State.WAITING, counter_id=None, arrived_at=v.arrived_at or now,
                 left_reason=None, finished_at=None, call_count=0, called_at=None,
                 last_called_at=None)


#: How long after finishing a visit its counter may undo the finish (a key pressed by mistake)
UNDO_FINISH_WITHIN = timedelta(minutes=5)


def undo_finish(v: Visit, now: datetime) -> Visit:
    """A finish undone within UNDO_FINISH_WITHIN: the citizen is served again at the same
    counter, the outcome forgotten."""
    require(v, "undo_finish")
    if v.finished_at is None or now - v.finished_at > UNDO_FINISH_WITHIN:
        minutes = int(UNDO_FINISH_WITHIN.total_seconds() // 60)
        raise IllegalTransition(
            f"{v.ticket} was finished more than {minutes} minutes ago; it can no longer be "
            "undone.", code="undo_too_late", state=v.state.value, ticket=v.ticket,
            minutes=minutes)
    return _next(v, state=State.SERVING, finished_at=None, outcome=None, outcome_note=None,
                 referred_to=None)


def walk_out(v: Visit, now: datetime, reason: str = "left") -> Visit:
    require(v, "walk_out")
    return _next(v, state=State.LEFT, left_reason=reason, finished_at=now)


def finish(v: Visit, now: datetime, outcome: Outcome, *, note: str | None = None,
           referred_to: str | None = None) -> Visit:
    require(v, "finish")
    if outcome is Outcome.REFERRED and not (referred_to and referred_to.strip()):
        raise Invalid("A referral names the authority the citizen is referred to.",
                      code="referral_needs_authority")
    if outcome is Outcome.OTHER and not (note and note.strip()):
        raise Invalid("Outcome 'other' needs a note.", code="outcome_needs_note")
    return _next(v, state=State.DONE, finished_at=now, outcome=outcome, outcome_note=note,
                 referred_to=referred_to)


def cancel(v: Visit, now: datetime, reason: str = "cancelled") -> Visit:
    require(v, "cancel")
    return _next(v, state=State.CANCELLED, left_reason=reason, finished_at=now)


def set_document(v: Visit, code: str, status: DocStatus) -> Visit:
    require(v, "document")
    docs = dict(v.documents)
    if code not in docs:
        raise Invalid(f"Errand {v.errand} has no document '{code}'.", code="unknown_document",
                      documents=sorted(docs))
    docs[code] = status
    return _next(v, documents=tuple(docs.items()))


def touch_for_note(v: Visit) -> Visit:
    require(v, "note")
    return _next(v)


def reschedule(v: Visit, slot_start: datetime, day: date) -> Visit:
    require(v, "reschedule")
    return _next(v, slot_start=slot_start, day=day)

