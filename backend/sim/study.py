"""A study: many simulated days, every policy on each (common random numbers), the booking-
only run as every day's baseline and the hindsight optimum beside it; progress while it runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from . import hindsight, world
from .engine import Policy, run_day
from .metrics import DayRecord, PolicyStats, record
from .params import Params

BOOKING = Policy("booking", "booking")


def policies(p: Params, names: list[str], sweep: bool = False) -> list[Policy]:
    """The policies asked for by name (booking, naive, planner), the planner with the
    parameters' settings; with `sweep`, the planner at every pair of the sweep's settings."""
    out = [BOOKING]
    for name in names:
        if name == "naive":
            out.append(Policy("naive", "naive"))
        elif name == "planner":
            out.append(Policy("planner", "planner", p.duration_quantile, p.passed_over_minutes))
        elif name != "booking":
            raise ValueError(f"unknown policy {name!r} (booking, naive, planner)")
    if sweep:
        for q in p.sweep_quantile:
            for m in p.sweep_passed_over:
                out.append(Policy(f"planner q={q:g} p={m}", "planner", q, m))
    seen: dict[str, Policy] = {}
    for pol in out:
        seen.setdefault(pol.name, pol)
    return list(seen.values())


@dataclass(slots=True)
class DayOutcome:
    records: dict[str, DayRecord]
    seconds: dict[str, float]
    optimum: hindsight.Optimum | None


def one_day(p: Params, seed: int, index: int, pols: list[Policy], optimum: bool,
            counters: int | None = None) -> DayOutcome:
    w = world.make(p, seed, index)
    records, seconds = {}, {}
    slots = [b.slot for b in w.booked]
    arrivals = [x.arrival for x in w.walkins]
    t = time.perf_counter()
    base = run_day(w, BOOKING, p, counters)
    seconds[BOOKING.name] = time.perf_counter() - t
    for pol in pols:
        if pol.name == BOOKING.name:
            res = base
        else:
            t = time.perf_counter()
            res = run_day(w, pol, p, counters)
            seconds[pol.name] = time.perf_counter() - t
        records[pol.name] = record(res, base, len(w.walkins), slots, arrivals)
    best = hindsight.optimum(w, base, p.grid_seconds, p.time_limit) if optimum else None
    return DayOutcome(records, seconds, best)


def _one(args: tuple) -> DayOutcome:
    return one_day(*args)


@dataclass(slots=True)
class Study:
    params: Params
    seed: int
    policies: list[Policy]
    stats: dict[str, PolicyStats] = field(default_factory=dict)
    optimum: list[int] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    counters: int | None = None

    def add(self, out: DayOutcome) -> None:
        for name, rec in out.records.items():
            self.stats.setdefault(name, PolicyStats(name)).days.append(rec)
        for name, s in out.seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + s
        if out.optimum is not None:
            self.optimum.append(out.optimum.served)
            self.gaps.append(out.optimum.gap)
            self.methods[out.optimum.method] = self.methods.get(out.optimum.method, 0) + 1
            self.seconds["hindsight"] = self.seconds.get("hindsight", 0.0) + out.optimum.seconds

    def summaries(self) -> list[dict]:
        p = self.params
        return [self.stats[pol.name].summary(self.optimum, p.staff_hour_dkk, p.days_per_week)
                for pol in self.policies]


class Progress:
    """Days done and the time left, on stderr (one rewritten line on a terminal)."""

    def __init__(self, total: int, label: str = "", stream=None) -> None:
        self.total, self.label, self.t0 = total, label, time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = -1.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if done < self.total and (now - self.last < (0.2 if self.tty else 10)):
            return
        self.last = now
        spent = now - self.t0
        left = spent / done * (self.total - done) if done else 0
        line = (f"{self.label}{done}/{self.total} days, {spent:.0f} s, "
                f"about {left:.0f} s left")
        end = "\n" if done >= self.total or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + line + end)
        self.stream.flush()


def run(p: Params, days: int, seed: int, pols: list[Policy], *, optimum: bool = True,
        jobs: int = 1, progress: Callable[[int], None] | None = None,
        counters: int | None = None) -> Study:
    study = Study(p, seed, pols, counters=counters)
    t = time.perf_counter()
    tasks = [(p, seed, i, pols, optimum, counters) for i in range(days)]
    if jobs > 1 and days > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for n, out in enumerate(ex.map(_one, tasks, chunksize=max(1, days // (jobs * 50))),
                                    1):
                study.add(out)
                if progress:
                    progress(n)
    else:
        for n, task in enumerate(tasks, 1):
            study.add(_one(task))
            if progress:
                progress(n)
    study.wall = time.perf_counter() - t
    return study


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))
