"""The planner's promises as properties over small random days, replayed minute by minute by
expected durations with call next deciding at every free counter (as the consoles do)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain import planner
from backend.domain.queue import choose_next, queue_plan
from backend.domain.types import CounterState, DayState, Kind, Rules, State

from .helpers import T0
from .test_domain_queue import DAY, booked, counter, walkin

ERRANDS = ("passport_adult", "mitid", "health_card")
LIMITS = (None, frozenset({"mitid"}), frozenset({"mitid", "health_card"}))


def some_counters(draw) -> list:
    """One to three counters; the first handles every errand, the others maybe fewer."""
    n = draw(st.integers(1, 3))
    return [counter(1)] + [counter(i, errands=draw(st.sampled_from(LIMITS)))
                           for i in range(2, n + 1)]


@st.composite
def random_days(draw):
    """Counters (at least one handles everything), bookings and walk-ins at whole minutes."""
    counters = some_counters(draw)
    visits = []
    for i in range(1, draw(st.integers(1, 15)) + 1):
        errand = draw(st.sampled_from(ERRANDS))
        minutes = draw(st.sampled_from((5, 10, 15, 20)))
        if draw(st.booleans()):
            visits.append(booked(i, draw(st.integers(0, 60)), state=State.BOOKED,
                                 errand=errand, minutes=minutes,
                                 priority=draw(st.sampled_from((0, 0, 0, 1)))))
        else:
            visits.append(walkin(i, draw(st.integers(0, 60)), minutes=minutes, errand=errand,
                                 state=State.BOOKED))  # registered when they arrive
    limit = draw(st.sampled_from((0, 20)))
    return counters, visits, Rules(passed_over_minutes=limit)


def replay(counters, visits, rules, check=None, until=400):
    """Booked citizens arrive at their slot, walk-ins at their time; every minute each free
    counter (by number) calls next and serves for the expected minutes. Returns the start
    minute of every visit served. `check(day, counter, now)` runs whenever call next at a
    free counter takes nobody."""
    state = {v.id: v for v in visits}
    starts: dict[int, int] = {}
    for t in range(until):
        now = T0 + timedelta(minutes=t)
        for v in list(state.values()):
            if v.state is State.SERVING and v.started_at + timedelta(
                    minutes=v.expected_minutes) <= now:
                del state[v.id]
            elif v.state is State.BOOKED and (v.slot_start or v.arrived_at) <= now:
                state[v.id] = replace(v, state=State.WAITING, arrived_at=now)
        if not state:
            break
        for c in counters:
            if any(v.counter_id == c.id for v in state.values()):
                continue
            d = DayState("s", DAY, tuple(counters), tuple(state.values()), rules)
            choice = choose_next(d, c, now)
            if choice.visit is None:
                if check:
                    check(d, c, now)
                continue
            v = choice.visit
            state[v.id] = replace(v, state=State.SERVING, counter_id=c.id, called_at=now,
                                  started_at=now)
            starts[v.id] = t
    return starts


@settings(max_examples=120, deadline=None)
@given(random_days())
def test_walkins_add_no_delay_to_any_booked_citizen(day):
    counters, visits, rules = day
    with_walkins = replay(counters, visits, rules)
    alone = replay(counters, [v for v in visits if v.kind is Kind.BOOKED], rules)
    for v in visits:
        if v.kind is Kind.BOOKED:  # starts in minutes; a start before the slot counts as it
            slot = int((v.slot_start - T0).total_seconds() // 60)
            assert max(with_walkins[v.id], slot) <= max(alone[v.id], slot), \
                (v.id, with_walkins, alone)


@settings(max_examples=80, deadline=None)
@given(random_days())
def test_no_walkin_that_fits_waits_while_a_counter_stands_idle(day):
    counters, visits, _ = day
    rules = Rules(passed_over_minutes=0)  # the limit may hold a fitting one back on purpose

    def check(d, c, now):
        for w in d.visits:
            if w.kind is Kind.WALKIN and w.state is State.WAITING and c.handles(w.errand):
                assert not planner.walkin_fits(d, w, c.id, now), (w.id, c.id, now)

    replay(counters, visits, rules, check=check)


@st.composite
def random_states(draw):
    """A day at 10:00 in any state: counters open, paused or closed, visits anywhere."""
    n = draw(st.integers(1, 3))
    counters = [counter(i, state=draw(st.sampled_from(list(CounterState))),
                        errands=draw(st.sampled_from(LIMITS))) for i in range(1, n + 1)]
    visits = []
    for i in range(1, draw(st.integers(0, 15)) + 1):
        state = draw(st.sampled_from([State.BOOKED, State.WAITING, State.WAITING,
                                      State.CALLED, State.SERVING, State.NO_SHOW]))
        errand = draw(st.sampled_from(ERRANDS))
        minutes = draw(st.sampled_from((5, 10, 15, 20)))
        cid = draw(st.sampled_from([None, None, *range(1, n + 1)]))
        extra = {}
        if state in (State.CALLED, State.SERVING):
            cid = cid or 1
            at = T0 - timedelta(minutes=draw(st.integers(0, 40)))
            extra = {"called_at": at, "started_at": at if state is State.SERVING else None}
        if draw(st.booleans()):
            visits.append(booked(i, draw(st.integers(-30, 120)), state=state, errand=errand,
                                 minutes=minutes, counter_id=cid, **extra))
        else:
            visits.append(walkin(i, draw(st.integers(-60, 0)), minutes=minutes, errand=errand,
                                 state=state, counter_id=cid, **extra))
    return DayState("s", DAY, tuple(counters), tuple(visits), Rules())


@settings(max_examples=200, deadline=None)
@given(random_states())
def test_estimates_whole_minutes_never_before_now_and_ranks_cover_the_queue(d):
    plan = queue_plan(d, T0)
    waiting = {v.id: v for v in d.visits if v.state is State.WAITING}
    # told to the minute (as screens show them), never before now's minute
    assert all(at >= T0.replace(second=0) and at.second == at.microsecond == 0
               for at in plan.estimates.values())
    assert set(plan.estimates) <= {i for i, v in waiting.items() if v.kind is Kind.WALKIN}
    assert set(plan.ranks) == set(waiting)
    assert sorted(plan.ranks.values()) == list(range(1, len(waiting) + 1))


@settings(max_examples=150, deadline=None)
@given(random_states())
def test_a_walkin_called_next_is_one_the_planner_says_fits(d):
    for c in d.counters:
        choice = choose_next(d, c, T0)
        if choice.reason == "walkin_fits":
            assert planner.walkin_fits(d, choice.visit, c.id, T0)


@st.composite
def close_slots(draw):
    """Booked citizens (arrived or not) with slots minutes apart around now, walk-ins
    waiting: where a model that reads the later bookings late could get the order wrong."""
    counters = some_counters(draw)
    visits = []
    for i in range(1, draw(st.integers(1, 15)) + 1):
        errand = draw(st.sampled_from(ERRANDS))
        minutes = draw(st.sampled_from((5, 10, 15, 20)))
        if draw(st.integers(0, 3)):
            visits.append(booked(i, draw(st.integers(-5, 8)), errand=errand, minutes=minutes,
                                 state=draw(st.sampled_from((State.BOOKED, State.WAITING)))))
        else:
            visits.append(walkin(i, draw(st.integers(-30, 0)), minutes=minutes, errand=errand))
    return DayState("s", DAY, tuple(counters), tuple(visits), Rules())


@settings(max_examples=300, deadline=None)
@given(st.one_of(random_states(), close_slots()),
       st.sampled_from((0, 60, 180, 600, 1800)), st.sampled_from((None, 5, 30, 90)))
def test_a_decision_that_reads_the_later_bookings_only_when_it_needs_them_decides_the_same(
        d, near, horizon_minutes):
    """A decision's model sets aside the booked citizens due after `near` (model.Model) and
    reads them only if its dispatch gets that far: the same walk-in chosen, the same fit
    answers, and once read, the same jobs in the same order as the model read whole."""
    horizon = timedelta(minutes=horizon_minutes) if horizon_minutes else None
    for c in d.counters:
        whole = planner.Model(d, T0, asking=c, horizon=horizon)
        lazy = planner.Model(d, T0, asking=c, horizon=horizon, near=near)
        assert lazy.booked_count == whole.booked_count == sum(whole.booked)
        assert lazy.key[:lazy.n] == whole.key[:lazy.n]
        assert lazy.complete or all(due > near for due in whole.due[lazy.n:])
        k = whole.index[c.id]
        a, b = (planner.choose(planner._at_turn(m, k), k, 0, m.walkins) for m in (whole, lazy))
        assert (a and a.visit.id) == (b and b.visit.id)
        for w in whole.walkins:
            assert planner.fits(planner._at_turn(whole, k), k, 0, w.dur) == \
                planner.fits(planner._at_turn(lazy, k), k, 0, w.dur)
        # the booked citizens' dispatch run to its end: the same start for everyone
        starts = []
        for m in (whole, planner.Model(d, T0, asking=c, horizon=horizon, near=near)):
            sim, t = planner.Sim(m), 0
            while t < planner.INF:
                sim.step(t, [], [])
                t = sim.next_time()
            starts.append({m.visit[j].id: at for j, at in sim.start.items()})
        assert starts[0] == starts[1]
        lazy.expand()
        assert lazy.complete and lazy.n == whole.n
        for field in ("due", "key", "visit", "booked", "dur", "mask", "slot"):
            assert getattr(lazy, field) == getattr(whole, field), field


def test_a_decision_reads_a_booking_due_soon_across_the_change_to_summer_time():
    """At 01:50 on the night the clocks go forward, 03:05 is 15 minutes away: a booking
    then is read with the ones due soon, not set aside by its wall-clock distance (75)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    cph = ZoneInfo("Europe/Copenhagen")
    now = datetime(2026, 3, 29, 1, 50, tzinfo=cph)
    soon = booked(1, 0, state=State.BOOKED)
    soon = replace(soon, slot_start=datetime(2026, 3, 29, 3, 5, tzinfo=cph))
    d = DayState("s", DAY, (counter(1),), (soon, walkin(2, -10)), Rules())
    m = planner.Model(d, now, asking=d.counters[0], horizon=planner.DECISION_HORIZON,
                      near=planner.NEAR)
    assert planner.NEAR > 17 * 60 and m.n == 1 and m.visit[0].id == 1
    assert m.slot[0] == 15 * 60


