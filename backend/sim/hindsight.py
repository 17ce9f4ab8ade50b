"""The hindsight optimum of a day: with every no-show, arrival and service time known, the
most walk-ins that could have been served adding no delay to any booked citizen against the
same day without walk-ins.

The booked citizens keep the starts and ends they had in the booking-only run; call next
pools the counters, so walk-ins may use any counter as long as at every moment at most
`counters` citizens are served (intervals on identical counters can always be given
counters when they never overlap more than that). A walk-in starts no earlier than it
arrives, before its patience runs out and before closing (as in the simulated days), and
may finish after closing.

Time is a grid of `grid_seconds`, rounded in the optimum's favour (arrival and start down,
a walk-in's length down, a booked service inwards), so the optimum is an upper bound that
no policy keeping every booked citizen's start can beat. Solved by exact dynamic
programming over the sets of walk-ins served for one counter, and by a MILP with HiGHS for
several (with a time limit; its gap is reported).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from .engine import DayResult
from .world import World

#: States the one-counter DP may visit before it hands the day to the MILP.
DP_STATES = 2_000_000


@dataclass(frozen=True, slots=True)
class Optimum:
    served: int
    bound: float  # the best upper bound (== served when proven optimal)
    method: str  # dp | milp
    gap: float  # relative gap (0 when optimal)
    seconds: float = 0.0
    #: the walk-ins served (their index in the day's world; the MILP's solution only)
    chosen: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Instance:
    cap: np.ndarray  # free counters in each grid unit
    release: list[int]
    deadline: list[int]  # latest start unit
    length: list[int]  # units


def instance(world: World, baseline: DayResult, grid: float) -> Instance:
    """The day as the optimum sees it (see the module's rounding)."""
    C = baseline.counters
    ends = [e for _, _, e, _ in baseline.spans] + [world.length]
    longest = max((x.service for x in world.walkins), default=0.0)
    n_units = int(math.ceil((max(ends) + longest) / grid)) + 2
    busy = np.zeros(n_units + 1, int)
    for _, s, e, walkin in baseline.spans:
        if walkin:
            continue
        a, b = math.ceil(s / grid - 1e-9), math.floor(e / grid + 1e-9)
        if b > a:
            busy[a] += 1
            busy[b] -= 1
    cap = C - np.cumsum(busy)[:n_units]
    close = world.length / grid
    release, deadline, length = [], [], []
    for x in world.walkins:
        release.append(math.floor(x.arrival / grid + 1e-9))
        last = min(x.arrival + x.patience, world.length)
        deadline.append(min(math.floor(last / grid + 1e-9), math.ceil(close) - 1))
        length.append(math.floor(x.service / grid + 1e-9))
    return Instance(cap, release, deadline, length)


def _earliest(inst: Instance, j: int) -> np.ndarray:
    """For walk-in j: the earliest feasible start unit >= t, for t in its window (-1: none)."""
    r, d, p, cap = inst.release[j], inst.deadline[j], inst.length[j], inst.cap
    out = np.full(max(0, d - r + 1), -1, int)
    nxt = -1
    for s in range(d, r - 1, -1):
        if p == 0 or bool(np.all(cap[s:s + p] >= 1)):
            nxt = s
        out[s - r] = nxt
    return out


def solve_dp(inst: Instance, max_states: int = DP_STATES) -> Optimum | None:
    """One counter: the earliest the counter can be free having served exactly a set S is
    all that matters (being free earlier never hurts), so layer by layer over |S|."""
    n = len(inst.release)
    first = [_earliest(inst, j) for j in range(n)]
    layer = {0: 0}
    best, seen = 0, 1
    while layer:
        nxt: dict[int, int] = {}
        for mask, t in layer.items():
            for j in range(n):
                if mask >> j & 1 or t > inst.deadline[j]:
                    continue
                s = first[j][max(t, inst.release[j]) - inst.release[j]]
                if s < 0:
                    continue
                m2, f = mask | 1 << j, s + inst.length[j]
                if nxt.get(m2, 1 << 60) > f:
                    nxt[m2] = f
        seen += len(nxt)
        if seen > max_states:
            return None
        if nxt:
            best += 1
        layer = nxt
    return Optimum(best, best, "dp", 0.0)


_banner_shown = False


def _highs():
    """A HiGHS solver; the banner it prints on the first one in a process goes nowhere."""
    global _banner_shown
    import highspy

    if _banner_shown:
        return highspy.Highs()
    _banner_shown = True
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def solve_milp(inst: Instance, time_limit: float = 10.0) -> Optimum:
    """x[w, s] = walk-in w starts in unit s; at most once each; per unit, the walk-ins in
    service at most the free counters."""
    import highspy

    col_start, rows, col_walkin = [0], [], []
    n = len(inst.release)
    cap = inst.cap
    n_units = len(cap)
    for j in range(n):
        p = inst.length[j]
        for s in range(inst.release[j], inst.deadline[j] + 1):
            if p and not bool(np.all(cap[s:s + p] >= 1)):
                continue
            rows.append(j)
            rows.extend(n + u for u in range(s, s + p))
            col_start.append(len(rows))
            col_walkin.append(j)
    n_cols = len(col_start) - 1
    if n_cols == 0:
        return Optimum(0, 0.0, "milp", 0.0)
    h = _highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n + n_units
    lp.col_cost_ = np.ones(n_cols)
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = np.ones(n_cols)
    lp.row_lower_ = np.full(n + n_units, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.ones(n), np.maximum(cap, 0).astype(float)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(col_start, np.int32)
    lp.a_matrix_.index_ = np.array(rows, np.int32)
    lp.a_matrix_.value_ = np.ones(len(rows))
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    served = int(round(info.objective_function_value))
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = float(served)
    gap = max(0.0, (bound - served) / bound) if bound > 0 else 0.0
    x = h.getSolution().col_value
    chosen = tuple(sorted(col_walkin[c] for c in range(n_cols) if x[c] > 0.5))
    return Optimum(served, max(bound, served), "milp", gap, chosen=chosen)


def optimum(world: World, baseline: DayResult, grid: float = 60.0,
            time_limit: float = 10.0) -> Optimum:
    """The day's optimum: the DP for one counter (the MILP if it grows too big), else the MILP."""
    import time

    t = time.perf_counter()
    inst = instance(world, baseline, grid)
    res = solve_dp(inst) if baseline.counters == 1 else None
    if res is None:
        res = solve_milp(inst, time_limit)
    return Optimum(res.served, res.bound, res.method, res.gap, time.perf_counter() - t,
                   res.chosen)
