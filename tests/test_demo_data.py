"""The demo site keeps the municipalities' facts true."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from backend.demo import generate
from backend.domain import calendar
from backend.domain.cpr import normalise
from backend.storage.models import CounterRow, VisitRow

from .helpers import T0


def test_demo_day_facts(ctx):
    summary = generate(ctx, seed=5)
    site = ctx.settings.sites[0]
    assert len(summary.days) == 4
    with ctx.db.read() as s:
        rows = s.scalars(select(VisitRow)).all()
        counters = s.scalars(select(CounterRow)).all()
    by_day = Counter(r.day for r in rows)
    for day, n in by_day.items():
        booked = [(r.slot_start, r.expected_minutes) for r in rows
                  if r.day == day and r.kind == "booked"]
        grid = calendar.slot_grid(site.windows(day), site.slot_minutes)
        used = sum(calendar.occupancy(booked, site.slot_minutes).values())
        assert 0.70 <= used / (len(grid) * site.booking_capacity) <= 0.95
    today = [r for r in rows if r.day == T0.date()]
    booked_today = [r for r in today if r.kind == "booked"]
    arrived = [r for r in booked_today if r.arrived_at]
    early = [(r.slot_start - r.arrived_at).total_seconds() / 60 for r in arrived]
    assert 0.5 <= sum(early) / len(early) <= 3.5  # about 2 minutes early on average
    past = [r for r in booked_today if r.slot_start + timedelta(minutes=10) < T0]
    no_show = sum(r.state == "no_show" for r in past) / len(past)
    assert 0.02 <= no_show <= 0.15
    done = [r for r in today if r.state == "done"]
    missing = sum(r.outcome in ("missing_documents", "referred") for r in done) / len(done)
    assert 0.10 <= missing <= 0.35  # about 1 in 5
    assert any(r.kind == "walkin" for r in today)
    assert any(r.precall for r in rows) and any(r.prepared_notes for r in rows)
    for r in rows:
        if r.cpr:
            assert normalise(r.cpr) == r.cpr
    holders = Counter(r.counter_id for r in today if r.state in ("called", "serving"))
    assert all(n == 1 for n in holders.values())
    assert sum(c.state == "open" for c in counters) >= 2


def test_demo_is_reproducible(ctx):
    generate(ctx, seed=9)
    with ctx.db.read() as s:
        first = [(r.ticket, r.errand, r.citizen_name, r.state) for r in
                 s.scalars(select(VisitRow).order_by(VisitRow.day, VisitRow.ticket))]
    generate(ctx, seed=9)
    with ctx.db.read() as s:
        second = [(r.ticket, r.errand, r.citizen_name, r.state) for r in
                  s.scalars(select(VisitRow).order_by(VisitRow.day, VisitRow.ticket))]
    assert first == second
