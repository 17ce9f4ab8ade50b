"""The parameters of a simulated day (backend/sim/default.toml documents every key)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Errand:
    code: str
    share: float
    minutes: int  # the catalogue's (booked slot length, the planner's expectation)
    mean: float  # real service minutes: lognormal mean
    cv: float = 0.5


@dataclass(frozen=True, slots=True)
class Params:
    counters: int = 6
    open: time = time(9, 0)
    close: time = time(15, 0)
    slot_minutes: int = 5
    booking_capacity: int = 6
    booking_fill: float = 0.85
    grace_minutes: int = 10
    staff_hour_dkk: float = 450.0
    days_per_week: int = 5
    errands: tuple[Errand, ...] = ()
    no_show: float = 0.07
    arrival_mean: float = -2.0
    arrival_sd: float = 4.0
    short_share: float = 0.20
    short_factor: float = 0.35
    walkins_per_hour_per_counter: float = 2.0
    by_hour: dict[int, float] = field(default_factory=dict)
    dispersion: float = 0.0
    patience_mean: float = 45.0
    patience_cv: float = 0.5
    duration_quantile: float = 0.8
    passed_over_minutes: int = 20
    sweep_quantile: tuple[float, ...] = (0.0, 0.5, 0.8, 0.9)
    sweep_passed_over: tuple[int, ...] = (0, 10, 20, 40)
    grid_seconds: int = 60
    time_limit: float = 10.0
    #: Bookings off entirely (the validation tests' queueing models).
    bookings: bool = True
    #: Service times: lognormal (mean, cv per errand), exponential (mean) or fixed (mean).
    service_dist: str = "lognormal"
    #: A day longer than its clock hours (the validation tests' long horizons), in hours.
    open_hours: float | None = None
    #: Where these came from (a file, "default", or "history …"), for the report.
    source: str = "default"

    @property
    def open_minutes(self) -> float:
        if self.open_hours is not None:
            return self.open_hours * 60
        return (self.close.hour * 60 + self.close.minute) - (self.open.hour * 60 + self.open.minute)

    def hour_rates(self) -> list[float]:
        """Walk-ins an hour (all counters) for each hour from opening."""
        n = int(-(-self.open_minutes // 60))  # opening hours, the last one maybe partial
        weights = [self.by_hour.get((self.open.hour + i) % 24, 1.0) for i in range(n)]
        mean_w = sum(weights) / len(weights) if weights else 1.0
        base = self.walkins_per_hour_per_counter * self.counters
        return [base * w / mean_w if mean_w else 0.0 for w in weights]

    def with_(self, **changes: Any) -> Params:
        return replace(self, **changes)


_FLAT = {  # toml section.key -> Params field
    ("site", "counters"): "counters", ("site", "slot_minutes"): "slot_minutes",
    ("site", "booking_capacity"): "booking_capacity", ("site", "booking_fill"): "booking_fill",
    ("site", "grace_minutes"): "grace_minutes", ("site", "staff_hour_dkk"): "staff_hour_dkk",
    ("site", "days_per_week"): "days_per_week",
    ("citizens", "no_show"): "no_show", ("citizens", "arrival_mean"): "arrival_mean",
    ("citizens", "arrival_sd"): "arrival_sd", ("citizens", "short_share"): "short_share",
    ("citizens", "short_factor"): "short_factor",
    ("walkins", "per_hour_per_counter"): "walkins_per_hour_per_counter",
    ("walkins", "dispersion"): "dispersion", ("walkins", "patience_mean"): "patience_mean",
    ("walkins", "patience_cv"): "patience_cv",
    ("planner", "duration_quantile"): "duration_quantile",
    ("planner", "passed_over_minutes"): "passed_over_minutes",
    ("hindsight", "grid_seconds"): "grid_seconds", ("hindsight", "time_limit"): "time_limit",
}


def _time(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


def from_dict(data: dict[str, Any], base: Params | None = None, source: str = "") -> Params:
    """Params from a parsed TOML document; keys it lacks keep `base`'s (the defaults)."""
    p = base or Params()
    known = {f.name for f in fields(Params)}
    changes: dict[str, Any] = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ValueError(f"[{section}] must be a table")
        for key, value in values.items():
            if section == "errands":
                continue
            name = _FLAT.get((section, key))
            if (section, key) in (("site", "open"), ("site", "close")):
                changes[key] = _time(value)
            elif (section, key) == ("walkins", "by_hour"):
                changes["by_hour"] = {int(h): float(w) for h, w in value.items()}
            elif (section, key) == ("planner", "sweep_quantile"):
                changes["sweep_quantile"] = tuple(float(x) for x in value)
            elif (section, key) == ("planner", "sweep_passed_over"):
                changes["sweep_passed_over"] = tuple(int(x) for x in value)
            elif name in known:
                changes[name] = type(getattr(p, name))(value)
            else:
                raise ValueError(f"unknown parameter [{section}] {key}")
    if "errands" in data:
        changes["errands"] = tuple(
            Errand(code, float(e["share"]), int(e["minutes"]), float(e.get("mean", e["minutes"])),
                   float(e.get("cv", 0.5)))
            for code, e in data["errands"].items())
    if source:
        changes["source"] = source
    return replace(p, **changes)


def default() -> Params:
    text = resources.files("backend.sim").joinpath("default.toml").read_text("utf-8")
    return from_dict(tomllib.loads(text), Params(), "default")


def load(path: str | Path | None) -> Params:
    """The defaults, overridden by the file at `path` (if any)."""
    base = default()
    if path is None:
        return base
    with open(path, "rb") as f:
        return from_dict(tomllib.load(f), base, str(path))
