"""Demo data: a reproducible, realistic Borgerservice site (`skranke-server demo-data`).

Today and the next three open days booked at 70–90 % of the calendar's capacity, citizens
arriving about 2 minutes early, 5–10 % no-shows, about 1 in 5 missing a document, prepared
notes and pre-call records on some, walk-ins through today. Today's past is played out
(served, no-shows, walk-ins); the present has citizens waiting and counters open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from .domain import calendar
from .domain import cpr as cprlib
from .services.context import AppContext
from .settings import SiteConfig
from .storage import repo
from .storage.models import CounterRow, NoteRow, VisitRow

FIRST = ("Anne", "Mette", "Hanne", "Kirsten", "Susanne", "Lene", "Camilla", "Sofie", "Ida",
         "Emma", "Freja", "Maja", "Jens", "Peter", "Lars", "Michael", "Henrik", "Søren",
         "Niels", "Mads", "Rasmus", "Jonas", "Oliver", "William", "Ahmad", "Fatima", "Ali",
         "Olga", "Piotr", "Aisha")
LAST = ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen",
        "Sørensen", "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen",
        "Thomsen", "Poulsen", "Johansen", "Møller", "Mortensen", "Hussein", "Kowalski")
# How common each errand is at a Danish Borgerservice counter (relative weights).
WEIGHTS = {"passport_adult": 22, "passport_child": 10, "driving_licence_renewal": 12,
           "driving_licence_exchange": 4, "driving_licence_first": 6, "health_card": 10,
           "ehic_card": 3, "mitid": 14, "change_of_address": 4, "name_change": 2,
           "pension": 3, "residence_documents": 4, "cpr_registration": 4,
           "digital_post_exemption": 3, "lost_passport": 3, "housing_benefit": 2}
NOTES = ("Husk gammelt pas.", "Begge forældre har underskrevet samtykke på forhånd.",
         "Borgeren taler engelsk.", "Har brug for tolk (arabisk) – bestilt.",
         "Kørekort udløbet for 3 uger siden.", "Ønsker også at høre om Digital Post.",
         "Borgeren er gangbesværet; kald personligt.", "Har fået lægeerklæring.")
CITIZEN_NOTES = ("Jeg har mistet mit gamle pas.", "Kan jeg også få nyt sundhedskort?",
                 "Jeg kommer med min datter.", "", "", "")
REFERRALS = ("Udbetaling Danmark", "Familieretshuset", "SIRI", "Politiet",
             "Skattestyrelsen")


@dataclass
class DemoSummary:
    days: dict[str, int]
    today_walkins: int


def sim_counters(counters: list[CounterRow]) -> list[CounterRow]:
    """The counters the simulated staff keep: all but Skranke 1 (yours). The booking
    capacity is one counter short of the site's (server.toml), so with Skranke 1 closed the
    staffed counters just carry the bookings and walk-ins are served in the gaps that empty
    slots, no-shows and early finishes leave."""
    return counters[1:] if len(counters) > 1 else counters


def sim_person(number: int) -> str:
    return f"sim{number}"


def _cpr(rng: random.Random) -> str | None:
    if rng.random() < 0.35:
        return None
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
    yy = birth.year % 100
    # the 7th digit tells the century: 0–3 for 1900–1999, 4–9 for 2000–2036
    digit7 = rng.choice((4, 5, 6, 7, 8, 9) if birth.year >= 2000 else (0, 1, 2, 3))
    return f"{birth:%d%m}{yy:02d}{digit7}{rng.randrange(0, 1000):03d}"


def _phone(rng: random.Random) -> str:
    return f"+45 {rng.randrange(20, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} " \
           f"{rng.randrange(10, 99)}"


def _errand(rng: random.Random, ctx: AppContext) -> str:
    codes = [c for c in WEIGHTS if c in ctx.catalogue.by_code] or list(ctx.catalogue.by_code)
    return rng.choices(codes, weights=[WEIGHTS.get(c, 1) for c in codes])[0]


def generate(ctx: AppContext, seed: int = 1, *, site_id: str | None = None,
             now: datetime | None = None, reset: bool = True) -> DemoSummary:
    rng = random.Random(seed)
    site = ctx.site(site_id or ctx.settings.sites[0].id)
    now = now or ctx.clock.now()
    today = ctx.today(site, now)
    days = site.open_days(today, 4)
    summary = DemoSummary(days={}, today_walkins=0)
    with ctx.db.write(timeout=60) as s:
        if reset:
            ids = select(VisitRow.id).where(VisitRow.site_id == site.id, VisitRow.day >= today)
            s.execute(delete(NoteRow).where(NoteRow.visit_id.in_(ids)))
            s.execute(delete(VisitRow).where(VisitRow.site_id == site.id,
                                             VisitRow.day >= today))
        counters = repo.counters(s, site.id)
        for day in days:
            rows = _book_day(ctx, s, rng, site, day, now)
            if day == today:
                rows += _walkins(ctx, s, rng, site, day, now, len(rows))
                summary.today_walkins = sum(1 for r in rows if r.kind == "walkin")
                _play_out(ctx, s, rng, site, rows, counters, now)
            summary.days[day.isoformat()] = len(rows)
    return summary


def _base(ctx: AppContext, rng: random.Random, site: SiteConfig, day: date, kind: str,
          seq: int, errand_code: str, now: datetime) -> VisitRow:
    errand = ctx.catalogue.by_code[errand_code]
    cpr = _cpr(rng)
    return VisitRow(
        site_id=site.id, day=day, kind=kind, ticket=f"{'B' if kind == 'booked' else 'C'}"
        f"{seq:03d}", ticket_seq=seq, state="booked" if kind == "booked" else "waiting",
        errand=errand.code, expected_minutes=errand.minutes, priority=0,
        citizen_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", cpr=cpr,
        cpr_ref=cprlib.keyed_hash(cpr, ctx.hmac_key) if cpr else None, phone=_phone(rng),
        documents={d.code: "unknown" for d in errand.documents}, call_count=0,
        created_at=now, updated_at=now, version=1)


def _book_day(ctx, s, rng, site: SiteConfig, day: date, now: datetime) -> list[VisitRow]:
    windows = site.windows(day)
    grid = calendar.slot_grid(windows, site.slot_minutes)
    capacity = len(grid) * site.booking_capacity
    target = capacity * rng.uniform(0.70, 0.90)
    booked: list[tuple[datetime, int]] = []
    rows: list[VisitRow] = []
    used = 0
    attempts = 0
    while used < target and attempts < 5000:
        attempts += 1
        code = _errand(rng, ctx)
        minutes = ctx.catalogue.by_code[code].minutes
        free = calendar.free_times(windows, site.slot_minutes, site.booking_capacity, booked,
                                   minutes)
        if not free:
            continue
        start = rng.choice(free)
        booked.append((start, minutes))
        used += calendar.slots_needed(minutes, site.slot_minutes)
        rows.append(_new_booking(ctx, rng, site, day, start, code, now))
    rows.sort(key=lambda r: (r.slot_start, r.id or 0))
    for i, r in enumerate(rows, start=1):
        r.ticket, r.ticket_seq = f"B{i:03d}", i
        s.add(r)
    s.flush()
    for r in rows:
        if r.prepared_notes and rng.random() < 0.5:
            s.add(NoteRow(visit_id=r.id, author="reception", text=r.prepared_notes,
                          created_at=now, occurred_at=None))
    return rows


def _new_booking(ctx, rng, site, day, start, code, now) -> VisitRow:
    r = _base(ctx, rng, site, day, "booked", 0, code, now)
    r.slot_start = start
    r.booking_ref = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    note = rng.choice(CITIZEN_NOTES)
    r.citizen_note = note or None
    if rng.random() < 0.3:  # called ahead by reception
        r.precall = {"at": (now - timedelta(days=rng.randrange(1, 4))).isoformat(),
                     "by": "reception", "result": "needs_visit",
                     "note": "Ringet op; husk dokumenterne."}
        r.prepared_notes = rng.choice(NOTES)
    return r


def _walkins(ctx, s, rng, site, day, now, booked: int) -> list[VisitRow]:
    """Walk-ins through today: a quarter of the day's visits, arriving from opening to now."""
    windows = site.windows(day)
    opening, closing = windows[0][0], windows[-1][1]
    until = min(now, closing)
    if until <= opening:
        return []
    share = (until - opening) / (closing - opening)
    count = int(booked * 0.3 * share) + 3
    rows = []
    for i in range(1, count + 1):
        r = _base(ctx, rng, site, day, "walkin", i, _errand(rng, ctx), now)
        r.arrived_at = opening + (until - opening) * rng.random()
        rows.append(r)
    rows.sort(key=lambda r: r.arrived_at)
    for i, r in enumerate(rows, start=1):
        r.ticket, r.ticket_seq = f"C{i:03d}", i
        s.add(r)
    s.flush()
    return rows


