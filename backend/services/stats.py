"""The day's (or a date range's) statistics, from the anonymised facts of each visit:
kind, errand, state, outcome, times and counter — never names or CPR numbers, so the
figures survive the purge of personal data.

Definitions (each figure says what it counts):
- booked share: booked visits / (booked + walk-in visits), cancelled ones left out;
  the goal is 70 %;
- no-show rate: no-shows / booked visits not cancelled;
- missing-document and referred rates: those outcomes / finished visits;
- waiting: booked citizens from their slot (or their arrival, if later) to the call;
  walk-ins from arrival to the call; mean and 90th percentile in minutes;
- service minutes: start to finish, mean per errand, against the errand's expected minutes;
- utilisation per counter: minutes in service / opening minutes of the days it served;
  idle minutes are the rest;
- idle counter minutes: the counters' idle minutes together (the counters that served that
  day, over its whole opening hours), per open day, and their value in DKK at the site's
  `staff_hour_dkk` (None when the site has not set it): staff time paid for in which nobody
  was served, the time a chance queue of walk-ins could fill;
- pre-calls: visits called ahead, by result.
"""

from __future__ import annotations

import csv
import io
from collections import Counter as Tally
from collections import defaultdict
from datetime import date, datetime
from statistics import mean
from typing import Any

from sqlalchemy import select

from ..storage import repo
from ..storage.models import VisitRow

TARGET_BOOKED_SHARE = 0.70


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() / 60


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def summarise(rows: list[VisitRow], counters: dict[int, str], opening_minutes: dict[date, float],
              tz, staff_hour_dkk: float = 0.0) -> dict[str, Any]:
    """Pure: the figures of these visits (see the module's definitions)."""
    live = [r for r in rows if r.state != "cancelled"]
    booked = [r for r in live if r.kind == "booked"]
    walkins = [r for r in live if r.kind == "walkin"]
    finished = [r for r in rows if r.state == "done"]
    outcomes = Tally(r.outcome for r in finished)
    wait_booked = [w for r in booked if r.called_at and (w := _minutes(
        max(r.slot_start, r.arrived_at) if r.arrived_at and r.slot_start else r.slot_start,
        r.called_at)) is not None]
    wait_walkin = [w for r in walkins if (w := _minutes(r.arrived_at, r.called_at)) is not None]
    service: dict[str, list[float]] = defaultdict(list)
    expected: dict[str, int] = {}
    busy: dict[int, float] = defaultdict(float)
    days_served: dict[int, set[date]] = defaultdict(set)
    for r in finished:
        m = _minutes(r.started_at, r.finished_at)
        if m is None:
            continue
        service[r.errand].append(m)
        expected[r.errand] = r.expected_minutes
        if r.counter_id is not None:
            busy[r.counter_id] += m
            days_served[r.counter_id].add(r.day)
    by_hour: dict[int, Tally] = defaultdict(Tally)
    for r in live:
        if r.arrived_at:
            by_hour[r.arrived_at.astimezone(tz).hour]["arrived"] += 1
        if r.called_at:
            by_hour[r.called_at.astimezone(tz).hour]["called"] += 1
    utilisation = []
    idle_total = 0.0
    for cid, minutes in sorted(busy.items(), key=lambda kv: counters.get(kv[0], "")):
        open_minutes = sum(opening_minutes.get(d, 0) for d in days_served[cid])
        idle_total += max(0.0, open_minutes - minutes)
        utilisation.append({"counter": counters.get(cid, str(cid)), "busy": _round(minutes),
                            "open": _round(open_minutes),
                            "utilisation": _round(100 * minutes / open_minutes)
                            if open_minutes else None,
                            "idle": _round(max(0.0, open_minutes - minutes))})
    precalls = Tally(r.precall.get("result") for r in rows if r.precall)
    open_days = len({d for served in days_served.values() for d in served})
    share = len(booked) / len(live) if live else None
    return {
        "visits": len(live), "booked": len(booked), "walkins": len(walkins),
        "cancelled": len(rows) - len(live),
        "booked_share": _round(100 * share) if share is not None else None,
        "booked_share_target": 100 * TARGET_BOOKED_SHARE,
        "by_outcome": dict(sorted(outcomes.items(), key=lambda kv: str(kv[0]))),
        "by_errand": dict(sorted(Tally(r.errand for r in live).items())),
        "no_show_rate": _round(100 * sum(r.state == "no_show" for r in booked) / len(booked))
        if booked else None,
        "missing_documents_rate": _round(100 * outcomes["missing_documents"] / len(finished))
        if finished else None,
        "referred_rate": _round(100 * outcomes["referred"] / len(finished))
        if finished else None,
        "waiting_booked": {"mean": _round(mean(wait_booked)) if wait_booked else None,
                           "p90": _round(_p90(wait_booked)), "n": len(wait_booked)},
        "waiting_walkin": {"mean": _round(mean(wait_walkin)) if wait_walkin else None,
                           "p90": _round(_p90(wait_walkin)), "n": len(wait_walkin)},
        "service": [{"errand": e, "n": len(v), "mean": _round(mean(v)),
                     "expected": expected[e]} for e, v in sorted(service.items())],
        "utilisation": utilisation,
        "idle": {"minutes": _round(idle_total),
                 "per_day": _round(idle_total / open_days) if open_days else None,
                 "dkk": round(idle_total / 60 * staff_hour_dkk) if staff_hour_dkk else None,
                 "staff_hour_dkk": staff_hour_dkk or None},
        "precalls": dict(sorted(precalls.items())),
        "by_hour": [{"hour": h, "arrived": t["arrived"], "called": t["called"]}
                    for h, t in sorted(by_hour.items())],
    }


