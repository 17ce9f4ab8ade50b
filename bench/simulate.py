"""The chance-queue simulator's speed: 1,000 simulated days of 6 counters per policy (issue 21
asks for at most 60 s each on this machine), the hindsight optimum timed apart.

Each policy's days run in `--jobs` processes (the world drawn inside the timing: it is part
of a study's cost); the wall time per policy is what a study of that many days costs. The
hindsight optimum needs each day's booking-only run: it is timed on `--hindsight-days` days
(the optimum alone, without that run) and extrapolated.

    .venv/bin/python bench/simulate.py [--days 1000] [--jobs 2] [--hindsight-days 50]
                                       [--policies booking,naive,planner] [--seed 1]
                                       [--backend OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

#: --backend CHECKOUT: time another checkout's backend with this script (before and after)
_ROOT = (sys.argv[sys.argv.index("--backend") + 1] if "--backend" in sys.argv[:-1]
         else str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, _ROOT)

from backend.sim import engine, hindsight, params, study, world  # noqa: E402


def _days(args: tuple) -> tuple[int, float, float]:
    p, pol, seed, first, n = args
    served, t, c = 0, time.perf_counter(), time.process_time()
    for i in range(first, first + n):
        served += engine.run_day(world.make(p, seed, i), pol, p).walkins_served
    return served, time.perf_counter() - t, time.process_time() - c


def run_policy(p: params.Params, pol: engine.Policy, days: int, jobs: int, seed: int) -> dict:
    chunk = max(1, days // (jobs * 4))
    tasks = [(p, pol, seed, i, min(chunk, days - i)) for i in range(0, days, chunk)]
    t = time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            out = list(ex.map(_days, tasks))
    else:
        out = [_days(x) for x in tasks]
    wall = time.perf_counter() - t
    # "inside": the sum of the wall time inside each worker; "cpu": of their CPU time (what
    # neighbours on a shared machine change least)
    return {"policy": pol.name, "days": days, "wall": wall,
            "inside": sum(w for _, w, _ in out), "cpu": sum(c for _, _, c in out),
            "served_per_day": sum(s for s, _, _ in out) / days}


def time_hindsight(p: params.Params, days: int, seed: int) -> dict:
    spent, gaps, methods = 0.0, [], {}
    for i in range(days):
        w = world.make(p, seed, i)
        base = engine.run_day(w, study.BOOKING, p)
        t = time.perf_counter()
        best = hindsight.optimum(w, base, p.grid_seconds, p.time_limit)
        spent += time.perf_counter() - t
        gaps.append(best.gap)
        methods[best.method] = methods.get(best.method, 0) + 1
    return {"days": days, "seconds": spent, "per_day": spent / max(1, days),
            "max_gap": max(gaps, default=0.0), "methods": methods}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=study.default_jobs())
    ap.add_argument("--hindsight-days", type=int, default=50)
    ap.add_argument("--policies", default="booking,naive,planner")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--params", help="parameters file (default: the shipped defaults, "
                    "6 counters)")
    ap.add_argument("--backend", help="a checkout whose backend to time (default: this one)")
    args = ap.parse_args()
    p = params.load(args.params)
    pols = study.policies(p, [x.strip() for x in args.policies.split(",")])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend {Path(engine.__file__).parents[2]}")
    print(f"{args.days} days of {p.counters} counters, {args.jobs} processes, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the start")
    worst = 0.0
    for pol in pols:
        r = run_policy(p, pol, args.days, args.jobs, args.seed)
        worst = max(worst, r["wall"])
        per_day, cpu = 1000 * r["inside"] / r["days"], 1000 * r["cpu"] / r["days"]
        print(f"{r['policy']:<10} {r['wall']:7.1f} s wall  {r['inside']:7.1f} s in workers  "
              f"{per_day:6.1f} ms/day  CPU {cpu:6.1f} ms/day  walk-ins served/day "
              f"{r['served_per_day']:.1f}")
    if args.hindsight_days:
        h = time_hindsight(p, args.hindsight_days, args.seed)
        print(f"hindsight  {h['seconds']:7.1f} s for {h['days']} days ({h['per_day']:.2f} s/day,"
              f" about {h['per_day'] * args.days:.0f} s for {args.days}), "
              f"{h['methods']}, largest gap {h['max_gap']:.1%}")
    target = 60.0 * args.days / 1000
    print(f"slowest policy {worst:.1f} s against the target {target:.1f} s: "
          f"{'met' if worst <= target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
