"""An experiment, not the server's planner: how much of the planner's distance to the
hindsight optimum is information it cannot have, and which walk-ins and booked citizens make
the difference?

Runs the planner policy on the same simulated days with its Model patched (in this process
only) in these modes:
- shipped: as the server runs it;
- strict: the fit test against the start without the walk-in only (the shipped one lets a
  walk-in push a booked citizen who would be called early back to the slot);
- durations: every visit's true service time handed to the model (an oracle);
- arrivals: every booked citizen's true arrival and no-show known (a no-show is dropped; one
  who comes is callable from their arrival, as an idle counter calls an early citizen at
  once on the day without walk-ins), with the strict test;
- both: durations and arrivals known, strict; "both, p 0": and no passed-over limit;
- booked q 0.5 / 0.65: the booked citizens' durations at a lower quantile than the walk-ins'
  (the policy's), with the walk-ins at 0.8 / 0.9;
then, for the shipped planner, which walk-ins the optimum serves that it does not (by length
and hour) and which booked citizens it delays.

    .venv/bin/python bench/sim_oracle.py [--days 10] [--seed 1] [--jobs 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.domain import planner  # noqa: E402
from backend.sim import engine, hindsight, metrics, params, study, world  # noqa: E402

_orig = planner.Model.__init__
#: visit id -> (arrival epoch seconds, never comes, true service seconds): the oracle
TRUE: dict[int, tuple[float, bool, float]] = {}
MODE: dict = {}
MODES = {
    "shipped": {},
    "strict": {"strict": True},
    "durations": {"durations": True},
    "arrivals": {"arrivals": True, "strict": True},
    "both": {"durations": True, "arrivals": True, "strict": True},
    "both, p 0": {"durations": True, "arrivals": True, "strict": True, "p": 0},
    "booked q 0.5, p 0": {"booked_q": 0.5, "p": 0},
    "booked q 0.65, q 0.9, p 0": {"booked_q": 0.65, "q": 0.9, "p": 0},
}


def _reorder(self, keep: list[int], due: dict[int, float]) -> None:
    order = sorted(keep, key=lambda j: (due[j], self.key[j]))
    self.due = [due[j] for j in order]
    for a in ("key", "visit", "booked", "dur", "mask", "slot"):
        xs = getattr(self, a)
        setattr(self, a, [xs[j] for j in order])
    self.n = len(order)


def _patched(self, day, now, asking=None, horizon=None):
    _orig(self, day, now, asking, horizon)
    t0 = now.timestamp()
    if MODE.get("booked_q") is not None:
        rules = dataclasses.replace(day.rules, duration_quantile=MODE["booked_q"])
        q = planner.durations(dataclasses.replace(day, rules=rules))
        self.dur = [q.get(v.errand, v.expected_minutes) * 60 if b else d
                    for v, b, d in zip(self.visit, self.booked, self.dur, strict=True)]
    if MODE.get("durations"):
        self.dur = [TRUE[v.id][2] if v.id in TRUE else d
                    for v, d in zip(self.visit, self.dur, strict=True)]
        self.walkins = [dataclasses.replace(w, dur=TRUE[w.visit.id][2]) for w in self.walkins]
        for v in day.visits:
            if v.counter_id in self.index and v.started_at is not None and v.id in TRUE:
                i = self.index[v.counter_id]
                self.free[i] = max(v.started_at.timestamp() - t0 + TRUE[v.id][2], 0)
    if MODE.get("arrivals"):
        keep = [j for j in range(self.n) if not (self.booked[j] and TRUE[self.visit[j].id][1])]
        due = {j: max(0, TRUE[self.visit[j].id][0] - t0)
               if self.booked[j] and self.visit[j].counter_id is None else self.due[j]
               for j in keep}
        _reorder(self, keep, due)
    if MODE.get("strict"):
        self.slot = [-planner.INF] * len(self.slot)


def _oracle(p: params.Params, w: world.World) -> None:
    TRUE.clear()
    grace = p.grace_minutes * 60
    for k, b in enumerate(w.booked):
        never = b.no_show or b.arrival >= b.slot + grace
        TRUE[k + 1] = (engine.T0.timestamp() + b.arrival, never, b.service)
    for k, x in enumerate(w.walkins):
        TRUE[engine.WALKIN_ID + k] = (0.0, False, x.service)


def _day(args: tuple) -> tuple[int, dict, list, list]:
    seed, i = args
    p = params.default()
    planner.Model.__init__ = _patched
    w = world.make(p, seed, i)
    MODE.clear()
    base = engine.run_day(w, study.BOOKING, p)
    best = hindsight.optimum(w, base, p.grid_seconds, p.time_limit)
    served_set = set(best.chosen)
    _oracle(p, w)
    records, shipped = {}, None
    for name, mode in MODES.items():
        MODE.clear()
        MODE.update(mode)
        pol = engine.Policy("planner", "planner", mode.get("q", p.duration_quantile),
                            mode.get("p", p.passed_over_minutes))
        res = engine.run_day(w, pol, p)
        records[name] = metrics.record(res, base, len(w.walkins), [b.slot for b in w.booked])
        if name == "shipped":
            shipped = res
    by_arrival = {x.arrival: j for j, x in enumerate(w.walkins)}
    planned = {by_arrival[a] for a, _, _, walkin in shipped.spans if walkin}
    walkins = [(x.arrival / 3600, x.service / 60, j in served_set, j in planned)
               for j, x in enumerate(w.walkins)]
    booked = [(b.slot, b.arrival, base.booked_start[k], shipped.booked_start[k])
              for k, b in enumerate(w.booked)
              if k in shipped.booked_start and k in base.booked_start]
    return best.served, records, walkins, booked


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=study.default_jobs())
    args = ap.parse_args()
    p = params.default()
    tasks = [(args.seed, i) for i in range(args.days)]
    with ProcessPoolExecutor(args.jobs) as ex:
        out = list(ex.map(_day, tasks))
    optimum = [o for o, _, _, _ in out]
    print(f"{args.days} days, seed {args.seed}; the optimum serves "
          f"{sum(optimum) / args.days:.1f} walk-ins a day")
    for name in MODES:
        s = metrics.PolicyStats(name, [r[name] for _, r, _, _ in out]).summary(
            optimum, p.staff_hour_dkk, p.days_per_week)
        print(f"{name:<26} served/day {s['served_per_day']:5.1f}  of optimum "
              f"{100 * s['share_of_optimum']:4.0f} %  booked delayed "
              f"{100 * s['delayed_share']:4.1f} %  extra p95 {s['extra_p95']:.2f} min  "
              f"past the slot too {100 * s['late_share']:4.1f} %, p95 {s['late_p95']:.2f} min")
    why(out)
    return 0


def why(out: list) -> None:
    """Which walk-ins the optimum serves and the shipped planner does not; whom it delays."""
    w = np.array([r for _, _, rows, _ in out for r in rows], float)
    hour, service, opt, plan = w[:, 0], w[:, 1], w[:, 2] > 0, w[:, 3] > 0
    print(f"\nwalk-ins {len(w)}: the optimum serves {opt.sum()}, the planner {plan.sum()}, "
          f"only the optimum {(opt & ~plan).sum()}, only the planner {(plan & ~opt).sum()}")
    for lo, hi in ((0, 5), (5, 10), (10, 15), (15, 999)):
        m = (service >= lo) & (service < hi)
        print(f"  service {lo}-{hi if hi < 999 else '…'} min: {m.sum()} came, optimum "
              f"{opt[m].sum()}, planner {plan[m].sum()}")
    for h in range(int(hour.max()) + 1):
        m = (hour >= h) & (hour < h + 1)
        print(f"  hour {h} after opening: {m.sum()} came, optimum {opt[m].sum()}, "
              f"planner {plan[m].sum()}")
    b = np.array([r for _, _, _, rows in out for r in rows], float)
    slot, arrival, base, start = b.T
    extra = start - base
    d, big = extra > 1, extra > 60
    print(f"booked citizens {len(b)}: delayed {d.sum()} ({d.mean():.1%}), by more than a "
          f"minute {big.sum()} ({big.mean():.1%})")
    print(f"  of the delayed: arrived early {(d & (arrival < slot)).sum()}, called before "
          f"their slot on the day without walk-ins {(d & (base < slot - 1)).sum()}, started by "
          f"their slot anyway {(d & (start <= slot + 1)).sum()}")
    print(f"  of those delayed by more than a minute: called early without walk-ins "
          f"{(big & (base < slot - 1)).sum()}, past their slot with walk-ins "
          f"{(big & (start > slot + 1)).sum()}; median extra delay of the delayed "
          f"{np.median(extra[d]) / 60:.2f} min, p90 {np.percentile(extra[d], 90) / 60:.2f}")


if __name__ == "__main__":
    sys.exit(main())
