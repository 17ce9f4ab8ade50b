"""Rows to domain types and back, and the loads the services need."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, bindparam, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ..domain.types import (
    OPEN_STATES,
    Counter,
    CounterState,
    DayState,
    DocStatus,
    Kind,
    Outcome,
    Rules,
    State,
    Visit,
)
from .dialect import minutes_between
from .models import CounterRow, SiteRow, VisitRow

_COPIED = ("state", "errand", "expected_minutes", "priority", "counter_id", "slot_start",
           "arrived_at", "called_at", "last_called_at", "started_at", "finished_at",
           "call_count", "version", "outcome", "outcome_note", "referred_to", "left_reason",
           "day")


def to_visit(r: VisitRow) -> Visit:
    c = {k: getattr(r, k) for k in _VISIT_KEYS}
    return Visit(
        id=c["id"], site_id=c["site_id"], day=c["day"], kind=Kind(c["kind"]),
        ticket=c["ticket"], state=State(c["state"]), errand=c["errand"],
        expected_minutes=c["expected_minutes"], priority=c["priority"],
        counter_id=c["counter_id"], slot_start=c["slot_start"], arrived_at=c["arrived_at"],
        called_at=c["called_at"], last_called_at=c["last_called_at"],
        started_at=c["started_at"], finished_at=c["finished_at"],
        call_count=c["call_count"], version=c["version"],
        documents=tuple((k, DocStatus(s)) for k, s in (c["documents"] or {}).items()),
        outcome=Outcome(c["outcome"]) if c["outcome"] else None,
        outcome_note=c["outcome_note"], referred_to=c["referred_to"],
        left_reason=c["left_reason"],
    )


def changes(r: VisitRow, v: Visit) -> dict[str, Any]:
    """The columns in which a changed domain visit differs from its row."""
    out: dict[str, Any] = {}
    for name in _COPIED:
        value = getattr(v, name)
        if hasattr(value, "value"):
            value = value.value
        if getattr(r, name) != value:
            out[name] = value
    docs = {k: s.value for k, s in v.documents}
    if docs != (r.documents or {}):
        out["documents"] = docs
    return out


_VISIT_KEYS = tuple(c.key for c in VisitRow.__table__.c)


def next_booked_start(session: Session, site_id: str, day: date, after: datetime
                      ) -> datetime | None:
    return session.scalar(select(func.min(VisitRow.slot_start)).where(
        VisitRow.site_id == site_id, VisitRow.day == day,
        VisitRow.state == State.BOOKED.value, VisitRow.slot_start > after))


def counters(session: Session, site_id: str) -> list[CounterRow]:
    return list(session.scalars(
        select(CounterRow).where(CounterRow.site_id == site_id).order_by(CounterRow.number)))


_COUNTER_COLS = (CounterRow.id, CounterRow.number, CounterRow.name, CounterRow.state,
                 CounterRow.staffed_by, CounterRow.errands, CounterRow.version)


#: The statements every call next and plan run are built once, with bound parameters:
#: building a select with its clauses cost more than running it (measured: the day's
#: finished visits, 0.5 ms to run and 0.6 ms to build, each time).
_COUNTERS_Q = (select(*_COUNTER_COLS).where(CounterRow.site_id == bindparam("site"))
               .order_by(CounterRow.number))


def domain_counters(session: Session, site_id: str) -> tuple[Counter, ...]:
    """The site's counters as the rules see them: one plain query of the needed columns
    (every call next reads them), no ORM objects. Run on the session's connection, so what
    the session holds unflushed is not in it: day_state flushes first."""
    rows = session.connection().execute(_COUNTERS_Q, {"site": site_id})
    return tuple(Counter(id=id, site_id=site_id, number=number, name=name,
                         state=CounterState(state), staffed_by=staffed_by,
                         errands=frozenset(errands) if errands is not None else None,
                         version=version)
                 for id, number, name, state, staffed_by, errands, version in rows)


def _raw(col):
    """A datetime column read without SQLAlchemy's per-value processing (parsed below)."""
    return type_coerce(col, String).label(col.key)


_LIGHT = (VisitRow.id, VisitRow.kind, VisitRow.ticket, VisitRow.state, VisitRow.errand,
          VisitRow.expected_minutes, VisitRow.priority, VisitRow.counter_id,
          _raw(VisitRow.slot_start), _raw(VisitRow.arrived_at), _raw(VisitRow.called_at),
          _raw(VisitRow.last_called_at), _raw(VisitRow.started_at), VisitRow.call_count,
          VisitRow.version)
_KIND = {k.value: k for k in Kind}
_STATE = {s.value: s for s in State}


def _dt(value) -> datetime | None:
    """Stored naive UTC: a string on SQLite, a datetime from PostgreSQL's driver."""
    if value is None:
        return None
    if value.__class__ is str:
        return _parsed(value)
    return value.replace(tzinfo=UTC)