def stats(session, ctx, site_id: str, start: date, end: date) -> dict[str, Any]:
    site = ctx.site(site_id)
    rows = list(session.scalars(select(VisitRow).where(
        VisitRow.site_id == site_id, VisitRow.day >= start, VisitRow.day <= end)))
    counters = {c.id: c.name for c in repo.counters(session, site_id)}
    opening = {d: sum((b - a).total_seconds() / 60 for a, b in site.windows(d))
               for d in {r.day for r in rows}}
    out = summarise(rows, counters, opening, site.tz, site.staff_hour_dkk)
    return {"site_id": site_id, "from": start.isoformat(), "to": end.isoformat(), **out}


def municipality(session, ctx, start: date, end: date) -> dict[str, Any]:
    """The figures of every site of the municipality, each as `stats` gives them, and of all
    of them together (`total`): the same definitions over all their visits, each counter's
    utilisation against its own site's opening hours ("site: Skranke 1"), arrivals and calls
    by hour in each site's own time."""
    sites = [stats(session, ctx, site.id, start, end) for site in ctx.settings.sites]
    rows = list(session.scalars(select(VisitRow).where(
        VisitRow.site_id.in_([site.id for site in ctx.settings.sites]),
        VisitRow.day >= start, VisitRow.day <= end)))
    total = summarise(rows, {}, {}, ctx.settings.sites[0].tz)
    total["utilisation"] = [{**u, "counter": f"{one['site_id']}: {u['counter']}"}
                            for one in sites for u in one["utilisation"]]
    total["idle"] = _idle_together([one["idle"] for one in sites])
    hours: dict[int, Tally] = defaultdict(Tally)
    for one in sites:
        for h in one["by_hour"]:
            hours[h["hour"]].update(arrived=h["arrived"], called=h["called"])
    total["by_hour"] = [{"hour": h, "arrived": t["arrived"], "called": t["called"]}
                        for h, t in sorted(hours.items())]
    return {"from": start.isoformat(), "to": end.isoformat(),
            "sites": [{"name": ctx.site(one["site_id"]).name, **one} for one in sites],
            "total": total}


def _idle_together(idle: list[dict[str, Any]]) -> dict[str, Any]:
    """The sites' idle counter minutes added up (per day: each site's per day, added); their
    value only over the sites that set a staff hour's cost."""
    def added(key):
        values = [one[key] for one in idle if one[key] is not None]
        return _round(sum(values)) if values else None
    return {"minutes": added("minutes") or 0.0, "per_day": added("per_day"),
            "dkk": added("dkk"), "staff_hour_dkk": None}


def _rows(figures: dict[str, Any]):
    """Each figure as (section, key, value)."""
    for key in ("visits", "booked", "walkins", "cancelled", "booked_share",
                "booked_share_target", "no_show_rate", "missing_documents_rate",
                "referred_rate"):
        yield "total", key, figures[key]
    for section in ("by_outcome", "by_errand", "precalls"):
        for k, v in figures[section].items():
            yield section, k, v
    for section in ("waiting_booked", "waiting_walkin"):
        for k, v in figures[section].items():
            yield section, k, v
    for s in figures["service"]:
        yield "service_mean", s["errand"], s["mean"]
        yield "service_expected", s["errand"], s["expected"]
    for u in figures["utilisation"]:
        yield "utilisation", u["counter"], u["utilisation"]
        yield "idle_minutes", u["counter"], u["idle"]
    for k, v in figures["idle"].items():
        yield "idle", k, v
    for h in figures["by_hour"]:
        yield "arrived_by_hour", h["hour"], h["arrived"]
        yield "called_by_hour", h["hour"], h["called"]


def to_csv(figures: dict[str, Any]) -> str:
    """One row per figure: section, key, value (the screen shows the same figures)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "value"])
    w.writerows(_rows(figures))
    return buf.getvalue()


def municipality_csv(figures: dict[str, Any]) -> str:
    """`municipality`'s figures as CSV: site, section, key, value; each site's rows, then
    those of all sites together (site `*`)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["site", "section", "key", "value"])
    for one in figures["sites"]:
        w.writerows((one["site_id"], *row) for row in _rows(one))
    w.writerows(("*", *row) for row in _rows(figures["total"]))
    return buf.getvalue()
