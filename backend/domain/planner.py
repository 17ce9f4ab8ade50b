"""The planner: the chance queue's decisions (DESIGN.md "Planner", "A walk-in never delays a
booked citizen"). Pure functions of a DayState and `now`; the only place these are made.

The model, in whole seconds from `now`:

* Capacity: the site's *open* counters (a closed or paused counter gives none), pooled. A
  counter holding a visit is busy until that visit's expected end (started, or else called,
  + expected duration); an overrunning visit frees its counter at now + 1 minute.
* Jobs: booked citizens still due (waiting, or booked and not yet past slot + grace: a
  no-show opens its gap only then) and walk-ins assigned to a counter. A waiting booked
  citizen becomes callable `due_ahead` before the slot, one not yet arrived at the slot; a
  citizen assigned to a counter at once, there only. Cancelled and finished visits are gone.
* Dispatch mirrors call next: whenever a counter is free it takes the callable job it
  handles that comes first by (priority, slot, arrival, id); with none it waits for the next.
  Durations are the errand's expected minutes, or the `duration_quantile` of the day's
  finished visits of that errand when the site sets one and there are enough of them.
* Fit: a walk-in may be called at counter C at time t only if, with C busy for the walk-in's
  expected duration from t, no booked citizen would start later than without it, or than
  their slot if that is later (being called `due_ahead` early is a courtesy, not a promise).
  The two dispatches are run side by side until their states agree again.
* Choice: walk-ins in arrival order (priority first, as ever); the first that fits is
  taken, so a shorter later one may use a gap the first does not fit. A walk-in waiting
  longer than `passed_over_minutes` may no longer be passed over: at a counter that handles
  it, only the longest-waiting such walk-in may be chosen.
* Estimates: the same dispatch run forward with the waiting walk-ins placed by the same
  choice whenever a counter stands idle (re-checked at every event of the simulation):
  backend/domain/forward.py.
"""

from __future__ import annotations

import heapq
from bisect import insort
from datetime import datetime

from .model import (  # noqa: F401 (the planner's names, as forward.py and the tests use them)
    DECISION_HORIZON,
    INF,
    Model,
    _Walkin,
    booked_key,
    durations,
    walkin_key,
)
from .types import Counter, DayState, Visit

#: A decision reads the booked citizens due within this many seconds first, the rest only if
#: its dispatch runs further ahead (model.Model's `near`; a speed knob, never a rule: about
#: 6 % of the simulator's decisions read further at 20 minutes, 4 % at 40).
NEAR = 1200


