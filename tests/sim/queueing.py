"""Queueing theory the simulator is checked against, and the statistics of a long run."""

from __future__ import annotations

import math

import numpy as np

from backend.sim import params
from backend.sim.params import Errand

#: Student's t, two-sided 99 %, for 29 degrees of freedom (30 batches).
T99_29 = 2.756


def queue_params(c: int, rho: float, hours: float, *, dist: str = "exponential",
                 cv: float = 1.0, mean: float = 10.0) -> params.Params:
    """No bookings, Poisson walk-ins at load rho per counter, patience off: M/G/c."""
    return params.Params(counters=c, bookings=False, errands=(Errand("e", 1.0, int(mean), mean,
                                                                      cv),),
                         service_dist=dist, short_share=0.0, open_hours=hours, by_hour={},
                         dispersion=0.0, patience_mean=0.0,
                         walkins_per_hour_per_counter=rho * 60 / mean)


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c."""
    a = lam / mu
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def pk_wait(lam: float, mean: float, cv: float) -> float:
    """Pollaczek–Khinchine: mean wait in queue of M/G/1."""
    rho = lam * mean
    return lam * mean * mean * (1 + cv * cv) / (2 * (1 - rho))


def batch_ci(values: np.ndarray, batches: int = 30) -> tuple[float, float]:
    """Mean and 99 % half-width by batch means (consecutive customers in each batch)."""
    xs = np.array_split(values, batches)
    means = np.array([x.mean() for x in xs])
    return float(means.mean()), T99_29 * float(means.std(ddof=1)) / math.sqrt(batches)


def steady_waits(result, warmup: float, end: float) -> np.ndarray:
    """Waits (minutes) of walk-ins that arrived between warm-up and end, in arrival order."""
    spans = sorted((a, s) for a, s, _, walkin in result.spans if walkin and warmup <= a < end)
    return np.array([(s - a) / 60 for a, s in spans])
