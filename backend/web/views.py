"""What the waiting room's devices see: tickets, counters, places and times. Never a
name, a CPR number, a phone number or a note: every field is picked here, by name."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage import repo
from ..storage.models import VisitRow

#: The display's list of recent calls.
RECENT_CALLS = 8
#: Visits a ticket page follows (any other state is over for the day).
OPEN_STATES = ("booked", "waiting", "called", "serving", "parked")


def hhmm(dt: datetime | None, tz) -> str | None:
    return dt.astimezone(tz).strftime("%H:%M") if dt else None


def _round5(minutes: float) -> int:
    return max(0, int(5 * round(minutes / 5)))


def _day_rows(session: Session, site_id: str, day: date) -> list[VisitRow]:
    return list(session.scalars(select(VisitRow).where(
        VisitRow.site_id == site_id, VisitRow.day == day)))


def snapshot(session: Session, ctx, site_id: str, now: datetime, published=None
             ) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The display's board and every open visit's ticket status, from one read."""
    site = ctx.site(site_id)
    tz = site.tz
    rows = _day_rows(session, site_id, ctx.today(site, now))
    names = {c.id: c.name for c in repo.counters(session, site_id)}
    ranks = published.plan.ranks if published is not None else {}
    estimates = published.plan.estimates if published is not None else {}
    called = sorted((r for r in rows if r.last_called_at is not None),
                    key=lambda r: r.last_called_at, reverse=True)

    def call(r: VisitRow) -> dict[str, Any]:
        return {"ticket": r.ticket, "counter": names.get(r.counter_id, ""),
                "at": hhmm(r.last_called_at, tz), "calls": r.call_count,
                "key": f"{r.ticket}/{r.call_count}/{r.last_called_at.timestamp():.0f}"}

    waiting = [r for r in rows if r.state == "waiting"]
    waits = sorted((estimates[r.id] - now).total_seconds() / 60 for r in waiting
                   if r.kind == "walkin" and r.id in estimates)
    board = {
        "site": site.name, "now": hhmm(now, tz),
        "current": [call(r) for r in called if r.state == "called"][:6],
        "recent": [call(r) for r in called[:RECENT_CALLS]],
        "waiting": len(waiting),
        "walkin_wait": [_round5(waits[0]), _round5(waits[-1])] if waits else None,
    }
    tickets = {r.id: ticket_status(r, tz, now, names, ranks, estimates) for r in rows
               if r.state in OPEN_STATES or r.state in ("done", "no_show", "left",
                                                       "cancelled")}
    return board, tickets


def ticket_status(r: VisitRow, tz, now: datetime, names: dict[int, str],
                  ranks: dict[int, int], estimates: dict[int, datetime]) -> dict[str, Any]:
    """One citizen's own ticket as their page shows it."""
    expected = None
    if r.state == "waiting":
        if r.id in estimates:
            expected = estimates[r.id]
        elif r.slot_start is not None:
            expected = max(r.slot_start, now)
    elif r.state == "booked":
        expected = r.slot_start
    return {"ticket": r.ticket, "state": r.state, "kind": r.kind,
            "place": ranks.get(r.id) if r.state == "waiting" else None,
            "expected": hhmm(expected, tz), "slot": hhmm(r.slot_start, tz),
            "counter": names.get(r.counter_id) if r.state in ("called", "serving") else None,
            "calls": r.call_count}


def expected_call(answer: dict[str, Any], now: datetime, tz) -> str | None:
    """A kiosk answer's expected call time (HH:MM): the planner's estimate for a walk-in,
    the booked time (or now, when it has passed) for a booked citizen."""
    at = answer.get("estimated_call_at")
    if at:
        return hhmm(datetime.fromisoformat(at), tz)
    slot = answer.get("slot_start")
    if slot:
        return hhmm(max(datetime.fromisoformat(slot), now), tz)
    return hhmm(now + timedelta(minutes=5), tz)
