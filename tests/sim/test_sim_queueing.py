"""The simulator against queueing theory (issue 21): bookings off, Poisson walk-ins, patience
off, long horizons with a warm-up, 99 % batch-means intervals, fixed seeds.

The walk-ins are called by the server's own choose_next (with no bookings the planner
takes them first come, first served), so these check the engine and the domain together."""

from __future__ import annotations

import numpy as np
import pytest

from backend.sim import engine, world

from .queueing import batch_ci, erlang_c_wait, pk_wait, queue_params, steady_waits

FIFO = engine.Policy("fifo", "planner", 0.0, 0)
CUSTOMERS = 30_000
WARMUP = 200  # minutes cut at each end


def _run(c: int, rho: float, mean: float, seed: int, **kw):
    hours = CUSTOMERS * mean / 60 / (rho * c)
    p = queue_params(c, rho, hours, mean=mean, **kw)
    res = engine.run_day(world.make(p, seed, 0), FIFO, p)
    return p, res, steady_waits(res, WARMUP * 60, hours * 3600 - WARMUP * 60)


@pytest.mark.parametrize(("c", "rho", "seed"), [(1, 0.5, 11), (3, 0.7, 11), (6, 0.8, 11)])
def test_mmc_waits_match_erlang_c(c, rho, seed):
    mean = 10.0
    _, res, waits = _run(c, rho, mean, seed)
    got, half = batch_ci(waits)
    want = erlang_c_wait(c, rho * c / mean, 1 / mean)
    assert abs(got - want) <= half, (got, half, want)
    assert res.walkins_left <= c * 10  # only those still waiting at the very end


def test_mg1_lognormal_waits_match_pollaczek_khinchine():
    mean, cv, rho = 8.0, 0.5, 0.5
    _, _, waits = _run(1, rho, mean, 12, dist="lognormal", cv=cv)
    got, half = batch_ci(waits)
    want = pk_wait(rho / mean, mean, cv)
    assert abs(got - want) <= half, (got, half, want)


def test_littles_law():
    p, res, _ = _run(3, 0.7, 10.0, 13)
    lo, hi = WARMUP * 60.0, p.open_minutes * 60 - WARMUP * 60.0
    spans = [(a, e) for a, _, e, walkin in res.spans if walkin]
    inside = [(a, e) for a, e in spans if lo <= a < hi]
    lam = len(inside) / (hi - lo)
    w = np.mean([e - a for a, e in inside])
    area = sum(max(0.0, min(e, hi) - max(a, lo)) for a, e in spans)
    L = area / (hi - lo)
    assert abs(L - lam * w) / L < 0.02, (L, lam * w)
