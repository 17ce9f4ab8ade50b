"""What each policy did over the simulated days, against the booking-only run of the same
days (booked citizens' extra delay) and against each day's hindsight optimum.

Definitions:
- walk-ins served / left (patience ran out or sent home at closing) / turned away (the
  booking-only policy takes none);
- walk-in wait: arrival to call, served walk-ins, minutes (mean, 90th percentile);
- extra delay of a booked citizen: their start minus their start in the booking-only run of
  the same day, at least 0; share delayed (more than 1 second), mean and 95th percentile
  over all booked citizens served;
- late extra delay: the part of it past the citizen's own slot as well (start minus the later
  of their baseline start and their slot): the planner's fit test allows a walk-in to push a
  booked citizen who would have been called early back to their slot, never past it;
- idle counter minutes within opening hours, and their value at the staff hour's cost;
- overtime: counter minutes in service after closing;
- share of the optimum: walk-ins served over the hindsight optimum's, summed over days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import DayResult

DELAYED = 1.0  # seconds of extra delay that count as delayed


@dataclass(slots=True)
class DayRecord:
    """One policy on one day, reduced to what the summary needs (cheap to pickle)."""

    served: int
    left: int
    turned_away: int
    walkins: int
    booked: int
    waits: np.ndarray  # walk-ins served, seconds
    extra: np.ndarray  # booked citizens served, seconds
    late: np.ndarray  # ... of it past their slot too
    idle: float
    overtime: float
    served_by_hour: np.ndarray | None = None  # walk-ins served, by hour from opening (arrival)
    come_by_hour: np.ndarray | None = None  # walk-ins who came


def record(res: DayResult, base: DayResult, walkins: int,
           slots: list[float] | None = None, arrivals: list[float] | None = None) -> DayRecord:
    both = [(i, t) for i, t in res.booked_start.items() if i in base.booked_start]
    extra = np.array([max(0.0, t - base.booked_start[i]) for i, t in both], float)
    late = np.array([max(0.0, t - max(base.booked_start[i], slots[i])) for i, t in both]
                    if slots is not None else [], float)
    hours = int(np.ceil(res.length / 3600))
    served = [a for a, _, _, walkin in res.spans if walkin]
    by_hour = np.bincount(np.minimum(np.array(served, float) // 3600, hours - 1).astype(int),
                          minlength=hours) if served else np.zeros(hours, int)
    come = (np.bincount(np.minimum(np.array(arrivals, float) // 3600, hours - 1).astype(int),
                        minlength=hours) if arrivals else np.zeros(hours, int))
    return DayRecord(res.walkins_served, res.walkins_left, res.walkins_turned_away, walkins,
                     len(res.booked_start), np.array(res.walkin_wait, float), extra, late,
                     res.idle, res.overtime, by_hour, come)


@dataclass(slots=True)
class PolicyStats:
    name: str
    days: list[DayRecord] = field(default_factory=list)

    def summary(self, optimum: list[int], staff_hour_dkk: float, days_per_week: int) -> dict:
        d = self.days
        n = len(d) or 1
        waits = np.concatenate([r.waits for r in d]) / 60 if d else np.zeros(0)
        extra = np.concatenate([r.extra for r in d]) / 60 if d else np.zeros(0)
        late = np.concatenate([r.late for r in d]) / 60 if d else np.zeros(0)
        served = sum(r.served for r in d)
        opt = sum(optimum[:len(d)])
        idle = sum(r.idle for r in d) / 60 / n
        per_day = [r.served for r in d]
        return {
            "policy": self.name, "days": len(d),
            "walkins_per_day": sum(r.walkins for r in d) / n,
            "served_per_day": served / n,
            "served_per_day_sd": float(np.std(per_day)) if per_day else 0.0,
            "served_per_week": served / n * days_per_week,
            "left_per_day": sum(r.left for r in d) / n,
            "turned_away_per_day": sum(r.turned_away for r in d) / n,
            "wait_mean": float(waits.mean()) if waits.size else None,
            "wait_p90": float(np.percentile(waits, 90)) if waits.size else None,
            "delayed_share": float((extra > DELAYED / 60).mean()) if extra.size else 0.0,
            "extra_mean": float(extra.mean()) if extra.size else 0.0,
            "extra_p95": float(np.percentile(extra, 95)) if extra.size else 0.0,
            "extra_max": float(extra.max()) if extra.size else 0.0,
            "late_share": float((late > DELAYED / 60).mean()) if late.size else 0.0,
            "late_p95": float(np.percentile(late, 95)) if late.size else 0.0,
            "idle_minutes_per_day": idle,
            "idle_dkk_per_day": idle / 60 * staff_hour_dkk,
            "overtime_minutes_per_day": sum(r.overtime for r in d) / 60 / n,
            "optimum_per_day": opt / n,
            "share_of_optimum": served / opt if opt else None,
            "served_by_hour": (np.mean([r.served_by_hour for r in d], axis=0).tolist()
                               if d and d[0].served_by_hour is not None else []),
            "come_by_hour": (np.mean([r.come_by_hour for r in d], axis=0).tolist()
                             if d and d[0].come_by_hour is not None else []),
        }