class Sim:
    """Call next's dispatch of the jobs, counter by counter, event by event."""

    __slots__ = ("m", "free", "heap", "avail", "nxt", "sleep", "start", "walkins", "placed",
                 "t", "booked", "gaps", "open_gaps")

    def __init__(self, m: Model, free: list[float] | None = None) -> None:
        self.m = m
        if free is None:  # (else the caller sets free and heap)
            self.free = list(m.free)
            self.heap = [(f, k) for k, f in enumerate(m.free)]
            heapq.heapify(self.heap)
        else:
            self.free = free
        self.avail: list[tuple[tuple, int]] = []
        self.nxt = 0
        self.sleep: set[int] = set()
        self.start: dict[int, int] = {}  # job -> start
        self.walkins: list[_Walkin] | None = None  # forward mode: walk-ins still to place
        self.placed: dict[int, int] = {}  # walk-in visit id -> start
        self.t = 0
        self.booked = m.booked_count  # booked citizens not yet started
        #: forward mode: walk-in visit id -> [counter index, start, next booked start there]
        self.gaps: dict[int, list] = {}
        self.open_gaps: dict[int, list[int]] = {}  # counter index -> walk-ins whose gap is open

    def clone(self) -> Sim:
        s = Sim.__new__(Sim)
        s.m, s.free, s.heap, s.avail = self.m, list(self.free), list(self.heap), list(self.avail)
        s.nxt, s.sleep, s.start = self.nxt, set(self.sleep), {}
        s.walkins, s.placed, s.t, s.booked = None, {}, self.t, self.booked
        s.gaps, s.open_gaps = {}, {}
        return s

    def next_time(self) -> int:
        t = self.heap[0][0] if self.heap else INF
        if self.sleep:
            m = self.m
            if self.nxt >= m.n and not m.complete:
                m.expand()
            if self.nxt < m.n:
                t = min(t, m.due[self.nxt])
            if self.walkins:
                t = min(t, min((w.overdue_at for w in self.walkins if w.overdue_at > self.t),
                               default=INF))
        return t

    def release(self, t: int) -> bool:
        m, nxt = self.m, self.nxt
        if t > m.near:
            m.expand()  # the jobs due after `near` (model.Model) are wanted
        due, n = m.due, m.n
        if nxt >= n or due[nxt] > t:
            return False
        while nxt < n and due[nxt] <= t:
            insort(self.avail, (m.key[nxt], nxt))
            nxt += 1
        self.nxt = nxt
        return True

    def pick(self, k: int) -> int | None:
        bit, mask = 1 << k, self.m.mask
        for i, (_, j) in enumerate(self.avail):
            if mask[j] & bit:
                del self.avail[i]
                return j
        return None

    def step(self, t: int, touched: list[int], started: list[int]) -> None:
        """Everything that happens at time t (all earlier events done)."""
        self.t = t
        woke = self.release(t) or (self.walkins and t < INF)
        if woke and self.sleep:
            for k in self.sleep:
                heapq.heappush(self.heap, (t, k))
            self.sleep.clear()
        m, heap, free, avail = self.m, self.heap, self.free, self.avail
        # forward mode: fit verdicts while nothing starts, shared by counters handling the
        # same errands (an approximation, for the estimates only: index order may differ)
        memo: dict = {}
        while heap and heap[0][0] <= t:
            _, k = heapq.heappop(heap)
            j = self.pick(k) if avail else None
            if j is not None:
                self.start[j] = t
                self.booked -= m.booked[j]
                free[k] = t + m.dur[j]
                heapq.heappush(heap, (t + m.dur[j], k))
                started.append(j)
                memo.clear()
                if m.booked[j] and self.open_gaps:  # the gap at k ends with this booking
                    for vid in self.open_gaps.pop(k, ()):
                        self.gaps[vid][2] = t
            elif self.walkins and (w := choose(self, k, t, self.walkins, memo)) is not None:
                self.walkins = [x for x in self.walkins if x is not w]
                self.placed[w.visit.id] = t
                self.gaps[w.visit.id] = [k, t, None]
                self.open_gaps.setdefault(k, []).append(w.visit.id)
                free[k] = t + w.dur
                heapq.heappush(heap, (t + w.dur, k))
                memo.clear()
            else:
                free[k] = t
                self.sleep.add(k)
            touched.append(k)


def fits(sim: Sim, k: int, t: int, d: int) -> bool:
    """Would counter k, free at t, taking a walk-in for d seconds delay no booked citizen?

    `sim` is at time t with k's own event taken out. Runs the dispatch without and with the
    walk-in side by side until both are in the same state again (or one delays someone)."""
    m = sim.m
    if _idle_until(sim, k) >= t + d:
        return True
    if d > 0 and (not sim.heap or sim.heap[0][0] > t):
        # no other counter takes a job at t: without the walk-in k takes the first callable
        # job it handles now, with it nobody does before the next event (> t). If that job
        # is a booked citizen whose slot has come, the dispatch below would answer "delayed"
        # after its first step: answered here without running it
        bit, mask = 1 << k, m.mask
        for _, j in sim.avail:
            if mask[j] & bit:
                if m.booked[j] and m.slot[j] <= t:
                    return False
                break
    base, wth = sim.clone(), sim.clone()
    base.free[k] = t
    heapq.heappush(base.heap, (t, k))
    wth.free[k] = t + d
    heapq.heappush(wth.heap, (t + d, k))
    diff, lag, lead = {k}, set(), set()
    bstart, wstart, bfree, wfree = base.start, wth.start, base.free, wth.free
    while True:
        touched: list[int] = []
        bs: list[int] = []
        ws: list[int] = []
        _fit_step(base, t, touched, bs)
        _fit_step(wth, t, touched, ws)
        booked, slot = m.booked, m.slot  # read after the steps (they may read more jobs)
        for j in bs:
            if j in wstart:
                lead.discard(j)
            else:
                lag.add(j)
        for j in ws:
            if j in bstart:
                if booked[j] and wstart[j] > max(bstart[j], slot[j]):
                    return False
                lag.discard(j)
            else:
                lead.add(j)
        for c in touched:
            if bfree[c] != wfree[c]:
                diff.add(c)
            else:
                diff.discard(c)
        nt = min(base.next_time(), wth.next_time())
        if lag and any(booked[j] and max(bstart[j], slot[j]) < nt for j in lag):
            return False  # started without the walk-in, and with it not before nt
        if nt >= INF:
            return True
        if not lag and not lead:
            diff = {c for c in diff if bfree[c] > nt or wfree[c] > nt}
            if not diff:
                return True  # the same state from here on
            if m.alike and sorted(max(bfree[c], nt) for c in diff) == sorted(
                    max(wfree[c], nt) for c in diff):
                # the same free times on other counters: with interchangeable counters the
                # same jobs start at the same times from here on, only at other counters
                return True
        t = nt


