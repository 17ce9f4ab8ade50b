"""Rows to domain types and back, and the loads the services need."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, func, insert, or_, select, type_coerce, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.util import identity_key

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
from .fast import Fast
from .models import CounterRow, SiteRow, VisitRow, as_utc

#: session.info key: the sites a write transaction locked, {site: (seq at lock, LockedSite)}
LOCKED = "skranke_locked"


@dataclass(slots=True)
class LockedSite:
    """A site's row as a write transaction read it under the site's lock (storage/db.py
    lock_site); the transaction's events move `event_seq` on, stored before the commit."""

    id: str
    event_seq: int
    passed_over_minutes: int | None
    duration_quantile: float | None

_COPIED = ("state", "errand", "expected_minutes", "priority", "counter_id", "slot_start",
           "arrived_at", "called_at", "last_called_at", "started_at", "finished_at",
           "call_count", "version", "outcome", "outcome_note", "referred_to", "left_reason",
           "day")


def columns(r: VisitRow) -> dict[str, Any]:
    """The row's column values by name, read from the object's own dict when it holds them
    all (a loaded or saved visit; a write's domain visit, event and answer read about 115
    of them, and through the ORM's attributes `to_visit` took 12 µs against 6-10 µs,
    `changes` 12-17 against 7 µs, timeit); otherwise through the ORM, which loads what is
    missing."""
    d = r.__dict__
    if d.keys() >= _ALL_KEYS:
        return d
    return {k: getattr(r, k) for k in _VISIT_KEYS}


def to_visit(r: VisitRow) -> Visit:
    c = columns(r)
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
    c = columns(r)
    for name in _COPIED:
        value = getattr(v, name)
        if hasattr(value, "value"):
            value = value.value
        if c[name] != value:
            out[name] = value
    docs = {k: s.value for k, s in v.documents}
    if docs != (c["documents"] or {}):
        out["documents"] = docs
    return out


_VISITS = VisitRow.__table__
_LOAD_VISIT = Fast(select(*_VISITS.c).where(_VISITS.c.id == bindparam("id")))
_VISIT_KEYS = tuple(c.key for c in _VISITS.c)
_ALL_KEYS = frozenset(_VISIT_KEYS)
_VISIT_CLASS = manager_of_class(VisitRow)


def load_visit(session: Session, visit_id: int) -> VisitRow | None:
    """A visit as an ORM object in the session, read with one plain statement: the
    session's own object if it has one, else one made from the row as a query's load would
    make it (an ORM load cost 250 µs of Python, this about a fifth). Pending changes are
    not flushed first: a write reads its visit before it changes anything."""
    held = session.identity_map.get(identity_key(VisitRow, visit_id))
    if held is not None:
        return held
    rows = _LOAD_VISIT.rows(session, {"id": visit_id})
    if not rows:
        return None
    return _as_loaded(session, dict(zip(_VISIT_KEYS, rows[0], strict=True)))


