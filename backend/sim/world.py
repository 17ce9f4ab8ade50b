"""One simulated day's world: who booked, who comes when, who walks in, how long each takes.

Drawn once per day from independent random streams (bookings, booked citizens, walk-ins)
and then replayed under every policy: common random numbers, so the policies' differences
are theirs and not the dice's. A citizen's draws are tied to their index in their stream,
so another booking capacity keeps the same citizens as far as they still fit.
Times are seconds from opening.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..domain.calendar import slots_needed
from .params import Params

#: Draws per booked citizen and per walk-in are taken in blocks of this size.
_BLOCK = 4096


@dataclass(frozen=True, slots=True)
class Booked:
    slot: float  # seconds from opening
    errand: str
    minutes: int  # the catalogue's
    no_show: bool
    arrival: float  # seconds from opening
    service: float  # seconds
    short: bool


@dataclass(frozen=True, slots=True)
class Walkin:
    arrival: float
    errand: str
    minutes: int
    service: float
    patience: float  # seconds (inf: never leaves)
    short: bool


@dataclass(frozen=True, slots=True)
class World:
    index: int
    length: float  # opening seconds
    booked: tuple[Booked, ...]
    walkins: tuple[Walkin, ...]


def _service(rng: np.random.Generator, mean: float, cv: float, dist: str, n: int) -> np.ndarray:
    if dist == "fixed" or cv <= 0:
        return np.full(n, mean)
    if dist == "exponential":
        return rng.exponential(mean, n)
    s2 = math.log(1 + cv * cv)
    return rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)


def _lognormal(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    s2 = math.log(1 + cv * cv)
    return rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)


class _Citizens:
    """Errand, service time and flags for citizen i of a stream, in blocks."""

    def __init__(self, rng: np.random.Generator, p: Params) -> None:
        self.rng, self.p = rng, p
        self.shares = np.array([e.share for e in p.errands], float)
        self.shares /= self.shares.sum()
        self.cols: dict[str, np.ndarray] = {}
        self.n = 0

    def _grow(self) -> None:
        p, rng, n = self.p, self.rng, _BLOCK
        k = rng.choice(len(p.errands), n, p=self.shares)
        services = np.empty(n)
        for i, e in enumerate(p.errands):
            services[k == i] = _service(rng, e.mean, e.cv, p.service_dist, n)[k == i]
        cols = {"errand": k, "service": services, "short": rng.random(n) < p.short_share,
                "u": rng.random(n), "offset": rng.normal(p.arrival_mean, p.arrival_sd, n),
                "patience": (_lognormal(rng, p.patience_mean, p.patience_cv, n)
                             if p.patience_mean > 0 else np.full(n, math.inf))}
        self.cols = {c: np.concatenate([self.cols[c], v]) if self.cols else v
                     for c, v in cols.items()}
        self.n += n

    def get(self, i: int) -> tuple:
        while i >= self.n:
            self._grow()
        c, p = self.cols, self.p
        e = p.errands[int(c["errand"][i])]
        service = float(c["service"][i]) * 60
        short = bool(c["short"][i])
        if short:
            service *= p.short_factor
        return (e, max(30.0, service), short, float(c["u"][i]), float(c["offset"][i]) * 60,
                float(c["patience"][i]) * 60)


def _bookings(rng: np.random.Generator, p: Params, length: float) -> list[tuple[float, object]]:
    """(slot seconds, errand) of each booking: `booking_capacity` lanes of slots, each
    booked with the chance that fills `booking_fill` of the slot time on average."""
    if not p.bookings or p.booking_capacity <= 0 or p.booking_fill <= 0:
        return []
    n_slots = int(length // (p.slot_minutes * 60))
    shares = np.array([e.share for e in p.errands], float)
    shares /= shares.sum()
    need = [slots_needed(e.minutes, p.slot_minutes) for e in p.errands]
    k_mean = float(np.dot(shares, need))
    fill = min(p.booking_fill, 0.999)
    q = fill / (k_mean - fill * (k_mean - 1))  # chance a free slot starts a booking
    out = []
    for _lane in range(p.booking_capacity):
        s = 0
        u = rng.random(n_slots + 1)
        k = rng.choice(len(p.errands), n_slots + 1, p=shares)
        while s < n_slots:
            e = int(k[s])
            if u[s] < q and s + need[e] <= n_slots:
                out.append((s * p.slot_minutes * 60.0, p.errands[e]))
                s += need[e]
            else:
                s += 1
    out.sort(key=lambda b: b[0])
    return out


def _arrivals(rng: np.random.Generator, p: Params, length: float) -> list[float]:
    out: list[float] = []
    for h, rate in enumerate(p.hour_rates()):
        begin = h * 3600.0
        span = min(3600.0, length - begin)
        if span <= 0:
            break
        if p.dispersion > 0:
            rate *= rng.gamma(1 / p.dispersion, p.dispersion)
        n = rng.poisson(rate * span / 3600)
        out.extend(sorted(begin + rng.random(n) * span))
    return out


def make(p: Params, seed: int, index: int) -> World:
    """Day `index` of the study with this seed (the same for every policy)."""
    ss = np.random.SeedSequence([seed, index])
    r_book, r_cit, r_walk, r_wcit = (np.random.default_rng(s) for s in ss.spawn(4))
    length = p.open_minutes * 60
    cit = _Citizens(r_cit, p)
    booked = []
    for i, (slot, errand) in enumerate(_bookings(r_book, p, length)):
        _, service, short, u, offset, _ = cit.get(i)
        # the errand is the booking's; the service time is drawn for it
        e = errand
        base = service / 60 / (p.short_factor if short else 1)
        e0 = p.errands[int(cit.cols["errand"][i])]
        service = max(30.0, base * (e.mean / e0.mean) * 60 * (p.short_factor if short else 1))
        booked.append(Booked(slot, e.code, e.minutes, u < p.no_show, slot + offset, service,
                             short))
    wc = _Citizens(r_wcit, p)
    walkins = []
    for i, t in enumerate(_arrivals(r_walk, p, length)):
        e, service, short, _, _, patience = wc.get(i)
        walkins.append(Walkin(t, e.code, e.minutes, service, patience, short))
    return World(index, length, tuple(booked), tuple(walkins))