def _outcome(rng: random.Random) -> dict[str, Any]:
    x = rng.random()
    if x < 0.17:
        return {"outcome": "missing_documents"}
    if x < 0.22:
        return {"outcome": "referred", "referred_to": rng.choice(REFERRALS)}
    if x < 0.25:
        return {"outcome": "self_service"}
    return {"outcome": "served"}


def _play_out(ctx, s, rng, site: SiteConfig, rows: list[VisitRow], counters: list[CounterRow],
              now: datetime) -> None:
    """Today's past as it happened: arrivals, no-shows, visits served at the counters."""
    staffed = sim_counters(counters)
    busy_until = {c.id: site.windows(rows[0].day)[0][0] for c in staffed}
    for c in staffed:
        c.state, c.staffed_by = "open", sim_person(c.number)
        c.version += 1
    for r in rows:
        if r.kind == "booked":
            if rng.random() < 0.075:  # no-show: never arrives
                if r.slot_start + site.rules.grace <= now:
                    r.state, r.left_reason, r.finished_at = "no_show", "not_arrived", \
                        r.slot_start + site.rules.grace
                continue
            arrival = r.slot_start + timedelta(minutes=rng.gauss(-2, 4))
            if arrival > now:
                continue
            r.arrived_at, r.state = arrival, "waiting"
    waiting = sorted((r for r in rows if r.state == "waiting"),
                     key=lambda r: r.slot_start or r.arrived_at)
    for r in waiting:
        ready = max(r.arrived_at, r.slot_start - timedelta(minutes=2)) if r.slot_start \
            else r.arrived_at
        cid = min(busy_until, key=busy_until.get)
        start = max(ready, busy_until[cid]) + timedelta(minutes=rng.uniform(0.3, 1.5))
        minutes = max(2.0, rng.gauss(r.expected_minutes, r.expected_minutes * 0.3))
        end = start + timedelta(minutes=minutes)
        if start > now or (r.kind == "walkin" and r.arrived_at > now - timedelta(minutes=15)):
            continue
        r.counter_id, r.called_at, r.last_called_at, r.call_count = cid, start, start, 1
        r.started_at = start + timedelta(minutes=rng.uniform(0.3, 1.0))
        busy_until[cid] = end
        if end <= now:
            r.state, r.finished_at = "done", end
            for k, v in _outcome(rng).items():
                setattr(r, k, v)
            docs = dict(r.documents)
            for k in docs:
                docs[k] = "present"
            if r.outcome == "missing_documents" and docs:
                docs[rng.choice(sorted(docs))] = "missing"
            r.documents = docs
        else:
            r.state = "serving"
        r.version += 3
    # counters left holding more than one (two serving at once) would break a rule: fix
    seen: set[int] = set()
    for r in sorted((r for r in rows if r.state == "serving"), key=lambda r: r.started_at,
                    reverse=True):
        if r.counter_id in seen:
            r.state, r.finished_at, r.outcome = "done", now, "served"
        seen.add(r.counter_id)
