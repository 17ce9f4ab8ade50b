"""The simulated days' draws match their parameters (issue 21): no-shows, arrival against
the slot, short visits, lognormal service times (cv 0.5), booking fill, walk-ins per day,
Poisson or over-dispersed. 300 days of the shipped parameters (fixed seed); tolerances of
about 3 standard errors."""

from __future__ import annotations

import math
from statistics import mean, pstdev, pvariance

import pytest

from backend.domain.calendar import slots_needed
from backend.sim import params, world

DAYS = 300


@pytest.fixture(scope="module")
def p():
    return params.default()


@pytest.fixture(scope="module")
def days(p):
    return [world.make(p, 21, i) for i in range(DAYS)]


def test_booked_citizens_no_shows_arrivals_and_short_visits(p, days):
    booked = [b for w in days for b in w.booked]
    n = len(booked)
    no_show = sum(b.no_show for b in booked) / n
    assert abs(no_show - p.no_show) < 3 * math.sqrt(p.no_show * (1 - p.no_show) / n)
    offsets = [(b.arrival - b.slot) / 60 for b in booked]
    assert abs(mean(offsets) - p.arrival_mean) < 3 * p.arrival_sd / math.sqrt(n)
    assert abs(pstdev(offsets) - p.arrival_sd) < 0.05 * p.arrival_sd
    short = sum(b.short for b in booked) / n
    assert abs(short - p.short_share) < 3 * math.sqrt(p.short_share * (1 - p.short_share) / n)


def test_service_times_are_lognormal_with_the_errands_mean_and_cv(p, days):
    for e in p.errands:
        full = [x.service / 60 for w in days for x in (*w.booked, *w.walkins)
                if x.errand == e.code and not x.short]
        m, cv = mean(full), pstdev(full) / mean(full)
        assert abs(m - e.mean) < 3 * e.mean * e.cv / math.sqrt(len(full)) + 0.01, e.code
        assert abs(cv - e.cv) < 0.06, e.code
        shorts = [x.service / 60 for w in days for x in w.booked
                  if x.errand == e.code and x.short]
        # a short visit is short_factor of a full one (never under 30 seconds)
        assert abs(mean(shorts) / e.mean - p.short_factor) < 0.05, e.code


def test_bookings_fill_the_calendar_as_asked(p, days):
    lanes = p.booking_capacity * int(p.open_minutes // p.slot_minutes)
    minutes = {e.code: e.minutes for e in p.errands}
    fill = mean(sum(slots_needed(minutes[b.errand], p.slot_minutes) for b in w.booked) / lanes
                for w in days)
    assert abs(fill - p.booking_fill) < 0.02


def test_walkins_per_day_poisson_and_over_dispersed(p, days):
    expected = p.walkins_per_hour_per_counter * p.counters * p.open_minutes / 60
    counts = [len(w.walkins) for w in days]
    assert abs(mean(counts) - expected) < 3 * math.sqrt(expected / DAYS)
    # Poisson: variance / mean about 1 (its standard error about sqrt(2 / days))
    assert abs(pvariance(counts) / mean(counts) - 1) < 3 * math.sqrt(2 / DAYS)
    # a gamma-mixed rate per hour (negative binomial counts): the same mean, far more spread
    d = 0.5
    q = p.with_(dispersion=d)
    mixed = [len(world.make(q, 21, i).walkins) for i in range(DAYS)]
    hours = len(p.hour_rates())
    per_hour = expected / hours
    ratio = pvariance(mixed) / mean(mixed)  # expected 1 + per_hour * d
    assert abs(mean(mixed) - expected) < 3 * math.sqrt(expected * (1 + per_hour * d) / DAYS)
    assert 0.6 * (1 + per_hour * d) < ratio < 1.5 * (1 + per_hour * d)
