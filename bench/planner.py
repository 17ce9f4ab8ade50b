"""The planner alone (pure, no server): a busy day of 2,000 visits on 20 counters.

Built: opening 08:00-18:00, bookings by the 5-minute slot calendar (15 of the 20 counters
kept for booked citizens, 5- and 10-minute errands), walk-ins through the day (5-20
minutes). At 13:00: the morning served (one in ten booked a no-show), 19 counters serving,
one free and asking, booked citizens of later slots partly already waiting, the last hour's
walk-ins waiting. Timed: (a) one call-next decision at the free counter, which goes through
the planner's fit test (no booked citizen is due for it), and (b) a full plan: every waiting
visit's rank and every waiting walk-in's estimated call time.

    .venv/bin/python bench/planner.py [--visits 2000] [--counters 20] [--decisions 200]
                                      [--plans 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.domain.queue import choose_next, queue_plan  # noqa: E402
from backend.domain.types import (  # noqa: E402
    Counter,
    CounterState,
    DayState,
    Kind,
    Outcome,
    Rules,
    State,
    Visit,
)

CPH = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 11, 24)
OPEN, CLOSE = datetime(2026, 11, 24, 8, 0, tzinfo=CPH), datetime(2026, 11, 24, 18, 0, tzinfo=CPH)
NOW = datetime(2026, 11, 24, 13, 0, tzinfo=CPH)
ERRANDS = {"health_card": 5, "passport_adult": 10, "mitid": 15, "pension": 20}


def build_day(n_visits: int, n_counters: int, seed: int) -> tuple[DayState, Counter]:
    rnd = random.Random(seed)
    slot, capacity = 5, int(n_counters * 0.75)
    n_slots = int((CLOSE - OPEN).total_seconds() // 60 // slot)
    used = [0] * n_slots
    visits: list[Visit] = []
    n_booked = int(n_visits * 0.85)
    # bookings: each slot filled up to the capacity, errands taking consecutive slots
    for s in range(n_slots):
        while used[s] < capacity and len(visits) < n_booked:
            minutes = rnd.choice((5, 5, 5, 10))
            span = minutes // slot
            if s + span > n_slots or any(used[s + i] >= capacity for i in range(span)):
                break
            for i in range(span):
                used[s + i] += 1
            errand = "health_card" if minutes == 5 else "passport_adult"
            i = len(visits) + 1
            visits.append(Visit(i, "bench", DAY, Kind.BOOKED, f"B{i:04d}", State.BOOKED,
                                errand, minutes, slot_start=OPEN + timedelta(minutes=s * slot)))
    # walk-ins through the day
    while len(visits) < n_visits:
        i = len(visits) + 1
        errand = rnd.choice(list(ERRANDS))
        arrived = OPEN + timedelta(minutes=rnd.uniform(0, (CLOSE - OPEN).seconds / 60 - 30))
        visits.append(Visit(i, "bench", DAY, Kind.WALKIN, f"C{i:04d}", State.WAITING, errand,
                            ERRANDS[errand], arrived_at=arrived))
    counters = [Counter(c, "bench", c, f"Skranke {c}", CounterState.OPEN, f"u{c}")
                for c in range(1, n_counters + 1)]
    # the day until 13:00
    serving_at = iter(range(2, n_counters + 1))  # counter 1 is free and asks
    out = []
    for v in visits:
        if v.kind is Kind.BOOKED:
            if v.slot_start < NOW - timedelta(minutes=10):
                state = State.NO_SHOW if rnd.random() < 0.1 else State.DONE
                v = _done(v, state, v.slot_start)
            elif v.slot_start <= NOW and (c := next(serving_at, None)) is not None:
                v = _serving(v, c, v.slot_start)
            elif v.slot_start <= NOW:
                v = _done(v, State.DONE, v.slot_start)
            elif v.slot_start < NOW + timedelta(minutes=30) and rnd.random() < 0.3:
                v = _replace(v, state=State.WAITING, arrived_at=NOW - timedelta(minutes=3))
        elif v.arrived_at < NOW - timedelta(minutes=60):
            v = _done(v, State.DONE, v.arrived_at + timedelta(minutes=20))
        elif v.arrived_at > NOW:
            continue  # not come yet
        out.append(v)
    for c in serving_at:  # counters left without a booked citizen serve a walk-in
        out.append(Visit(10_000 + c, "bench", DAY, Kind.WALKIN, f"X{c}", State.SERVING,
                         "passport_adult", 10, counter_id=c, called_at=NOW,
                         started_at=NOW - timedelta(minutes=rnd.randint(0, 9))))
    return DayState("bench", DAY, tuple(counters), tuple(out), Rules()), counters[0]


def _replace(v: Visit, **kw) -> Visit:
    from dataclasses import replace
    return replace(v, **kw)


def _done(v: Visit, state: State, start: datetime) -> Visit:
    if state is State.NO_SHOW:
        return _replace(v, state=state)
    return _replace(v, state=state, started_at=start, finished_at=start + timedelta(
        minutes=v.expected_minutes), outcome=Outcome.SERVED)


def _serving(v: Visit, counter: int, start: datetime) -> Visit:
    return _replace(v, state=State.SERVING, counter_id=counter, arrived_at=start,
                    called_at=start, started_at=start)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=2000)
    ap.add_argument("--counters", type=int, default=20)
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--plans", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    day, asking = build_day(args.visits, args.counters, args.seed)
    by = {}
    for v in day.visits:
        by[(v.kind.value, v.state.value)] = by.get((v.kind.value, v.state.value), 0) + 1
    print(f"day: {args.visits} visits, {args.counters} counters, at {NOW:%H:%M}; in the "
          f"state: " + ", ".join(f"{k}/{s} {n}" for (k, s), n in sorted(by.items())))
    choice = choose_next(day, asking, NOW)
    plan = queue_plan(day, NOW)
    est = sorted(plan.estimates.values())
    print(f"call next at Skranke 1: {choice.reason} "
          f"{choice.visit.ticket if choice.visit else ''}; estimates for {len(est)} walk-ins, "
          f"{est[0]:%H:%M}-{est[-1]:%H:%M}" if est else "no estimates")
    decisions = timed(lambda: choose_next(day, asking, NOW), args.decisions)
    plans = timed(lambda: queue_plan(day, NOW), args.plans)
    ok = True
    for name, xs, target in (("call next (choose_next)", decisions, 5.0),
                             ("full plan (ranks + estimates)", plans, 50.0)):
        met = p(xs, 99) <= target
        ok &= met
        print(f"{name:32s} n={len(xs):4d}  median {statistics.median(xs):7.2f} ms  "
              f"p99 {p(xs, 99):7.2f} ms  (target p99 <= {target:g} ms: "
              f"{'met' if met else 'NOT met'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
