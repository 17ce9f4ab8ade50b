"""An experiment, not the server's planner: how much of the planner's distance to the
hindsight optimum is not knowing how long each service takes?

Runs the planner policy on the same simulated days three ways: as shipped; with every
visit's true service time handed to its model (an oracle for durations: the planner still
does not know who will not come or when a booked citizen arrives); with a strict fit test
(no booked citizen starts later than without the walk-in, where the shipped test allows
pushing one who would be called early back to the slot), alone and with the oracle; and
with the walk-ins' expected minutes raised to a higher quantile than the booked citizens'.
The planner's Model is patched in this process only.

    .venv/bin/python bench/sim_oracle.py [--days 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.domain import planner  # noqa: E402
from backend.sim import engine, hindsight, metrics, params, study, world  # noqa: E402

_orig = planner.Model.__init__
TRUE: dict[int, float] = {}  # visit id -> true service seconds (the oracle)
MODE = {"mode": "shipped", "walkin_q": 0.95}


def _patched(self, day, now, asking=None, horizon=None):
    _orig(self, day, now, asking, horizon)
    if MODE["mode"] in ("strict", "oracle+strict"):
        # the fit test against the start without the walk-in only (not the later of it and
        # the slot): a booked citizen who would be called early is not pushed back to the slot
        self.slot = [-planner.INF] * len(self.slot)
    if MODE["mode"] in ("oracle", "oracle+strict"):
        self.dur = [TRUE.get(v.id, d) for v, d in zip(self.visit, self.dur, strict=True)]
        self.walkins = [dataclasses.replace(w, dur=TRUE.get(w.visit.id, w.dur))
                        for w in self.walkins]
        t0 = now.timestamp()
        for v in day.visits:
            if v.counter_id in self.index and v.started_at is not None and v.id in TRUE:
                i = self.index[v.counter_id]
                self.free[i] = max(v.started_at.timestamp() - t0 + TRUE[v.id], 0)
    elif MODE["mode"] == "walkin_q":
        rules = dataclasses.replace(day.rules, duration_quantile=MODE["walkin_q"])
        q = planner.durations(dataclasses.replace(day, rules=rules))
        self.walkins = [dataclasses.replace(
            w, dur=q.get(w.visit.errand, w.visit.expected_minutes) * 60) for w in self.walkins]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    p = params.default()
    planner.Model.__init__ = _patched
    pol = engine.Policy("planner", "planner", p.duration_quantile, p.passed_over_minutes)
    modes = ("shipped", "strict", "oracle", "oracle+strict", "walkin_q")
    stats = {m: metrics.PolicyStats(m) for m in modes}
    optimum = []
    for i in range(args.days):
        w = world.make(p, args.seed, i)
        MODE["mode"] = "shipped"
        base = engine.run_day(w, study.BOOKING, p)
        optimum.append(hindsight.optimum(w, base, p.grid_seconds, p.time_limit).served)
        TRUE.clear()
        TRUE.update({k + 1: b.service for k, b in enumerate(w.booked)})
        TRUE.update({engine.WALKIN_ID + k: x.service for k, x in enumerate(w.walkins)})
        for m in modes:
            MODE["mode"] = m
            stats[m].days.append(metrics.record(engine.run_day(w, pol, p), base,
                                                len(w.walkins), [b.slot for b in w.booked]))
    print(f"{args.days} days, planner q={p.duration_quantile:g} p={p.passed_over_minutes}")
    for m in modes:
        s = stats[m].summary(optimum, p.staff_hour_dkk, p.days_per_week)
        print(f"{m:<13} served/day {s['served_per_day']:5.1f}  of optimum "
              f"{100 * s['share_of_optimum']:4.0f} %  booked delayed "
              f"{100 * s['delayed_share']:4.1f} %  extra p95 {s['extra_p95']:.2f} min  "
              f"past the slot too "
              f"{100 * s['late_share']:4.1f} %, p95 {s['late_p95']:.2f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
