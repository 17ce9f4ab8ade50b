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
from dataclasses import dataclass
from datetime import datetime, timedelta

from .types import HOLDING_STATES, Counter, CounterState, DayState, Kind, State, Visit

INF = 1 << 60
#: An overrunning visit is expected to end this many seconds from now.
OVERRUN_SECONDS = 60
#: Finished visits of an errand needed before their quantile replaces the catalogue minutes.
MIN_SAMPLES = 5
_FAR = datetime.max.replace(tzinfo=None)
#: How far ahead a call-next decision looks at bookings not yet arrived: a walk-in of at
#: most an hour cannot push a booking further than this back (the server reads no further
#: ahead either: services.context.AppContext.horizon).
DECISION_HORIZON = timedelta(hours=3)


def _t(dt: datetime | None) -> datetime:
    return dt.replace(tzinfo=None) if dt else _FAR


def booked_key(v: Visit) -> tuple:
    return (-v.priority, _t(v.slot_start), _t(v.arrived_at), v.id)


def walkin_key(v: Visit) -> tuple:
    return (-v.priority, _t(v.arrived_at), v.id)


#: durations()'s last answer: (observed tuple, quantile, answer). The server and the
#: simulator keep the same observed tuple until a visit finishes, and a decision is made far
#: more often than that: the sort per errand is done once per change, not per decision.
_last_durations: tuple = ((), 0.0, {})


def durations(day: DayState) -> dict[str, float]:
    """Expected minutes per errand from the day's finished visits, where the rules ask for it.
    The answer is shared between calls with the same observed tuple: read it, never change it."""
    global _last_durations
    q = day.rules.duration_quantile
    if not q or not day.observed:
        return {}
    seen, seen_q, answer = _last_durations
    if seen is day.observed and seen_q == q:
        return answer
    by: dict[str, list[float]] = {}
    for errand, minutes in day.observed:
        if minutes >= 1:  # shorter is a slip of the finger, not a service
            by.setdefault(errand, []).append(minutes)
    out = {}
    for errand, xs in by.items():
        if len(xs) >= MIN_SAMPLES:
            xs.sort()
            out[errand] = xs[min(len(xs) - 1, int(q * len(xs)))]
    _last_durations = (day.observed, q, out)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class _Walkin:
    visit: Visit
    dur: float
    mask: int  # counters (by index) that handle its errand
    overdue_at: float  # from then on it may not be passed over


#: _counters()'s memo: the day's counters it was asked about, and per asking counter (by
#: id(), the counter kept beside its answer so the id stays its own) what it answered.
_counters_memo: tuple = ((), {})


def _counters(all_counters: tuple[Counter, ...], asking: Counter | None
              ) -> tuple[list[Counter], dict[int, int], dict[str, int]]:
    """The open counters (and the asking one) by id, their index, and a memo of which of
    them handle each errand (filled as errands come). Shared while the counters are the
    same objects (a day's counters change far more rarely than decisions are made): read
    them, never change them."""
    global _counters_memo
    seen, answers = _counters_memo
    if seen is not all_counters:
        answers = {}
        _counters_memo = (all_counters, answers)
    hit = answers.get(id(asking))
    if hit is not None and hit[0] is asking:
        return hit[1]
    counters = [c for c in all_counters if c.state is CounterState.OPEN]
    if asking is not None and all(c.id != asking.id for c in counters):
        counters.append(asking)
    counters.sort(key=lambda c: c.id)
    answer = (counters, {c.id: i for i, c in enumerate(counters)}, {})
    if len(answers) < 64:
        answers[id(asking)] = (asking, answer)
    return answer