@lru_cache(maxsize=8192)
def _parsed(text: str) -> datetime:
    """A stored time as aware UTC. Remembered: call next and every plan read the same
    200 visits' times again (parsing them cost 0.35 ms a read, the lookup 0.06 ms)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def light_open_visits(session: Session, site_id: str, day: date,
                      now: datetime | None = None, rules: Rules | None = None,
                      horizon: timedelta = timedelta(hours=4)) -> tuple[Visit, ...]:
    """The open visits as the queue rules need them: one plain query, no ORM objects, no
    documents or personal data (this runs on every write, so it must be cheap). With `now`,
    booked-not-arrived visits only from slot + grace back to `horizon` ahead (the planner's
    view: bookings further ahead cannot change a decision or an estimate now). On the
    session's connection after a flush: the ORM's handling of a plain select cost half as
    much again as the statement (0.35 ms of 1.0 on the bench day's 200 visits)."""
    session.flush()
    conn = session.connection()
    if now is None:
        rows = conn.execute(_OPEN_Q, {"site": site_id, "day": day})
    else:
        grace = rules.grace if rules else timedelta(hours=1)
        rows = conn.execute(_NEAR_Q, {"site": site_id, "day": day, "after": now - grace,
                                      "before": now + horizon})
    return tuple(light_visit(site_id, day, row) for row in rows)


_ACTIVE = VisitRow.state.in_([s.value for s in OPEN_STATES if s is not State.BOOKED])
_DAY = and_(VisitRow.site_id == bindparam("site"), VisitRow.day == bindparam("day"))
#: Every open visit of the day.
_OPEN_Q = select(*_LIGHT).where(_DAY, or_(_ACTIVE, VisitRow.state == State.BOOKED.value))
#: The open visits that have arrived, and the bookings from slot + grace to the horizon.
_NEAR_Q = select(*_LIGHT).where(_DAY, or_(_ACTIVE, and_(
    VisitRow.state == State.BOOKED.value, VisitRow.slot_start > bindparam("after"),
    VisitRow.slot_start < bindparam("before"))))


def light_visit(site_id: str, day: date, row) -> Visit:
    """A visit from the columns of _LIGHT, as the queue rules need it."""
    (id, kind, ticket, state, errand, minutes, priority, counter_id, slot, arrived, called,
     last_called, started, call_count, version) = row
    return Visit(id, site_id, day, _KIND[kind], ticket, _STATE[state], errand, minutes,
                 priority, counter_id, _dt(slot), _dt(arrived), _dt(called), _dt(last_called),
                 _dt(started), None, call_count, version)


#: The planner's duration quantile looks at this many of the day's latest finished visits.
OBSERVED = 200


def _minutes(errand: str, started, finished) -> tuple[str, float]:
    return errand, (_dt(finished) - _dt(started)).total_seconds() / 60


def observed(session: Session, site_id: str, day: date) -> tuple[tuple[str, float], ...]:
    """(errand, service minutes) of the day's latest finished visits (on the session's
    connection: see light_open_visits)."""
    return tuple(map(tuple, session.connection().execute(_OBSERVED_Q,
                                                         {"site": site_id, "day": day})))


_OBSERVED_Q = (select(VisitRow.errand,
                      minutes_between(VisitRow.started_at, VisitRow.finished_at))
               .where(_DAY, VisitRow.state == State.DONE.value,
                      VisitRow.started_at.is_not(None), VisitRow.finished_at.is_not(None))
               .order_by(VisitRow.finished_at.desc()).limit(OBSERVED))


def planner_rules(session: Session, site_id: str, rules: Rules, row=None) -> Rules:
    """The site's rules with the planner settings a supervisor changed at runtime (as given,
    else as the session sees the site's row)."""
    if row is None:
        row = session.get(SiteRow, site_id)
    if row is None or (row.passed_over_minutes is None and row.duration_quantile is None):
        return rules
    return replace(rules, **{k: v for k, v in (
        ("passed_over_minutes", row.passed_over_minutes),
        ("duration_quantile", row.duration_quantile)) if v is not None})


def day_state(session: Session, site_id: str, day: date, rules: Rules,
              visit_rows: list[VisitRow] | None = None, now: datetime | None = None,
              horizon: timedelta = timedelta(hours=4), site_row=None) -> DayState:
    """The day as the rules see it. With `now`, only what decisions at `now` can need.
    `site_row`: the site's row as the caller read it (the planner settings), else read."""
    rules = planner_rules(session, site_id, rules, site_row)
    session.flush()  # the reads below run on its connection
    seen: tuple[tuple[str, float], ...] = ()
    if visit_rows is None:
        visits = light_open_visits(session, site_id, day, now, rules, horizon)
        if rules.duration_quantile and now is not None:  # a decision, not the tick
            seen = observed(session, site_id, day)
    else:
        visits = tuple(to_visit(r) for r in visit_rows if r.state in OPEN_STATES)
        if rules.duration_quantile:
            done = sorted((r for r in visit_rows if r.state == State.DONE.value
                           and r.started_at and r.finished_at),
                          key=lambda r: r.finished_at, reverse=True)[:OBSERVED]
            seen = tuple(_minutes(r.errand, r.started_at, r.finished_at) for r in done)
    return DayState(site_id=site_id, day=day,
                    counters=domain_counters(session, site_id),
                    visits=visits, rules=rules, observed=seen)
