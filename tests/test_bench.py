"""The load benchmark's own rules (bench/backend_load.py): its day is the same at any hour."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import backend_load  # noqa: E402


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)))
def test_the_bench_day_starts_at_ten_whatever_the_hour(naive):
    at = naive.replace(tzinfo=UTC)
    local = at.astimezone(ZoneInfo(backend_load.bench_zone(at)))
    assert local.hour == 10
    # the five hours of bookings ahead fit before the bench site's closing at 23:55
    assert (local + timedelta(hours=5, minutes=5)).date() == local.date()


def test_the_verdict_names_each_target_met_or_not(capsys):
    backend_load.verdict(200, 10.4, 23.2, 0)
    line = capsys.readouterr().out
    assert "call next p99 10.4 ms (<= 25: met)" in line
    assert "event p99 23.2 ms (<= 50: met)" in line
    assert "double calls or counters holding two 0 (met)" in line
    backend_load.verdict(200, 54.0, float("nan"), 1)
    line = capsys.readouterr().out
    assert "call next p99 54.0 ms (<= 25: NOT met)" in line
    assert "event p99 nan ms (<= 50: NOT met)" in line  # no events at all is no pass
    assert "double calls or counters holding two 1 (NOT met)" in line