class Model:
    """A day at `now` as the planner sees it (built once per decision or plan)."""

    def __init__(self, day: DayState, now: datetime, asking: Counter | None = None,
                 horizon: timedelta | None = None) -> None:
        self.now = now
        rules = day.rules
        counters, index, masks = _counters(day.counters, asking)
        self.counters, self.index = counters, index
        quant = durations(day)

        def mask(errand: str, counter_id: int | None) -> int:
            if counter_id is not None:
                i = index.get(counter_id)
                return 0 if i is None or not counters[i].handles(errand) else 1 << i
            m = masks.get(errand)
            if m is None:
                m = masks[errand] = sum(1 << i for i, c in enumerate(counters)
                                        if c.handles(errand))
            return m

        # seconds from now; this loop runs over the open day on every decision: kept lean
        t0 = now.timestamp()
        free = self.free = [0.0] * len(counters)
        jobs = []
        walkins = []
        ahead = rules.due_ahead_minutes * 60
        grace = rules.grace_minutes * 60
        limit = rules.passed_over_minutes * 60 if rules.passed_over_minutes else INF
        reach = horizon.total_seconds() if horizon is not None else INF
        booked_, waiting, walkin_ = State.BOOKED, State.WAITING, Kind.WALKIN
        for v in day.visits:
            state = v.state
            if state is booked_ or state is waiting:
                if v.kind is walkin_:
                    if state is not waiting:
                        continue
                    arrived = v.arrived_at.timestamp() - t0 if v.arrived_at else INF
                    seconds = quant.get(v.errand, v.expected_minutes) * 60 if quant else \
                        v.expected_minutes * 60
                    if v.counter_id is None:
                        m = masks.get(v.errand)
                        walkins.append(((-v.priority, arrived, v.id), _Walkin(
                            v, seconds, mask(v.errand, None) if m is None else m,
                            arrived + limit)))
                        continue
                    due, key, is_booked = 0, (-v.priority, INF, arrived, v.id), False
                    slot = -INF
                elif v.slot_start is None:
                    continue
                else:
                    slot = v.slot_start.timestamp() - t0
                    if state is booked_ and (slot + grace <= 0 or slot > reach):
                        continue  # a no-show (the gap is free), or beyond the horizon
                    arrived = v.arrived_at.timestamp() - t0 if v.arrived_at else INF
                    seconds = quant.get(v.errand, v.expected_minutes) * 60 if quant else \
                        v.expected_minutes * 60
                    key, is_booked = (-v.priority, slot, arrived, v.id), True
                    if v.counter_id is not None:
                        due = 0
                    elif state is waiting:
                        due = slot - ahead if slot > ahead else 0
                    else:
                        due = slot if slot > 0 else 0
                m = mask(v.errand, v.counter_id) if v.counter_id is not None else (
                    masks.get(v.errand) or mask(v.errand, None))
                if m:
                    # (due, key) decide the order; key ends with the visit's id: unique
                    jobs.append((due, key, v, is_booked, seconds, m, slot))
            elif state in HOLDING_STATES:
                i = index.get(v.counter_id)
                if i is not None:
                    begin = v.started_at or v.called_at or now
                    minutes = quant.get(v.errand, v.expected_minutes)
                    free[i] = max(free[i], begin.timestamp() - t0 + minutes * 60,
                                  OVERRUN_SECONDS)
        jobs.sort()
        self.n = len(jobs)
        if jobs:
            (self.due, self.key, self.visit, self.booked, self.dur, self.mask,
             self.slot) = (list(x) for x in zip(*jobs, strict=True))
        else:
            self.due, self.key, self.visit, self.booked, self.dur, self.mask, self.slot = (
                [], [], [], [], [], [], [])
        #: self.slot: a booked citizen's promise: starting later than this (and later than
        #: without the walk-in) is a delay; being called early is not a right
        walkins.sort(key=lambda w: w[0])
        self.walkins = [w for _, w in walkins if w.mask]

    def at(self, seconds: int) -> datetime:
        return self.now + timedelta(seconds=seconds)


