"""How visits, counters and days look on the wire (JSON-ready dicts).

Two views: the staff view (names, masked CPR, phone, notes) and the event view (ids, states
and times only: events never carry personal data).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..domain import cpr as cprlib
from ..domain.queue import queue_plan
from ..storage import repo
from ..storage.models import CounterRow, NoteRow, VisitRow


def iso(dt: datetime | None, tz: ZoneInfo) -> str | None:
    return dt.astimezone(tz).isoformat() if dt else None


def counter_view(c: CounterRow) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "name": c.name, "state": c.state,
            "staffed_by": c.staffed_by,
            "errands": sorted(c.errands) if c.errands is not None else None,
            "version": c.version}


def visit_event(row: VisitRow, tz: ZoneInfo, counter_number: int | None,
                rank: int | None, estimate: datetime | None = None) -> dict[str, Any]:
    """The visit as events carry it: no name, CPR, phone or free text. `estimate`: the
    planner's expected call time of a waiting walk-in."""
    r = row
    if r.kind != "walkin" or r.state != "waiting":
        estimate = None
    return {
        "id": r.id, "ticket": r.ticket, "kind": r.kind, "state": r.state,
        "errand": r.errand, "expected_minutes": r.expected_minutes,
        "priority": r.priority, "counter_id": r.counter_id, "counter": counter_number,
        "slot_start": iso(r.slot_start, tz), "arrived_at": iso(r.arrived_at, tz),
        "called_at": iso(r.called_at, tz), "started_at": iso(r.started_at, tz),
        "finished_at": iso(r.finished_at, tz), "call_count": r.call_count,
        "outcome": r.outcome, "left_reason": r.left_reason,
        "documents": [{"code": k, "status": s} for k, s in (r.documents or {}).items()],
        "queue_rank": rank, "estimated_call_at": iso(estimate, tz), "version": r.version,
    }


def gap_views(plan, numbers: dict[int, int], tz: ZoneInfo) -> dict[str, dict[str, Any]]:
    """The gap each waiting walk-in is planned into, by visit id: the counter (number), the
    walk-in's expected start, and `until`: the booking that ends the gap there (or None)."""
    return {str(vid): {"counter": numbers.get(cid), "start": iso(start, tz),
                       "until": iso(until, tz)}
            for vid, (cid, start, until) in plan.gaps.items()}


_NOTES = NoteRow.__table__


class _Note(NamedTuple):
    created_at: datetime
    author: str
    text: str


def visit_notes(session: Session, visit_id: int) -> list:
    """A visit's notes (created_at, author, text), oldest first: a plain statement on the
    session's connection, not an ORM load, since every write's answer asks for them. Notes
    this session added are flushed first; nothing else needs to be."""
    if any(isinstance(o, NoteRow) for o in session.new):
        session.flush()
    return [_Note(*r) for r in session.execute(_NOTES_Q, {"visit": visit_id})]


#: Built once, with a bound parameter (storage/repo.py says why).
_NOTES_Q = (select(_NOTES.c.created_at, _NOTES.c.author, _NOTES.c.text)
            .where(_NOTES.c.visit_id == bindparam("visit")).order_by(_NOTES.c.id))


def visit_view(session: Session, ctx, row: VisitRow, *, rank: int | None = None,
               estimate: datetime | None = None, notes: list[NoteRow] | None = None,
               counters: dict[int, CounterRow] | None = None,
               gap: dict[str, Any] | None = None) -> dict[str, Any]:
    tz = ctx.site(row.site_id).tz
    if counters is not None:
        counter = counters.get(row.counter_id) if row.counter_id else None
    else:
        counter = session.get(CounterRow, row.counter_id) if row.counter_id else None
    if notes is None:
        notes = visit_notes(session, row.id)
    errand = ctx.catalogue.by_code.get(row.errand)
    names = {d.code: (d.name_da, d.name_en) for d in errand.documents} if errand else {}
    out = visit_event(row, tz, counter.number if counter else None, rank, estimate)
    out.update({
        "site_id": row.site_id, "day": row.day.isoformat(), "booking_ref": row.booking_ref,
        "slot_minutes": row.expected_minutes if row.slot_start else None,
        "counter_name": counter.name if counter else None,
        "citizen": {"name": row.citizen_name, "cpr": cprlib.mask(row.cpr),
                    "phone": row.phone},
        "citizen_note": row.citizen_note, "prepared_notes": row.prepared_notes,
        "precall": row.precall,
        "documents": [{"code": k, "status": s, "name_da": names.get(k, (k, k))[0],
                       "name_en": names.get(k, (k, k))[1]}
                      for k, s in (row.documents or {}).items()],
        "notes": [{"at": iso(n.created_at, tz), "author": n.author, "text": n.text}
                  for n in notes],
        "planned_gap": gap if row.state == "waiting" else None,
        "last_called_at": iso(row.last_called_at, tz), "outcome_note": row.outcome_note,
        "referred_to": row.referred_to,
    })
    return out


#: A published plan this recent serves a snapshot of the state it reflects.
FRESH = timedelta(seconds=5)


def day_view(session: Session, ctx, site_id: str, day: date, now: datetime, seq: int
             ) -> dict[str, Any]:
    site = ctx.site(site_id)
    rows = list(session.scalars(select(VisitRow).where(
        VisitRow.site_id == site_id, VisitRow.day == day).order_by(VisitRow.id)))
    counter_rows = repo.counters(session, site_id)
    counters = {c.id: c for c in counter_rows}
    # the plan the consoles have, when it reflects exactly this snapshot's state (a newer
    # one would rank visits this snapshot still shows otherwise): services/planning.py
    latest = ctx.plans.latest(site_id) if ctx.plans is not None else None
    if latest is not None and latest.as_of == seq and day == ctx.today(site, now) \
            and now - latest.made_at <= FRESH:
        plan = latest.plan
    else:
        plan = queue_plan(repo.day_state(session, site_id, day, site.rules, visit_rows=rows),
                          now)
    notes: dict[int, list[NoteRow]] = {}
    if rows:
        for n in session.scalars(select(NoteRow).join(VisitRow).where(
                VisitRow.site_id == site_id, VisitRow.day == day).order_by(NoteRow.id)):
            notes.setdefault(n.visit_id, []).append(n)
    gaps = gap_views(plan, {c.id: c.number for c in counter_rows}, site.tz)
    visits = [visit_view(session, ctx, r, rank=plan.ranks.get(r.id),
                         estimate=plan.estimates.get(r.id), notes=notes.get(r.id, []),
                         counters=counters, gap=gaps.get(str(r.id))) for r in rows]
    visits.sort(key=lambda v: (v["queue_rank"] is None, v["queue_rank"] or 0, v["id"]))
    windows = site.windows(day)
    return {
        "site_id": site_id, "date": day.isoformat(), "seq": seq, "now": iso(now, site.tz),
        "closed_reason": site.closed_reason(day),
        "opening": [[iso(a, site.tz), iso(b, site.tz)] for a, b in windows],
        "counters": [counter_view(c) for c in counter_rows],
        "visits": visits,
    }
