"""The discrete-event simulation of one day under one policy.

Every decision is the server's own: which visit a free counter takes is
`backend.domain.queue.choose_next` on a DayState built as the server builds it (open
visits; booked citizens not yet arrived only from slot - grace to the planner's horizon
ahead), transitions are `backend.domain.lifecycle`'s, no-shows and closing are
`queue.automatic_transitions`. The simulator only decides what the world does: who
arrives when, how long each service takes, when a walk-in gives up. A free counter asks
call next whenever the open visits change (an arrival, a walk-in, a finish, a no-show, a
walk-in leaving) or an arrived booked citizen falls due; not at moments when nothing changed.

Simplifications (stated in the report): a called citizen starts at once (no walk to the
counter), counters are staffed all day and handle every errand, a booked citizen later
than the grace minutes is a no-show, and booked citizens still waiting at closing are
served (overtime) while waiting walk-ins are sent home.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ..domain import lifecycle
from ..domain.planner import walkin_key
from ..domain.queue import automatic_transitions, choose_next
from ..domain.types import Counter, CounterState, DayState, Kind, Outcome, Rules, State, Visit
from .params import Params
from .world import World

DAY = date(2026, 1, 5)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SITE = "sim"
WALKIN_ID = 1_000_000
#: The server's planner horizon for the shipped catalogue (services.context.horizon).
HORIZON = timedelta(minutes=180)
#: The server's duration quantile reads this many of the day's latest finished visits
#: (storage.repo.OBSERVED; not imported: the simulator needs no database).
OBSERVED = 200


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    kind: str  # booking | naive | planner
    duration_quantile: float = 0.8
    passed_over_minutes: int = 20

    def rules(self, p: Params) -> Rules:
        return Rules(grace_minutes=p.grace_minutes, slot_minutes=p.slot_minutes,
                     duration_quantile=self.duration_quantile,
                     passed_over_minutes=self.passed_over_minutes)


@dataclass(slots=True)
class DayResult:
    policy: str
    counters: int
    length: float
    #: booked index -> start seconds (absent: no-show or not served)
    booked_start: dict[int, float] = field(default_factory=dict)
    booked_wait: list[float] = field(default_factory=list)  # from max(slot, arrival)
    walkin_wait: list[float] = field(default_factory=list)  # served ones, seconds
    walkins_served: int = 0
    walkins_left: int = 0  # patience ran out, or sent home at closing
    walkins_turned_away: int = 0
    no_shows: int = 0
    busy: float = 0.0  # counter seconds in service within opening hours
    overtime: float = 0.0  # counter seconds in service after closing
    #: (arrival, start, finish) of every served visit (Little's law, the tests)
    spans: list[tuple[float, float, float, bool]] = field(default_factory=list)

    @property
    def idle(self) -> float:
        return max(0.0, self.counters * self.length - self.busy)


def _at(t: float) -> datetime:
    return T0 + timedelta(seconds=t)


class Day:
    """One day's run: the open visits, the counters, the agenda."""

    def __init__(self, world: World, policy: Policy, p: Params, counters: int) -> None:
        self.w, self.policy, self.p = world, policy, p
        self.rules = policy.rules(p)
        self.counters = tuple(Counter(k + 1, SITE, k + 1, f"Skranke {k + 1}", CounterState.OPEN,
                                      f"u{k + 1}") for k in range(counters))
        self.holding: dict[int, int | None] = {c.id: None for c in self.counters}
        self.visits: dict[int, Visit] = {}
        #: the open visits by state: booked citizens not yet arrived (in slot order), the rest
        self.expected: dict[int, Visit] = {}
        self.present: dict[int, Visit] = {}
        self.agenda: list[tuple[float, int, str, int]] = []
        #: every booked citizen's slot (seconds), in id order = slot order (world.py sorts)
        self.slots = [b.slot for b in world.booked]
        self.grace_s = self.rules.grace.total_seconds()
        self.horizon_s = HORIZON.total_seconds()
        self.seq = 0
        self.observed: list[tuple[str, float]] = []
        self._observed: tuple | None = None  # the DayState's, rebuilt after a finish
        self.res = DayResult(policy.name, counters, world.length)
        self.waiting = 0
        #: the open visits changed (or a waiting booked citizen fell due) since the counters
        #: last asked: only then do free counters ask call next again
        self.changed = True
        self.closed = False

    def at(self, t: float, what: str, ident: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.agenda, (t, self.seq, what, ident))

    # --- the day's state as the server builds it -------------------------------------------
    def state(self, now: datetime, everything: bool = False) -> DayState:
        if everything:
            visits = tuple(self.visits.values())
        else:
            # booked citizens not yet arrived with now - grace < slot < now + horizon, as the
            # server reads them (storage.repo.light_open_visits), found by bisection
            t = (now - T0).total_seconds()
            lo = bisect_right(self.slots, t - self.grace_s)
            hi = bisect_left(self.slots, t + self.horizon_s)
            get = self.expected.get
            visits = (*self.present.values(), *filter(None, map(get, range(lo + 1, hi + 1))))
        if self._observed is None:
            self._observed = (tuple(self.observed[-OBSERVED:])
                              if self.rules.duration_quantile else ())
        return DayState(SITE, DAY, self.counters, visits, self.rules, self._observed)

    def put(self, v: Visit) -> None:
        old = self.visits.get(v.id)
        was = old is not None and old.state is State.WAITING
        self.waiting += (v.state is State.WAITING) - was
        self.changed = True
        if v.state in (State.DONE, State.NO_SHOW, State.LEFT, State.CANCELLED):
            self.visits.pop(v.id, None)
            self.expected.pop(v.id, None)
            self.present.pop(v.id, None)
        else:
            self.visits[v.id] = v
            if v.state is State.BOOKED:
                self.expected[v.id] = v
            else:
                self.expected.pop(v.id, None)
                self.present[v.id] = v

    # --- the run ---------------------------------------------------------------------------
    def run(self) -> DayResult:
        w, p = self.w, self.p
        grace, ahead = p.grace_minutes * 60, self.rules.due_ahead_minutes * 60
        for i, b in enumerate(w.booked):
            v = Visit(i + 1, SITE, DAY, Kind.BOOKED, f"B{i + 1:03d}", State.BOOKED, b.errand,
                      b.minutes, slot_start=_at(b.slot))
            self.put(v)
            if not b.no_show and b.arrival < b.slot + grace:
                self.at(b.arrival, "arrive", v.id)
            self.at(max(0.0, b.slot - ahead), "due", v.id)
            self.at(b.slot + grace, "tick", v.id)
        for i, x in enumerate(w.walkins):
            self.at(x.arrival, "walkin", i)
        self.at(w.length, "close")
        while self.agenda:
            t = self.agenda[0][0]
            while self.agenda and self.agenda[0][0] == t:
                _, _, what, ident = heapq.heappop(self.agenda)
                getattr(self, "_" + what)(t, ident)
            if t >= 0 and self.waiting and self.changed:
                self.dispatch(t)
                self.changed = False
        # never came, came after slot + grace, or after closing (the day closed before them)
        self.res.no_shows = len(w.booked) - len(self.res.booked_start)
        return self.res

    def _arrive(self, t: float, ident: int) -> None:
        v = self.visits.get(ident)
        if v is not None and v.state is State.BOOKED:
            self.put(lifecycle.check_in(v, _at(t)))

    def _due(self, t: float, ident: int) -> None:
        v = self.visits.get(ident)
        if v is not None and v.state is State.WAITING:
            self.changed = True  # an arrived booked citizen's turn comes: call next takes them

    def _tick(self, t: float, ident: int) -> None:
        v = self.visits.get(ident)
        if v is not None and v.state is State.BOOKED:
            day = DayState(SITE, DAY, self.counters, (v,), self.rules)
            for ch in automatic_transitions(day, _at(t), None):
                self.put(ch.after)

    def _close(self, t: float, ident: int) -> None:
        self.closed = True
        for ch in automatic_transitions(self.state(_at(t), everything=True), _at(t), _at(t)):
            if ch.after.kind is Kind.WALKIN or ch.after.state is State.NO_SHOW:
                self.put(ch.after)
                if ch.after.kind is Kind.WALKIN:
                    self.res.walkins_left += 1

    def _walkin(self, t: float, ident: int) -> None:
        x = self.w.walkins[ident]
        if self.policy.kind == "booking" or self.closed:
            self.res.walkins_turned_away += 1
            return
        vid = WALKIN_ID + ident
        self.put(Visit(vid, SITE, DAY, Kind.WALKIN, f"C{ident + 1:03d}", State.WAITING,
                       x.errand, x.minutes, arrived_at=_at(t)))
        if math.isfinite(x.patience):
            self.at(t + x.patience, "leave", vid)

    def _leave(self, t: float, ident: int) -> None:
        v = self.visits.get(ident)
        if v is not None and v.state is State.WAITING:
            self.put(lifecycle.walk_out(v, _at(t), "left"))
            self.res.walkins_left += 1

    def _finish(self, t: float, ident: int) -> None:
        v = self.visits[ident]
        short = (self.w.walkins[v.id - WALKIN_ID].short if v.kind is Kind.WALKIN
                 else self.w.booked[v.id - 1].short)
        outcome = Outcome.MISSING_DOCUMENTS if short else Outcome.SERVED
        self.put(lifecycle.finish(v, _at(t), outcome))
        self.holding[v.counter_id] = None
        self.observed.append((v.errand, (t - (v.started_at - T0).total_seconds()) / 60))
        self._observed = None

    # --- call next -------------------------------------------------------------------------
    def choose(self, day: DayState, counter: Counter, now: datetime) -> Visit | None:
        if self.policy.kind != "naive":
            return choose_next(day, counter, now).visit
        # naive: call next's booked citizen if one is due (or assigned here), else the first
        # walk-in. Call next is asked without the walk-ins: what it would pick of them is
        # not wanted, and nothing else it answers depends on them (no walk-in here is
        # assigned to a counter while it waits)
        walkins = [v for v in day.visits if v.kind is Kind.WALKIN and v.state is State.WAITING]
        if not walkins:
            return choose_next(day, counter, now).visit
        booked = DayState(day.site_id, day.day, day.counters,
                          tuple(v for v in day.visits if v.kind is not Kind.WALKIN), day.rules,
                          day.observed)
        choice = choose_next(booked, counter, now)
        if choice.reason in ("booked_due", "assigned"):
            return choice.visit
        return min(walkins, key=walkin_key)

    def dispatch(self, t: float) -> None:
        now = _at(t)
        for c in self.counters:
            if self.holding[c.id] is not None:
                continue
            v = self.choose(self.state(now), c, now)
            if v is None:
                # the counters are alike (every errand, nobody assigned to one while
                # waiting) and all free ones are free now: they would all answer nobody
                break
            v = lifecycle.start(lifecycle.call(v, c.id, now), now)
            self.put(v)
            self.holding[c.id] = v.id
            if v.kind is Kind.WALKIN:
                x = self.w.walkins[v.id - WALKIN_ID]
                arrival, service = x.arrival, x.service
                self.res.walkins_served += 1
                self.res.walkin_wait.append(t - x.arrival)
            else:
                b = self.w.booked[v.id - 1]
                arrival, service = b.arrival, b.service
                self.res.booked_start[v.id - 1] = t
                self.res.booked_wait.append(t - max(b.slot, b.arrival))
            end = t + service
            self.res.busy += max(0.0, min(end, self.w.length) - t)
            self.res.overtime += max(0.0, end - max(t, self.w.length))
            self.res.spans.append((arrival, t, end, v.kind is Kind.WALKIN))
            self.at(end, "finish", v.id)
            if not self.waiting:
                break


def run_day(world: World, policy: Policy, p: Params, counters: int | None = None) -> DayResult:
    return Day(world, policy, p, counters or p.counters).run()