def _fit_step(sim: Sim, t: float, touched: list[int], started: list[int]) -> None:
    """Sim.step without walk-ins to place (the fit test's dispatches): the same events,
    the forward plan's bookkeeping left out."""
    sim.t = t
    heap = sim.heap
    if sim.release(t) and sim.sleep:
        for k in sim.sleep:
            heapq.heappush(heap, (t, k))
        sim.sleep.clear()
    m, free, avail, start = sim.m, sim.free, sim.avail, sim.start
    while heap and heap[0][0] <= t:
        k = heapq.heappop(heap)[1]
        if avail:
            bit, mask = 1 << k, m.mask
            for i, (_, j) in enumerate(avail):
                if mask[j] & bit:
                    del avail[i]
                    start[j] = t
                    sim.booked -= m.booked[j]
                    free[k] = end = t + m.dur[j]
                    heapq.heappush(heap, (end, k))
                    started.append(j)
                    break
            else:
                free[k] = t
                sim.sleep.add(k)
        else:
            free[k] = t
            sim.sleep.add(k)
        touched.append(k)


def _idle_until(sim: Sim, k: int) -> float:
    """When the first job counter k handles becomes callable (INF: none is left; 0: one
    already is). Until then k takes nothing, with the walk-in or without it: if the walk-in
    ends by then, both dispatches are the same from start to end (the counters share only
    the callable jobs, and k takes none of them), so the walk-in fits."""
    m, bit = sim.m, 1 << k
    if any(m.mask[j] & bit for _, j in sim.avail):
        return 0
    start = sim.nxt
    while True:
        for j in range(start, m.n):
            if m.mask[j] & bit:
                return m.due[j]
        if m.complete:
            return INF
        start = m.n
        m.expand()


def choose(sim: Sim, k: int, t: float, walkins: list[_Walkin], memo: dict | None = None
           ) -> _Walkin | None:
    """The walk-in counter k, free at t, takes, if any fits (see the module's rules)."""
    bit = 1 << k
    cands = [w for w in walkins if w.mask & bit]
    if not cands:
        return None
    overdue = [w for w in cands if w.overdue_at <= t]
    if overdue:
        cands = overdue[:1]
    if not sim.booked:
        return cands[0]
    # the test depends only on the duration (not monotone in it: dispatch has anomalies)
    tried: dict = {} if memo is None else memo
    errands = sim.m.counters[k].errands
    for w in cands:
        ok = tried.get((errands, w.dur))
        if ok is None:
            ok = tried[(errands, w.dur)] = fits(sim, k, t, w.dur)
        if ok:
            return w
    return None


def pick_walkin(day: DayState, counter: Counter, now: datetime) -> Visit | None:
    """The waiting walk-in call next at `counter` (free now) takes, if one fits."""
    m = Model(day, now, asking=counter, horizon=DECISION_HORIZON, near=NEAR)
    k = m.index[counter.id]
    sim = _at_turn(m, k)
    w = choose(sim, k, 0, m.walkins)
    return w.visit if w else None


def walkin_fits(day: DayState, walkin: Visit, counter_id: int | None, now: datetime) -> bool:
    """Does this walk-in fit now at that counter (None: at any open counter free now)?"""
    asking = day.counter(counter_id) if counter_id is not None else None
    m = Model(day, now, asking=asking, horizon=DECISION_HORIZON, near=NEAR)
    ks = [m.index[counter_id]] if counter_id is not None else range(len(m.counters))
    d = next((w.dur for w in m.walkins if w.visit.id == walkin.id),
             walkin.expected_minutes * 60)
    for k in ks:
        if m.counters[k].handles(walkin.errand) and (counter_id is not None or m.free[k] <= 0):
            sim = _at_turn(m, k)
            if not sim.booked or fits(sim, k, 0, d):
                return True
    return False


def _at_turn(m: Model, k: int) -> Sim:
    """The dispatch at now, counter k free and about to choose."""
    free = list(m.free)
    free[k] = 0
    sim = Sim(m, free)
    sim.heap = [(f, i) for i, f in enumerate(free) if i != k]
    heapq.heapify(sim.heap)
    sim.release(0)
    return sim