def _in_utc(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with its times in UTC itself, as the ORM's set events hold them (models.py
    as_utc): these writes go past the ORM."""
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in values.items()}


def _as_loaded(session: Session, values: dict[str, Any]) -> VisitRow:
    """The stored visit `values` (every column) as the object a load puts in the session."""
    row = _VISIT_CLASS.new_instance()
    row.__dict__.update(values)
    make_transient_to_detached(row)  # as loaded: no history, its key from its id
    session.add(row)
    return row


_NEW_KEYS = tuple(k for k in _VISIT_KEYS if k != "id")
_INSERT_VISIT = Fast(insert(_VISITS).values({k: bindparam(k) for k in _NEW_KEYS})
                     .returning(_VISITS.c.id))


def insert_visit(session: Session, values: dict[str, Any]) -> VisitRow:
    """A new visit written with one plain INSERT, and in the session as the object a load
    of it would give (through the unit of work the INSERT was most of a walk-in's write).
    Columns not in `values` are stored as NULL, as the ORM stores them (the model has no
    server defaults). Like `update_visit`, past the unit of work: the caller tells the held
    day (open_visits.touched)."""
    if session.new:  # what the caller added first goes in first, as a flush would do
        session.flush()
    full = dict.fromkeys(_NEW_KEYS)
    full.update(_in_utc(values))
    ((full["id"],),) = _INSERT_VISIT.rows(session, full)
    return _as_loaded(session, full)


_UPDATES: dict[tuple[str, ...], Any] = {}


def update_visit(session: Session, r: VisitRow, values: dict[str, Any]) -> None:
    """Write `values` to a stored visit with one UPDATE now, and onto the row as its stored
    state (no unit of work: on the write path that cost more than the statement)."""
    key = tuple(values)
    stmt = _UPDATES.get(key)
    if stmt is None:  # built once per set of columns: building costs more than running
        stmt = _UPDATES[key] = Fast(update(_VISITS).where(
            _VISITS.c.id == bindparam("_id")).values({name: bindparam(name) for name in key}))
    values = _in_utc(values)
    stmt.run(session, {"_id": r.id, **values})
    for name, value in values.items():
        set_committed_value(r, name, value)


def to_counter(r: CounterRow) -> Counter:
    return Counter(id=r.id, site_id=r.site_id, number=r.number, name=r.name,
                   state=CounterState(r.state), staffed_by=r.staffed_by,
                   errands=frozenset(r.errands) if r.errands is not None else None,
                   version=r.version)


def next_booked_start(session: Session, site_id: str, day: date, after: datetime
                      ) -> datetime | None:
    return session.scalar(select(func.min(VisitRow.slot_start)).where(
        VisitRow.site_id == site_id, VisitRow.day == day,
        VisitRow.state == State.BOOKED.value, VisitRow.slot_start > after))


def counters(session: Session, site_id: str) -> list[CounterRow]:
    return list(session.scalars(
        select(CounterRow).where(CounterRow.site_id == site_id).order_by(CounterRow.number)))


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
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def light_open_visits(session: Session, site_id: str, day: date,
                      now: datetime | None = None, rules: Rules | None = None,
                      horizon: timedelta = timedelta(hours=4)) -> tuple[Visit, ...]:
    """The open visits as the queue rules need them: one plain query, no ORM objects, no
    documents or personal data (this runs on every write, so it must be cheap). With `now`,
    booked-not-arrived visits only from slot + grace back to `horizon` ahead (the planner's
    view: bookings further ahead cannot change a decision or an estimate now)."""
    session.flush()
    active = [s.value for s in OPEN_STATES if s is not State.BOOKED]
    cond = VisitRow.state.in_(active)
    if now is None:
        cond = or_(cond, VisitRow.state == State.BOOKED.value)
    else:
        grace = rules.grace if rules else timedelta(hours=1)
        cond = or_(cond, and_(VisitRow.state == State.BOOKED.value,
                              VisitRow.slot_start > now - grace,
                              VisitRow.slot_start < now + horizon))
    rows = session.execute(select(*_LIGHT).where(
        VisitRow.site_id == site_id, VisitRow.day == day, cond))
    return tuple(light_visit(site_id, day, row) for row in rows)


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
    """(errand, service minutes) of the day's latest finished visits."""
    rows = session.execute(
        select(VisitRow.errand, _raw(VisitRow.started_at), _raw(VisitRow.finished_at))
        .where(VisitRow.site_id == site_id, VisitRow.day == day,
               VisitRow.state == State.DONE.value, VisitRow.started_at.is_not(None),
               VisitRow.finished_at.is_not(None))
        .order_by(VisitRow.finished_at.desc()).limit(OBSERVED))
    return tuple(_minutes(*r) for r in rows)


def planner_rules(session: Session, site_id: str, rules: Rules, row=None) -> Rules:
    """The site's rules with the planner settings a supervisor changed at runtime (as given,
    or as the write transaction read them under the site's lock, else the site's row)."""
    if row is None:
        locked = (session.info.get(LOCKED) or {}).get(site_id)
        row = locked[1] if locked is not None else session.get(SiteRow, site_id)
    if row is None or (row.passed_over_minutes is None and row.duration_quantile is None):
        return rules
    return replace(rules, **{k: v for k, v in (
        ("passed_over_minutes", row.passed_over_minutes),
        ("duration_quantile", row.duration_quantile)) if v is not None})


def day_state(session: Session, site_id: str, day: date, rules: Rules,
              visit_rows: list[VisitRow] | None = None, now: datetime | None = None,
              horizon: timedelta = timedelta(hours=4)) -> DayState:
    """The day as the rules see it. With `now`, only what decisions at `now` can need."""
    rules = planner_rules(session, site_id, rules)
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
                    counters=tuple(to_counter(c) for c in counters(session, site_id)),
                    visits=visits, rules=rules, observed=seen)
