"""Do two checkouts' backends make the same decisions? (A speed change to the planner or the
simulator must not change one.)

Each checkout runs, in its own process, the simulator's policies on the same days and the
planner's answers on the same day states, and reduces each to a digest (every number of a
day's result: walk-ins served, left, turned away, every booked citizen's start, every wait
and span; on every `--every`-th call-next state of some days: call next's answer, the forward
plan's ranks, estimates and gaps, and `walkin_fits` for every waiting walk-in at any counter
and at the asking one). The digests are compared day by day and state by state.

    .venv/bin/python bench/sim_same.py --backend OLD_CHECKOUT [--days 300] [--states-days 6]
                                       [--every 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _digest(x: object) -> str:
    return hashlib.sha256(repr(x).encode()).hexdigest()[:16]


def _day(r) -> tuple:
    return (r.walkins_served, r.walkins_left, r.walkins_turned_away, r.no_shows,
            sorted(r.booked_start.items()), r.booked_wait, r.walkin_wait, r.spans, r.busy,
            r.overtime)


def dump(root: str, days: int, states_days: int, every: int, seed: int) -> dict:
    """Run in the checkout `root` (its backend imported): the digests."""
    sys.path.insert(0, root)
    from backend.domain import queue
    from backend.sim import engine, params, world

    p = params.load(None)
    q, po = p.duration_quantile, p.passed_over_minutes
    runs = [("planner", q, po, days), ("planner", 0.0, po, max(1, days // 3)),
            ("planner", q, 0, max(1, days // 3)), ("naive", q, po, max(1, days // 6)),
            ("booking", q, po, max(1, days // 6))]
    out: dict = {"days": {}, "states": {}, "served": {}}
    cpu = time.process_time()
    for kind, dq, dp, n in runs:
        pol = engine.Policy(f"{kind} q={dq:g} p={dp}", kind, dq, dp)
        res = [engine.run_day(world.make(p, seed, i), pol, p) for i in range(n)]
        out["days"][pol.name] = [_digest(_day(r)) for r in res]
        out["served"][pol.name] = sum(r.walkins_served for r in res)
    out["cpu_days"] = time.process_time() - cpu
    original = engine.choose_next
    for dq in (q, 0.0):
        pol = engine.Policy(f"planner q={dq:g} p={po}", "planner", dq, po)
        seen: list[str] = []
        count = [0, 0, 0]  # states, fit answers, estimates

        def asked(day, counter, now, seen=seen, count=count):
            choice = original(day, counter, now)
            count[0] += 1
            if count[0] % every == 0:
                plan = queue.queue_plan(day, now)
                fits = [queue.walkin_fits(day, v, cid, now) for v in day.visits
                        if v.kind.value == "walkin" and v.state.value == "waiting"
                        for cid in (None, counter.id)]
                count[1] += len(fits)
                count[2] += len(plan.estimates)
                seen.append(_digest((
                    choice.reason, choice.visit and choice.visit.id,
                    choice.held and choice.held.id, choice.next_booking_at,
                    choice.walkins_waiting, sorted(plan.ranks.items()),
                    sorted(plan.estimates.items()), sorted(plan.gaps.items()), fits)))
            return choice

        engine.choose_next = asked
        try:
            for i in range(states_days):
                engine.run_day(world.make(p, seed, 10_000 + i), pol, p)
        finally:
            engine.choose_next = original
        out["states"][pol.name] = seen
        out[f"counts {pol.name}"] = [len(seen), count[1], count[2]]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", required=True, help="the other checkout (the old code)")
    ap.add_argument("--days", type=int, default=300)
    ap.add_argument("--states-days", type=int, default=6)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dump", help=argparse.SUPPRESS)  # internal: the checkout to run
    args = ap.parse_args()
    if args.dump:
        json.dump(dump(args.dump, args.days, args.states_days, args.every, args.seed),
                  sys.stdout)
        return 0
    roots = [str(Path(args.backend).resolve()), str(HERE)]
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--backend", r, "--dump", r, "--days", str(args.days),
         "--states-days", str(args.states_days), "--every", str(args.every),
         "--seed", str(args.seed)], stdout=subprocess.PIPE, text=True) for r in roots]
    old, new = (json.loads(p.communicate()[0]) for p in procs)
    if any(p.returncode for p in procs):
        print("a run failed")
        return 2
    differ = 0
    for name, a in old["days"].items():
        b = new["days"][name]
        bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        differ += len(bad)
        print(f"{name:<22} {len(a):4d} days, {len(bad)} differ {bad[:5]}; walk-ins served "
              f"{old['served'][name]} / {new['served'][name]}")
    for name, a in old["states"].items():
        b = new["states"][name]
        bad = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y] + (
            [min(len(a), len(b))] if len(a) != len(b) else [])
        differ += len(bad)
        n, fits, est = new[f"counts {name}"]
        print(f"{name:<22} {n:4d} day states ({fits} fit answers, {est} estimates), "
              f"{len(bad)} differ {bad[:5]}")
    print(f"CPU for the days: old {old['cpu_days']:.1f} s, new {new['cpu_days']:.1f} s")
    print("the same decisions" if not differ else f"{differ} DIFFER")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
