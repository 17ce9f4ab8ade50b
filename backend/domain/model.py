"""The planner's model of a day at `now` (planner.py's module docstring has the rules): the
open counters' capacity and the jobs (booked citizens still due, assigned walk-ins) and
waiting walk-ins, in whole seconds from `now`, with the expected durations they take.
Pure functions of a DayState and `now` (DESIGN.md rule 6).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from datetime import datetime, timedelta, timezone

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
    # the wall clock: dt.replace(tzinfo=None), built four times faster
    return datetime.combine(dt.date(), dt.time()) if dt else _FAR


def booked_key(v: Visit) -> tuple:
    return (-v.priority, _t(v.slot_start), _t(v.arrived_at), v.id)


def walkin_key(v: Visit) -> tuple:
    return (-v.priority, _t(v.arrived_at), v.id)


#: durations()'s last answer: (observed tuple, quantile, answer, the minutes of each errand
#: sorted). The server and the simulator keep the same observed tuple until a visit
#: finishes, and a decision is made far more often than that; the next tuple is most often
#: the last one with a visit added (and the oldest dropped): the sorted minutes are then
#: updated, not sorted again.
_last_durations: tuple = ((), 0.0, {}, {})


def _sorted_minutes(observed: tuple) -> dict[str, list[float]]:
    by: dict[str, list[float]] = {}
    get = by.get
    for errand, minutes in observed:
        if minutes >= 1:  # shorter is a slip of the finger, not a service
            xs = get(errand)
            if xs is None:
                by[errand] = [minutes]
            else:
                xs.append(minutes)
    for xs in by.values():
        xs.sort()
    return by


def durations(day: DayState) -> dict[str, float]:
    """Expected minutes per errand from the day's finished visits, where the rules ask for it.
    The answer is shared between calls with the same observed tuple: read it, never change it."""
    global _last_durations
    q, observed = day.rules.duration_quantile, day.observed
    if not q or not observed:
        return {}
    seen, seen_q, answer, by = _last_durations
    if seen is observed and seen_q == q:
        return answer
    drop = len(seen) + 1 - len(observed)  # the oldest dropped (1) or not (0)
    if seen_q == q and seen and drop in (0, 1) and observed[:-1] == seen[drop:]:
        # a new dict and new lists for the errands that change: the last answer's are
        # shared with any other thread reading it (call next and the plan run in two)
        by = dict(by)
        if drop:
            errand, minutes = seen[0]
            if minutes >= 1:
                xs = by[errand] = by[errand][:]
                del xs[bisect_left(xs, minutes)]
        errand, minutes = observed[-1]
        if minutes >= 1:
            xs = by[errand] = by.get(errand, [])[:]
            insort(xs, minutes)
    else:
        by = _sorted_minutes(observed)
    out = {errand: xs[min(len(xs) - 1, int(q * len(xs)))]
           for errand, xs in by.items() if len(xs) >= MIN_SAMPLES}
    _last_durations = (observed, q, out, by)
    return out


#: seconds since the epoch of datetimes in a zone of fixed offset (UTC: the server's and the
#: simulator's times), kept: a decision reads those of the open visits, and the decision
#: before read most of them. Equal such datetimes are the same instant, as are equal aware
#: datetimes of different zones (a zone with summer time has equal wall clocks an hour
#: apart: those are not kept).
_STAMPS: dict[datetime, float] = {}


def _stamp(dt: datetime) -> float:
    x = _STAMPS.get(dt)
    if x is None:
        x = dt.timestamp()
        if type(dt.tzinfo) is timezone:
            if len(_STAMPS) >= 4096:
                _STAMPS.clear()
            _STAMPS[dt] = x
    return x


class _Walkin:
    """A waiting walk-in as the planner sees it (read, never changed; a plain class: one is
    built per waiting walk-in per decision, a frozen dataclass costs twice as much)."""

    __slots__ = ("visit", "dur", "mask", "overdue_at")

    def __init__(self, visit: Visit, dur: float, mask: int, overdue_at: float) -> None:
        self.visit = visit
        self.dur = dur
        self.mask = mask  # counters (by index) that handle its errand
        self.overdue_at = overdue_at  # from then on it may not be passed over


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
    """A day at `now` as the planner sees it (built once per decision or plan).

    The jobs, in the order (due, key): `due`, `key`, `visit`, `booked`, `dur`, `mask`, `slot`
    (index j), the first `n` of them known. With `near` (seconds), a booked citizen whose
    slot is more than `near` + due_ahead (+ 1 s) from now, and who is sent to no counter, is
    set aside unread: every job due by `near` is then among the first `n`, in its place.
    `expand()` reads the rest (`complete` after it); the dispatch (planner.Sim) calls it
    before it reads a job past `n` or releases the jobs due after `near`. A decision looks a
    few minutes ahead (its fit test runs until the dispatches with and without the walk-in
    agree), so it rarely reads the whole horizon; a plan reads the whole day (no `near`).
    """

    def __init__(self, day: DayState, now: datetime, asking: Counter | None = None,
                 horizon: timedelta | None = None, near: float | None = None) -> None:
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
        # (a branch per state, each visit's fields read once)
        t0 = now.timestamp()
        stamp = _stamp
        free = self.free = [0.0] * len(counters)
        jobs: list[tuple] = []
        walkins = []
        ahead = rules.due_ahead_minutes * 60
        grace = rules.grace_minutes * 60
        limit = rules.passed_over_minutes * 60 if rules.passed_over_minutes else INF
        reach = horizon.total_seconds() if horizon is not None else INF
        booked_, waiting, walkin_ = State.BOOKED, State.WAITING, Kind.WALKIN
        qget, mget, append = quant.get, masks.get, jobs.append
        # set aside: booked citizens (no counter) with a slot more than `cut` seconds from
        # now, counted as jobs at once (their seconds from now are read: the seconds that
        # pass, whatever the zone's clock does)
        cut = near + ahead + 1 if near is not None else INF
        # in a zone of fixed offset (UTC: the server's and the simulator's) a slot is first
        # compared with now + cut as a datetime, without reading its seconds: the same answer
        # (cut and the horizon are whole seconds, and a slot's float seconds from now round
        # to the same side of a whole number), far cheaper; in a zone with summer time the
        # wall clock is not the seconds that pass: the seconds are read
        cut_at = reach_at = None
        if (near is not None and horizon is not None and isinstance(now.tzinfo, timezone)
                and cut == int(cut) and not horizon.microseconds):
            cut_at, reach_at = now + timedelta(0, cut), now + horizon  # (0, cut): 3x faster
        far: list[Visit] = []  # each a job if its errand is handled (counted after the loop)
        aside = far.append
        for v in day.visits:
            state = v.state
            if state is booked_:
                if v.kind is walkin_:
                    continue
                s = v.slot_start
                if s is None:
                    continue
                cid = v.counter_id
                if cid is None and cut_at is not None and s > cut_at:
                    if s <= reach_at:  # (else beyond the horizon)
                        aside(v)
                    continue
                slot = stamp(s) - t0
                if slot + grace <= 0 or slot > reach:
                    continue  # a no-show (the gap is free), or beyond the horizon
                if slot > cut and cid is None:
                    aside(v)
                    continue
                a = v.arrived_at
                arrived = stamp(a) - t0 if a else INF
                errand = v.errand
                if cid is None:
                    due = slot if slot > 0 else 0
                    m = mget(errand) or mask(errand, None)
                else:
                    due = 0
                    m = mask(errand, cid)
                if m:
                    # (due, key) decide the order; key ends with the visit's id: unique
                    append((due, (-v.priority, slot, arrived, v.id), v, True,
                            qget(errand, v.expected_minutes) * 60, m, slot))
            elif state is waiting:
                errand, cid = v.errand, v.counter_id
                if v.kind is walkin_:
                    a = v.arrived_at
                    arrived = stamp(a) - t0 if a else INF
                    seconds = qget(errand, v.expected_minutes) * 60
                    if cid is None:
                        m = mget(errand)
                        walkins.append(((-v.priority, arrived, v.id), _Walkin(
                            v, seconds, mask(errand, None) if m is None else m,
                            arrived + limit)))
                        continue
                    m = mask(errand, cid)
                    if m:
                        append((0, (-v.priority, INF, arrived, v.id), v, False, seconds, m,
                                -INF))
                    continue
                s = v.slot_start
                if s is None:
                    continue
                if cid is None and cut_at is not None and s > cut_at:
                    aside(v)
                    continue
                slot = stamp(s) - t0
                if slot > cut and cid is None:
                    aside(v)
                    continue
                a = v.arrived_at
                arrived = stamp(a) - t0 if a else INF
                if cid is None:
                    due = slot - ahead if slot > ahead else 0
                    m = mget(errand) or mask(errand, None)
                else:
                    due = 0
                    m = mask(errand, cid)
                if m:
                    append((due, (-v.priority, slot, arrived, v.id), v, True,
                            qget(errand, v.expected_minutes) * 60, m, slot))
            elif state in HOLDING_STATES:
                i = index.get(v.counter_id)
                if i is not None:
                    begin = v.started_at or v.called_at or now
                    minutes = qget(v.errand, v.expected_minutes)
                    free[i] = max(free[i], stamp(begin) - t0 + minutes * 60,
                                  OVERRUN_SECONDS)
        jobs.sort()
        self._jobs = jobs
        self._set(jobs)
        #: the counters are interchangeable: the same errands, and no job sent to one of them
        #: (planner.fits: states alike but for the counters' names are the same state); the
        #: jobs set aside are sent to no counter
        full = (1 << len(counters)) - 1
        self.alike = (len({c.errands for c in counters}) == 1
                      and all(x == full for x in self.mask))
        #: self.slot: a booked citizen's promise: starting later than this (and later than
        #: without the walk-in) is a delay; being called early is not a right
        walkins.sort()  # by key: unique (it ends with the visit's id)
        self.walkins = [w for _, w in walkins if w.mask]
        self.near = INF
        self.complete = True
        #: booked citizens among the jobs (those set aside counted too)
        self.booked_count = sum(self.booked)
        if far:
            self.near, self.complete, self._aside = near, False, far
            self._ctx = (t0, ahead, grace, reach, qget, mget, mask)
            # only jobs due by `near` are certainly in their place among those read
            self.n = bisect_right(self.due, near)
            if any(c.errands is None for c in counters):  # every errand handled somewhere
                self.booked_count += len(far)
            else:
                self.booked_count += sum(1 for v in far if mget(v.errand) or mask(v.errand, None))

    def _set(self, jobs: list[tuple]) -> None:
        self.n = len(jobs)
        if jobs:
            (self.due, self.key, self.visit, self.booked, self.dur, self.mask,
             self.slot) = zip(*jobs, strict=True)
        else:
            self.due, self.key, self.visit, self.booked, self.dur, self.mask, self.slot = (
                (), (), (), (), (), (), ())

    def _aside_jobs(self) -> list[tuple]:
        """The jobs of the booked citizens set aside (the loop of __init__ for them)."""
        t0, ahead, grace, reach, qget, mget, mask = self._ctx
        stamp = _stamp
        out = []
        for v in self._aside:
            s, errand = v.slot_start, v.errand
            slot = stamp(s) - t0
            if v.state is State.BOOKED:
                if slot + grace <= 0 or slot > reach:
                    continue
                due = slot if slot > 0 else 0
            else:
                due = slot - ahead if slot > ahead else 0
            a = v.arrived_at
            arrived = stamp(a) - t0 if a else INF
            m = mget(errand) or mask(errand, None)
            if m:
                out.append((due, (-v.priority, slot, arrived, v.id), v, True,
                            qget(errand, v.expected_minutes) * 60, m, slot))
        return out

    def expand(self) -> None:
        """Read the booked citizens set aside: every job known and in its place."""
        if self.complete:
            return
        jobs = self._jobs
        jobs.extend(self._aside_jobs())
        jobs.sort()
        self._set(jobs)
        self.near, self.complete = INF, True

    def at(self, seconds: int) -> datetime:
        return self.now + timedelta(seconds=seconds)
