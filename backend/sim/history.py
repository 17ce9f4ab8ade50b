"""Parameters measured from the anonymised visit facts a running backend keeps (errand, kind,
state, outcome, times, counter; never names or CPR numbers), so a municipality simulates
its own centre: `skranke-server simulate --from-history DAYS`.

Measured: opening hours (the last day's), counters (those that served, mean per day), slot
length, booking capacity and fill, grace (the site's settings), the errand mix, each errand's
service minutes (mean and coefficient of variation of full visits), the share of visits
ending short (missing documents, referred) and how long those take against full ones, the
no-show rate, booked citizens' arrival against their slot (mean, standard deviation), and
walk-ins by hour. The staff hour's cost is the site's `staff_hour_dkk` when it sets one.
Kept from the parameters file: the staff hour's cost (when the site sets none), walk-in
patience, the planner's settings, the dispersion of walk-in arrivals.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import mean, pstdev

from .params import Errand, Params

SHORT = ("missing_documents", "referred")


@dataclass(frozen=True, slots=True)
class Fact:
    """One visit's anonymised facts."""

    day: date
    kind: str
    state: str
    errand: str
    expected_minutes: int
    outcome: str | None
    counter_id: int | None
    slot_start: datetime | None
    arrived_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


def _min(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds() / 60


def measure_facts(facts: list[Fact], base: Params, *, opening: tuple[time, time],
                  opening_minutes: dict[date, float], slot_minutes: int, capacity: int,
                  grace_minutes: int, tz, source: str) -> Params:
    """Pure: the parameters these facts show (the module's list); `base` for the rest."""
    live = [f for f in facts if f.state != "cancelled"]
    if not live:
        raise ValueError("no recorded visits in those days")
    days = sorted({f.day for f in live})
    booked = [f for f in live if f.kind == "booked"]
    settled = [f for f in booked if f.state != "booked"]  # their day has decided
    no_show = (sum(f.state == "no_show" for f in settled) / len(settled)) if settled \
        else base.no_show
    offsets = [m for f in booked if (m := _min(f.slot_start, f.arrived_at)) is not None]
    finished = [f for f in live if f.state == "done"]
    full: dict[str, list[float]] = defaultdict(list)
    short: list[float] = []
    full_rel: list[float] = []
    for f in finished:
        m = _min(f.started_at, f.finished_at)
        if m is None or m <= 0:
            continue
        if f.outcome in SHORT:
            short.append(m / f.expected_minutes)
        else:
            full[f.errand].append(m)
            full_rel.append(m / f.expected_minutes)
    short_share = len(short) / (len(short) + len(full_rel)) if short or full_rel \
        else base.short_share
    short_factor = (mean(short) / mean(full_rel)) if short and full_rel else base.short_factor
    mix = Tally(f.errand for f in live)
    expected = {f.errand: f.expected_minutes for f in live}
    errands = []
    for code, n in sorted(mix.items()):
        xs = full.get(code, [])
        m = mean(xs) if xs else float(expected[code])
        cv = pstdev(xs) / m if len(xs) >= 2 and m > 0 else 0.5
        errands.append(Errand(code, n / len(live), expected[code], m, cv))
    open_total = sum(opening_minutes.get(d, 0.0) for d in days)
    booked_minutes = sum(-(-f.expected_minutes // slot_minutes) * slot_minutes for f in booked)
    fill = booked_minutes / (capacity * open_total) if capacity and open_total else 0.0
    served_by = defaultdict(set)
    for f in live:
        if f.counter_id is not None and f.started_at is not None:
            served_by[f.day].add(f.counter_id)
    counters = round(mean(len(served_by[d]) for d in days)) if served_by else base.counters
    counters = max(1, counters)
    walkins = [f for f in live if f.kind == "walkin" and f.arrived_at is not None]
    per_hour = Tally(f.arrived_at.astimezone(tz).hour for f in walkins)
    open_hours = open_total / 60
    rate = len(walkins) / open_hours / counters if open_hours else 0.0
    hours = range(opening[0].hour, opening[1].hour + (1 if opening[1].minute else 0))
    avg = len(walkins) / len(hours) if hours and walkins else 0.0
    by_hour = {h: per_hour.get(h, 0) / avg for h in hours} if avg else {}
    return base.with_(
        counters=counters, open=opening[0], close=opening[1], slot_minutes=slot_minutes,
        booking_capacity=min(capacity, counters), booking_fill=min(0.99, fill),
        grace_minutes=grace_minutes, errands=tuple(errands), no_show=no_show,
        arrival_mean=mean(offsets) if offsets else base.arrival_mean,
        arrival_sd=pstdev(offsets) if len(offsets) >= 2 else base.arrival_sd,
        short_share=short_share, short_factor=short_factor,
        walkins_per_hour_per_counter=rate, by_hour=by_hour, source=source)


def measure(ctx, base: Params, days: int, site_id: str | None = None,
            today: date | None = None) -> Params:
    """The parameters of `site_id`'s last `days` days up to today, from its database."""
    from sqlalchemy import select

    from ..storage.models import VisitRow

    site = ctx.site(site_id or ctx.settings.sites[0].id)
    today = today or ctx.today(site, ctx.clock.now())
    first = today - timedelta(days=days - 1)
    cols = (VisitRow.day, VisitRow.kind, VisitRow.state, VisitRow.errand,
            VisitRow.expected_minutes, VisitRow.outcome, VisitRow.counter_id,
            VisitRow.slot_start, VisitRow.arrived_at, VisitRow.started_at, VisitRow.finished_at)
    with ctx.db.read() as s:
        rows = s.execute(select(*cols).where(VisitRow.site_id == site.id,
                                             VisitRow.day >= first, VisitRow.day <= today))
        facts = [Fact(*r) for r in rows]
    recorded = sorted({f.day for f in facts})
    if not recorded:
        raise ValueError(f"site {site.id} has no recorded visits from {first} to {today}")
    windows = site.windows(recorded[-1]) or [(datetime.combine(recorded[-1], base.open),
                                              datetime.combine(recorded[-1], base.close))]
    opening = (windows[0][0].timetz().replace(tzinfo=None),
               windows[-1][1].timetz().replace(tzinfo=None))
    minutes = {d: sum((b - a).total_seconds() / 60 for a, b in site.windows(d))
               for d in recorded}
    if site.staff_hour_dkk:
        base = base.with_(staff_hour_dkk=site.staff_hour_dkk)
    return measure_facts(facts, base, opening=opening, opening_minutes=minutes,
                         slot_minutes=site.slot_minutes, capacity=site.booking_capacity,
                         grace_minutes=site.rules.grace_minutes, tz=site.tz,
                         source=f"history {site.id} {recorded[0]}–{recorded[-1]}")