def _in(d: DayState, tz) -> DayState:
    """The same day with every time in the zone tz."""
    def moved(v):
        return replace(v, **{f: getattr(v, f).astimezone(tz) for f in (
            "slot_start", "arrived_at", "called_at", "last_called_at", "started_at")
            if getattr(v, f) is not None})
    return replace(d, visits=tuple(moved(v) for v in d.visits))


@settings(max_examples=300, deadline=None)
@given(st.one_of(random_states(), close_slots()), st.sampled_from((0, 60, 180, 1200)),
       st.sampled_from((5, 30, 180)), st.sampled_from((0, 1, -1, 500_000, -1_000_000, 59)))
def test_a_decision_in_utc_sets_aside_the_bookings_the_seconds_set_aside(
        d, near, horizon_minutes, micro):
    """In UTC (a fixed offset) a decision's model compares the slots with now + cut as
    datetimes (model.Model): the same jobs, set aside and read, as from the seconds read
    in Copenhagen's zone, also with now a microsecond or a second off the slots' grid."""
    from datetime import UTC

    horizon = timedelta(minutes=horizon_minutes)
    now = T0 + timedelta(microseconds=micro)
    utc = _in(d, UTC)
    for c in d.counters:
        a = planner.Model(d, now, asking=c, horizon=horizon, near=near)
        b = planner.Model(utc, now.astimezone(UTC), asking=c, horizon=horizon, near=near)
        for _ in range(2):
            assert (a.n, a.complete, a.booked_count) == (b.n, b.complete, b.booked_count)
            for field in ("due", "key", "booked", "dur", "mask", "slot"):
                assert getattr(a, field) == getattr(b, field), field
            assert [v.id for v in a.visit] == [v.id for v in b.visit]
            assert [w.visit.id for w in a.walkins] == [w.visit.id for w in b.walkins]
            a.expand()
            b.expand()


