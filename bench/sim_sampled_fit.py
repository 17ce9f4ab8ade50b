"""An experiment, not the server's planner: a fit test over sampled days instead of one
expected day. Does it move the planner off the trade-off curve its duration quantile draws?

At each decision the planner's model of the day (backend/domain/planner.py, unchanged) is
redrawn K times: every booked citizen's and walk-in's service time from the errand's
distribution (the simulation's parameters: what a site measures from its history), each
booked citizen not yet arrived either a no-show (with the chance that is left given that they
have not come yet) or arriving at an offset drawn after now, an arrived one callable at once
(as an idle counter calls an early citizen on the day without walk-ins), a visit in service
ending after the time it has already taken; the fit test is strict (no booked citizen starts
later than without the walk-in, in that draw). A walk-in is called when it fits in at least
NEED of the K draws. It patches `planner.pick_walkin` in this process only; the walk-ins
still come in the planner's order (passed-over limit off).

    .venv/bin/python bench/sim_sampled_fit.py [--days 6] [--seed 1] [--draws 8,7 ...]
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.domain import planner  # noqa: E402
from backend.domain.types import HOLDING_STATES, State  # noqa: E402
from backend.sim import engine, hindsight, metrics, params, study, world  # noqa: E402

P = params.default()
ERRANDS = {e.code: (e.mean, e.cv) for e in P.errands}
DRAWS = {"k": 8, "need": 8}
RNG = np.random.default_rng(0)


def service(errand: str, n: int) -> np.ndarray:
    m, cv = ERRANDS[errand]
    s2 = math.log(1 + cv * cv)
    x = RNG.lognormal(math.log(m) - s2 / 2, math.sqrt(s2), n) * 60
    return np.where(RNG.random(n) < P.short_share, x * P.short_factor, x)


def offset_after(minutes: float) -> float | None:
    """Arrival against the slot (minutes), given not arrived `minutes` after it; None: never."""
    mu, sd = P.arrival_mean, P.arrival_sd
    tail = 0.5 * (1 - math.erf((minutes - mu) / (sd * math.sqrt(2))))
    if RNG.random() < P.no_show / (P.no_show + (1 - P.no_show) * tail):
        return None
    for _ in range(100):
        x = RNG.normal(mu, sd)
        if x > minutes:
            return x
    return minutes + 0.5


def draw(m: planner.Model, day, now) -> planner.Model:
    s = copy.copy(m)
    rows = []
    for j in range(m.n):
        v, due, dur = m.visit[j], m.due[j], m.dur[j]
        if m.booked[j]:
            dur = float(service(v.errand, 1)[0])
            if v.state is State.BOOKED and v.counter_id is None:
                off = offset_after((now - v.slot_start).total_seconds() / 60)
                if off is None:
                    continue
                due = max(0.0, m.slot[j] + off * 60)
            elif v.counter_id is None:
                due = 0
        rows.append((due, m.key[j], v, m.booked[j], dur, m.mask[j], -planner.INF))
    rows.sort(key=lambda r: (r[0], r[1]))
    s.n = len(rows)
    s.due, s.key, s.visit, s.booked, s.dur, s.mask, s.slot = (
        [r[i] for r in rows] for i in range(7))
    s.free = list(m.free)
    for v in day.visits:
        if v.state in HOLDING_STATES and v.counter_id in m.index:
            spent = (now - (v.started_at or v.called_at or now)).total_seconds()
            d = service(v.errand, 20)
            d = d[d > spent]
            s.free[m.index[v.counter_id]] = float(d[0]) - spent if len(d) else 60.0
    return s


def pick(day, counter, now):
    m = planner.Model(day, now, asking=counter, horizon=planner.DECISION_HORIZON)
    k = m.index[counter.id]
    cands = [w for w in m.walkins if w.mask >> k & 1]
    if not cands:
        return None
    n, need = DRAWS["k"], DRAWS["need"]
    days = [draw(m, day, now) for _ in range(n)]
    sims = [planner._at_turn(d, k) for d in days]
    for w in cands[:6]:
        lengths = service(w.visit.errand, n)
        ok = 0
        for i, sim in enumerate(sims):
            ok += (not sim.booked) or planner.fits(sim, k, 0, float(lengths[i]))
            if ok >= need or ok + n - i - 1 < need:
                break
        if ok >= need:
            return w.visit
    return None


def _day(args: tuple) -> tuple[int, metrics.DayRecord, float]:
    global RNG
    seed, i, k, need = args
    planner.pick_walkin = pick
    DRAWS.update(k=k, need=need)
    RNG = np.random.default_rng([seed, i, 7])
    w = world.make(P, seed, i)
    base = engine.run_day(w, study.BOOKING, P)
    best = hindsight.optimum(w, base, P.grid_seconds, P.time_limit).served
    t = time.process_time()
    res = engine.run_day(w, engine.Policy("sampled", "planner", P.duration_quantile, 0), P)
    spent = time.process_time() - t
    return best, metrics.record(res, base, len(w.walkins), [b.slot for b in w.booked]), spent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=study.default_jobs())
    ap.add_argument("--draws", nargs="+", default=["8,8", "8,7"],
                    help="K,NEED: draws per decision and how many must fit")
    args = ap.parse_args()
    print(f"{args.days} days, seed {args.seed}")
    for spec in args.draws:
        k, need = (int(x) for x in spec.split(","))
        with ProcessPoolExecutor(args.jobs) as ex:
            out = list(ex.map(_day, [(args.seed, i, k, need) for i in range(args.days)]))
        s = metrics.PolicyStats(spec, [r for _, r, _ in out]).summary(
            [o for o, _, _ in out], P.staff_hour_dkk, P.days_per_week)
        print(f"fits in {need} of {k} draws: served/day {s['served_per_day']:5.1f}  of optimum "
              f"{100 * s['share_of_optimum']:4.0f} %  booked delayed "
              f"{100 * s['delayed_share']:4.1f} %  extra p95 {s['extra_p95']:.2f} min  "
              f"past the slot too {100 * s['late_share']:4.1f} %  CPU "
              f"{sum(c for _, _, c in out) / args.days:.1f} s/day")
    return 0


if __name__ == "__main__":
    sys.exit(main())
