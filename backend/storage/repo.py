"""Rows to domain types and back, and the loads the services need."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
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
from .models import CounterRow, VisitRow

_COPIED = ("state", "errand", "expected_minutes", "priority", "counter_id", "slot_start",
           "arrived_at", "called_at", "last_called_at", "started_at", "finished_at",
           "call_count", "version", "outcome", "outcome_note", "referred_to", "left_reason",
           "day")


def to_visit(r: VisitRow) -> Visit:
    return Visit(
        id=r.id, site_id=r.site_id, day=r.day, kind=Kind(r.kind), ticket=r.ticket,
        state=State(r.state), errand=r.errand, expected_minutes=r.expected_minutes,
        priority=r.priority, counter_id=r.counter_id, slot_start=r.slot_start,
        arrived_at=r.arrived_at, called_at=r.called_at, last_called_at=r.last_called_at,
        started_at=r.started_at, finished_at=r.finished_at, call_count=r.call_count,
        version=r.version,
        documents=tuple((k, DocStatus(s)) for k, s in (r.documents or {}).items()),
        outcome=Outcome(r.outcome) if r.outcome else None, outcome_note=r.outcome_note,
        referred_to=r.referred_to, left_reason=r.left_reason,
    )


def apply(r: VisitRow, v: Visit) -> None:
    """Write a changed domain visit back onto its row."""
    for name in _COPIED:
        value = getattr(v, name)
        if hasattr(value, "value"):
            value = value.value
        if getattr(r, name) != value:
            setattr(r, name, value)
    docs = {k: s.value for k, s in v.documents}
    if docs != (r.documents or {}):
        r.documents = docs


def to_counter(r: CounterRow) -> Counter:
    return Counter(id=r.id, site_id=r.site_id, number=r.number, name=r.name,
                   state=CounterState(r.state), staffed_by=r.staffed_by,
                   errands=frozenset(r.errands) if r.errands is not None else None,
                   version=r.version)


def counters(session: Session, site_id: str) -> list[CounterRow]:
    return list(session.scalars(
        select(CounterRow).where(CounterRow.site_id == site_id).order_by(CounterRow.number)))


def open_visit_rows(session: Session, site_id: str, day: date) -> list[VisitRow]:
    return list(session.scalars(select(VisitRow).where(
        VisitRow.site_id == site_id, VisitRow.day == day,
        VisitRow.state.in_([s.value for s in OPEN_STATES]))))


def day_state(session: Session, site_id: str, day: date, rules: Rules,
              visit_rows: list[VisitRow] | None = None) -> DayState:
    rows = visit_rows if visit_rows is not None else open_visit_rows(session, site_id, day)
    return DayState(site_id=site_id, day=day,
                    counters=tuple(to_counter(c) for c in counters(session, site_id)),
                    visits=tuple(to_visit(r) for r in rows if r.state in OPEN_STATES),
                    rules=rules)