@st.composite
def alike_counters(draw):
    """Busy days at counters most often handling the same errands: bookings minutes apart,
    visits in service, walk-ins waiting, now and then a visit sent to one counter."""
    n = draw(st.integers(2, 4))
    errands = draw(st.sampled_from(LIMITS))
    counters = [counter(i, errands=errands if draw(st.integers(0, 5)) else
                        draw(st.sampled_from(LIMITS))) for i in range(1, n + 1)]
    visits = []
    for i in range(1, n + 1):
        if draw(st.booleans()):
            at = T0 - timedelta(minutes=draw(st.integers(0, 15)))
            visits.append(booked(100 + i, -20, state=State.SERVING, counter_id=i,
                                 minutes=draw(st.sampled_from((5, 10, 15, 20))),
                                 called_at=at, started_at=at))
    for i in range(1, draw(st.integers(1, 25)) + 1):
        errand = draw(st.sampled_from(ERRANDS))
        minutes = draw(st.sampled_from((5, 10, 15, 20)))
        cid = draw(st.sampled_from((None,) * 8 + (1, 2)))
        if draw(st.integers(0, 3)):
            visits.append(booked(i, draw(st.integers(-5, 90)), errand=errand, minutes=minutes,
                                 state=draw(st.sampled_from((State.BOOKED, State.WAITING))),
                                 counter_id=cid))
        else:
            visits.append(walkin(i, draw(st.integers(-40, 0)), minutes=minutes, errand=errand,
                                 counter_id=cid))
    return DayState("s", DAY, tuple(counters), tuple(visits), Rules())


@settings(max_examples=300, deadline=None)
@given(alike_counters())
def test_the_fit_test_ends_at_the_same_state_on_other_counters_with_the_same_answer(d):
    """With interchangeable counters the fit test ends as soon as both dispatches have the
    same free times at other counters (planner.fits, model.Model.alike): the same answers
    as when it waits for them at the same counters."""
    for c in d.counters:
        m = planner.Model(d, T0, asking=c, horizon=planner.DECISION_HORIZON, near=planner.NEAR)
        named = planner.Model(d, T0, asking=c, horizon=planner.DECISION_HORIZON,
                              near=planner.NEAR)
        named.alike = False
        if len({x.errands for x in d.counters}) == 1 and all(
                v.counter_id is None for v in d.visits
                if v.state in (State.BOOKED, State.WAITING)):
            assert m.alike
        k = m.index[c.id]
        for d_min in (1, 5, 10, 15, 20, 30, 45):
            assert planner.fits(planner._at_turn(m, k), k, 0, d_min * 60) == \
                planner.fits(planner._at_turn(named, k), k, 0, d_min * 60), d_min
