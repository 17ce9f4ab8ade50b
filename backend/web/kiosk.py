"""The kiosk's rules, in the backend like every rule: check-in against the booked time
(too late by the site's grace: not checked in, told what to do), walk-ins queued only with
every document, bookings with name and phone only. Each runs inside the API's write
transaction (api/deps.py Writer) and answers with tickets and times only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..domain.errors import DomainError, Invalid, NotFound
from ..services import bookings, visits
from ..services.context import Tx
from ..storage.models import VisitRow
from . import tickets
from .views import hhmm

#: The name a walk-in registered at the kiosk carries in the staff's console.
KIOSK_NAME = "(kiosk)"
#: How far ahead the kiosk looks for free times, and how many it offers.
FREE_DAYS, FREE_TIMES = 14, 6

GROUPS = (
    ("id", ("passport_adult", "passport_child", "lost_passport", "mitid")),
    ("licence", ("driving_licence_renewal", "driving_licence_exchange",
                 "driving_licence_first")),
    ("health", ("health_card", "ehic_card")),
    ("moving", ("change_of_address", "cpr_registration", "residence_documents",
                "name_change")),
    ("money", ("pension", "housing_benefit", "digital_post_exemption")),
)


def errands(ctx) -> list[dict[str, Any]]:
    """The catalogue as the kiosk shows it: grouped, with hints, the questions asked first
    and the documents (each with the answer it applies for)."""
    group_of = {code: g for g, codes in GROUPS for code in codes}
    return [{"code": e.code, "group": group_of.get(e.code, "other"),
             "name_da": e.name_da, "name_en": e.name_en, "phone": e.phone,
             "self_service": e.self_service, "hint_da": e.hint_da, "hint_en": e.hint_en,
             "questions": [{"code": q.code, "text_da": q.text_da, "text_en": q.text_en,
                            "text_ar": q.text_ar or q.text_en} for q in e.questions],
             "documents": [{"code": d.code, "name_da": d.name_da, "name_en": d.name_en,
                            "when": d.when, "unless": d.unless} for d in e.documents]}
            for e in ctx.catalogue.errand]


def _answer(tx: Tx, row: VisitRow, code: str, **extra: Any) -> dict[str, Any]:
    tz = tx.ctx.site(row.site_id).tz
    return {"id": row.id, "site_id": row.site_id, "state": row.state, "ticket": row.ticket,
            "kind": row.kind, "errand": row.errand,
            "slot_start": row.slot_start.astimezone(tz).isoformat() if row.slot_start else None,
            "code": code, **extra}


def check_in(tx: Tx, site_id: str, ref: str) -> dict[str, Any]:
    site = tx.lock(site_id)
    row = tx.session.scalar(select(VisitRow).where(VisitRow.booking_ref == ref.upper(),
                                                   VisitRow.site_id == site_id))
    if row is None:
        raise NotFound("No booking with that reference here.", code="unknown_booking")
    today = tx.ctx.today(site, tx.now)
    if row.state == "booked" and row.day != today:
        raise DomainError("The booking is for another day.", code="not_today",
                          day=row.day.isoformat(), slot=hhmm(row.slot_start, site.tz))
    if row.state in ("waiting", "called", "serving", "parked"):
        return _answer(tx, row, tickets.issue(tx.session, row, tx.now), already=True)
    if row.state == "no_show" or (row.state == "booked" and row.slot_start is not None
                                  and tx.now > row.slot_start + site.rules.grace):
        raise DomainError("Too late for the booked time.", code="too_late",
                          slot=hhmm(row.slot_start, site.tz),
                          grace_minutes=int(site.rules.grace.total_seconds() // 60))
    if row.state != "booked":
        raise DomainError("This booking cannot be checked in.", code="not_bookable",
                          state=row.state)
    visits.check_in_by_ref(tx, site_id, ref)
    minutes = round((row.slot_start - tx.now).total_seconds() / 60) if row.slot_start else 0
    return _answer(tx, row, tickets.issue(tx.session, row, tx.now), early_minutes=minutes)


def walk_in(tx: Tx, site_id: str, errand: str, documents: dict[str, bool],
            answers: dict[str, bool] | None = None) -> dict[str, Any]:
    """Queued only with every document that applies: the errand's questions answered first
    (e.g. a first passport needs no old passport), then each of those documents present."""
    found = tx.ctx.errand(errand)
    answers = answers or {}
    unanswered = [q.code for q in found.questions if q.code not in answers]
    if unanswered:
        raise Invalid("Answer the errand's questions first.", code="unanswered_question",
                      questions=unanswered)
    need = [d.code for d in found.needed(answers)]
    missing = [c for c in need if not documents.get(c)]
    if missing:
        raise DomainError("A walk-in is queued only with every document.",
                          code="missing_documents", missing=missing)
    answer = visits.register_walkin(tx, site_id, errand, KIOSK_NAME, None, None,
                                    {c: "present" for c in need}, 0, answers=answers)
    row = tx.session.get(VisitRow, answer["id"])
    return _answer(tx, row, tickets.issue(tx.session, row, tx.now))


def free_times(ctx, session, site_id: str, errand: str, now: datetime) -> list[dict[str, str]]:
    site = ctx.site(site_id)
    day: date = ctx.today(site, now)
    out: list[dict[str, str]] = []
    for _ in range(FREE_DAYS):
        for at in bookings.free_times(ctx, session, site_id, errand, day)["times"]:
            out.append({"start": at, "day": day.isoformat(),
                        "time": hhmm(datetime.fromisoformat(at), site.tz)})
            if len(out) >= FREE_TIMES:
                return out
        day += timedelta(days=1)
    return out


def book(tx: Tx, site_id: str, errand: str, start: datetime, name: str, phone: str
         ) -> dict[str, Any]:
    answer = bookings.create_booking(tx, site_id, errand, start, name, None, phone, None, None)
    tz = tx.ctx.site(site_id).tz
    at = start.astimezone(tz)
    return {"booking_ref": answer["booking_ref"], "day": at.date().isoformat(),
            "time": at.strftime("%H:%M"), "errand": errand}
