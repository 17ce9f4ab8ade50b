"""The hindsight optimum (issue 21): the one-counter DP and the MILP agree, and no policy that
keeps every booked citizen's start serves more walk-ins than the optimum on any day."""

from __future__ import annotations

from datetime import time

from backend.sim import engine, hindsight, params, world

BOOKING = engine.Policy("booking", "booking")


def small(counters: int, **kw) -> params.Params:
    return params.default().with_(counters=counters, booking_capacity=counters, open=time(9),
                                  close=time(12), **kw)


def test_dp_and_milp_agree_on_small_days():
    p = small(1, walkins_per_hour_per_counter=3.0)
    sizes = []
    for day in range(25):
        w = world.make(p, 21, day)
        base = engine.run_day(w, BOOKING, p)
        inst = hindsight.instance(w, base, 60)
        dp = hindsight.solve_dp(inst)
        milp = hindsight.solve_milp(inst, time_limit=30)
        assert dp is not None and milp.gap == 0
        assert dp.served == milp.served, day
        sizes.append(dp.served)
    assert max(sizes) >= 3 and len(set(sizes)) > 1  # the days are not all trivial


def test_the_optimum_bounds_every_policy_that_delays_nobody():
    pols = [engine.Policy("naive", "naive")] + [
        engine.Policy(f"q{q} p{m}", "planner", q, m) for q in (0.0, 0.8, 0.9) for m in (0, 20)]
    checked = 0
    for counters in (1, 3):
        p = small(counters)
        for day in range(12):
            w = world.make(p, 31, day)
            base = engine.run_day(w, BOOKING, p)
            best = hindsight.optimum(w, base, 60, time_limit=30)
            assert best.gap == 0
            for pol in pols:
                r = engine.run_day(w, pol, p)
                if all(r.booked_start[i] <= t for i, t in base.booked_start.items()):
                    checked += 1
                    assert r.walkins_served <= best.served, (counters, day, pol.name)
    assert checked > 20