class Sim:
    """Call next's dispatch of the jobs, counter by counter, event by event."""

    __slots__ = ("m", "free", "heap", "avail", "nxt", "sleep", "start", "walkins", "placed",
                 "t", "booked", "gaps", "open_gaps")

    def __init__(self, m: Model) -> None:
        self.m = m
        self.free = list(m.free)
        self.heap = [(f, k) for k, f in enumerate(m.free)]
        heapq.heapify(self.heap)
        self.avail: list[tuple[tuple, int]] = []
        self.nxt = 0
        self.sleep: set[int] = set()
        self.start: dict[int, int] = {}  # job -> start
        self.walkins: list[_Walkin] | None = None  # forward mode: walk-ins still to place
        self.placed: dict[int, int] = {}  # walk-in visit id -> start
        self.t = 0
        self.booked = sum(m.booked)  # booked citizens not yet started
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
            if self.nxt < self.m.n:
                t = min(t, self.m.due[self.nxt])
            if self.walkins:
                t = min(t, min((w.overdue_at for w in self.walkins if w.overdue_at > self.t),
                               default=INF))
        return t

    def release(self, t: int) -> bool:
        m, arrived = self.m, False
        while self.nxt < m.n and m.due[self.nxt] <= t:
            insort(self.avail, (m.key[self.nxt], self.nxt))
            self.nxt += 1
            arrived = True
        return arrived

    def pick(self, k: int) -> int | None:
        bit = 1 << k
        for i, (_, j) in enumerate(self.avail):
            if self.m.mask[j] & bit:
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
        m = self.m
        # forward mode: fit verdicts while nothing starts, shared by counters handling the
        # same errands (an approximation, for the estimates only: index order may differ)
        memo: dict = {}
        while self.heap and self.heap[0][0] <= t:
            _, k = heapq.heappop(self.heap)
            j = self.pick(k)
            if j is not None:
                self.start[j] = t
                self.booked -= m.booked[j]
                self.free[k] = t + m.dur[j]
                heapq.heappush(self.heap, (t + m.dur[j], k))
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
                self.free[k] = t + w.dur
                heapq.heappush(self.heap, (t + w.dur, k))
                memo.clear()
            else:
                self.free[k] = t
                self.sleep.add(k)
            touched.append(k)


def fits(sim: Sim, k: int, t: int, d: int) -> bool:
    """Would counter k, free at t, taking a walk-in for d seconds delay no booked citizen?

    `sim` is at time t with k's own event taken out. Runs the dispatch without and with the
    walk-in side by side until both are in the same state again (or one delays someone)."""
    m = sim.m
    base, wth = sim.clone(), sim.clone()
    base.free[k] = t
    heapq.heappush(base.heap, (t, k))
    wth.free[k] = t + d
    heapq.heappush(wth.heap, (t + d, k))
    diff, lag, lead = {k}, set(), set()
    while True:
        touched: list[int] = []
        bs: list[int] = []
        ws: list[int] = []
        base.step(t, touched, bs)
        wth.step(t, touched, ws)
        for j in bs:
            if j in wth.start:
                lead.discard(j)
            else:
                lag.add(j)
        for j in ws:
            if j in base.start:
                if m.booked[j] and wth.start[j] > max(base.start[j], m.slot[j]):
                    return False
                lag.discard(j)
            else:
                lead.add(j)
        for c in touched:
            if base.free[c] != wth.free[c]:
                diff.add(c)
            else:
                diff.discard(c)
        nt = min(base.next_time(), wth.next_time())
        if any(m.booked[j] and max(base.start[j], m.slot[j]) < nt for j in lag):
            return False  # started without the walk-in, and with it not before nt
        if nt >= INF:
            return True
        if not lag and not lead:
            diff = {c for c in diff if base.free[c] > nt or wth.free[c] > nt}
            if not diff:
                return True  # the same state from here on
        t = nt


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
    m = Model(day, now, asking=counter, horizon=DECISION_HORIZON)
    k = m.index[counter.id]
    sim = _at_turn(m, k)
    w = choose(sim, k, 0, m.walkins)
    return w.visit if w else None


def walkin_fits(day: DayState, walkin: Visit, counter_id: int | None, now: datetime) -> bool:
    """Does this walk-in fit now at that counter (None: at any open counter free now)?"""
    asking = day.counter(counter_id) if counter_id is not None else None
    m = Model(day, now, asking=asking, horizon=DECISION_HORIZON)
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
    sim = Sim(m)
    sim.free[k] = 0
    sim.heap = [(f, i) for i, f in enumerate(sim.free) if i != k]
    heapq.heapify(sim.heap)
    sim.release(0)
    return sim
