"""The booking calendar: free times, and bookings made, moved and cancelled."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..domain import calendar, lifecycle
from ..domain.errors import DomainError, Invalid, NotFound
from ..domain.types import Kind, State
from ..settings import SiteConfig
from ..storage import repo
from ..storage.models import VisitRow
from .context import AppContext, Tx
from .views import iso
from .visits import finish_change, new_visit_row, next_ticket

_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _bookings(session, site_id: str, day: date, exclude: int | None = None
              ) -> list[tuple[datetime, int]]:
    rows = session.execute(select(VisitRow.id, VisitRow.slot_start, VisitRow.expected_minutes)
                           .where(VisitRow.site_id == site_id, VisitRow.day == day,
                                  VisitRow.kind == "booked", VisitRow.state != "cancelled"))
    return [(s, m) for i, s, m in rows if s is not None and i != exclude]


def _check_day(ctx: AppContext, site: SiteConfig, day: date, now: datetime) -> None:
    reason = site.closed_reason(day)
    if reason:
        raise DomainError(f"{site.name} is closed on {day.isoformat()} ({reason}).",
                          code="site_closed", reason=reason)
    today = ctx.today(site, now)
    if day < today or day > today + timedelta(days=site.booking_days_ahead):
        raise Invalid(f"Bookings are taken from today to {site.booking_days_ahead} days ahead.",
                      code="day_out_of_range")


def free_times(ctx: AppContext, session, site_id: str, errand_code: str, day: date
               ) -> dict[str, Any]:
    site = ctx.site(site_id)
    errand = ctx.errand(errand_code)
    now = ctx.clock.now()
    reason = site.closed_reason(day)
    times: list[datetime] = []
    if not reason:
        times = calendar.free_times(site.windows(day), site.slot_minutes, site.booking_capacity,
                                    _bookings(session, site_id, day), errand.minutes,
                                    not_before=now)
    return {"site_id": site_id, "date": day.isoformat(), "errand": errand.code,
            "minutes": errand.minutes, "closed_reason": reason,
            "times": [iso(t, site.tz) for t in times]}


def _require_free(tx: Tx, site: SiteConfig, start: datetime, minutes: int,
                  exclude: int | None = None) -> date:
    start = start.astimezone(site.tz)
    day = start.date()
    _check_day(tx.ctx, site, day, tx.now)
    if start < tx.now:
        raise Invalid("That time has passed.", code="time_passed")
    if not calendar.is_free(site.windows(day), site.slot_minutes, site.booking_capacity,
                            _bookings(tx.session, site.id, day, exclude), minutes, start):
        raise DomainError("That time is no longer free; ask for free times again.",
                          code="slot_unavailable")
    return day


def _new_ref(tx: Tx) -> str:
    while True:
        ref = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
        if tx.session.scalar(select(VisitRow.id).where(VisitRow.booking_ref == ref)) is None:
            return ref


def create_booking(tx: Tx, site_id: str, errand_code: str, start: datetime, name: str,
                   cpr: str | None, phone: str | None, note: str | None,
                   counter: int | None) -> dict[str, Any]:
    site = tx.lock(site_id)
    errand = tx.ctx.errand(errand_code)
    day = _require_free(tx, site, start, errand.minutes)
    counter_id = tx.counter_row(site_id, counter).id if counter is not None else None
    row = new_visit_row(tx, site_id=site_id, day=day, kind=Kind.BOOKED, state=State.BOOKED,
                        errand_code=errand.code, name=name, cpr=cpr, phone=phone,
                        slot_start=start, booking_ref=_new_ref(tx), citizen_note=note,
                        counter_id=counter_id)
    return finish_change(tx, row, "book", {"errand": errand.code})


def booking_row(tx: Tx, ref: str, if_match: int | None = None) -> VisitRow:
    """The booking's visit, read under its site's lock and checked against `if_match`."""
    visit_id = tx.session.scalar(select(VisitRow.id).where(VisitRow.booking_ref == ref.upper()))
    if visit_id is None:
        raise NotFound("No booking with that reference.", code="unknown_booking")
    return tx.visit_row(visit_id, if_match)


def move_booking(tx: Tx, ref: str, start: datetime, if_match: int | None) -> dict[str, Any]:
    row = booking_row(tx, ref, if_match)
    site = tx.ctx.site(row.site_id)
    day = _require_free(tx, site, start, row.expected_minutes, exclude=row.id)
    before = repo.to_visit(row)
    after = lifecycle.reschedule(before, start, day)
    if day != row.day:
        ticket, seq = next_ticket(tx, site.id, day, Kind.BOOKED)
        row.ticket, row.ticket_seq = ticket, seq
    tx.save(row, after)
    return finish_change(tx, row, "reschedule")


def cancel_booking(tx: Tx, ref: str, reason: str, if_match: int | None) -> dict[str, Any]:
    row = booking_row(tx, ref, if_match)
    tx.save(row, lifecycle.cancel(repo.to_visit(row), tx.now, reason))
    return finish_change(tx, row, "cancel", {"reason": reason})
