"""choose_next and the queue order, on hand-made days and as properties over random ones."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.queue import automatic_transitions, choose_next, queue_ranks, walkin_fits
from backend.domain.types import Counter, CounterState, DayState, Kind, Rules, State, Visit

from .helpers import T0

DAY = date(2026, 11, 24)


def counter(i: int, state=CounterState.OPEN, errands=None) -> Counter:
    return Counter(id=i, site_id="s", number=i, name=f"Skranke {i}", state=state,
                   staffed_by=f"u{i}", errands=errands)


def booked(i: int, slot_min: int, state=State.WAITING, **kw) -> Visit:
    return Visit(id=i, site_id="s", day=DAY, kind=Kind.BOOKED, ticket=f"B{i:03d}",
                 state=state, errand=kw.pop("errand", "passport_adult"),
                 expected_minutes=kw.pop("minutes", 10),
                 slot_start=T0 + timedelta(minutes=slot_min),
                 arrived_at=T0 - timedelta(minutes=5) if state is State.WAITING else None, **kw)


def walkin(i: int, arrived_min: int, minutes: int = 10, **kw) -> Visit:
    return Visit(id=i, site_id="s", day=DAY, kind=Kind.WALKIN, ticket=f"C{i:03d}",
                 state=kw.pop("state", State.WAITING), errand=kw.pop("errand", "health_card"),
                 expected_minutes=minutes, arrived_at=T0 + timedelta(minutes=arrived_min), **kw)


def day(visits, counters=(counter(1),), rules=Rules()) -> DayState:
    return DayState("s", DAY, tuple(counters), tuple(visits), rules)


def test_due_booked_citizen_comes_first():
    d = day([walkin(1, -30), booked(2, 1), booked(3, 0)])
    choice = choose_next(d, d.counters[0], T0)
    assert choice.visit.id == 3 and choice.reason == "booked_due"


def test_priority_beats_slot():
    d = day([booked(2, 0), booked(3, 1, priority=1)])
    assert choose_next(d, d.counters[0], T0).visit.id == 3


def test_walkin_fits_only_when_next_booking_is_far_enough():
    # next booked citizen (not arrived) in 15 minutes; a 10-minute walk-in fits
    d = day([walkin(1, -20, minutes=10), booked(2, 15, state=State.BOOKED)])
    choice = choose_next(d, d.counters[0], T0)
    assert choice.visit.id == 1 and choice.reason == "walkin_fits"
    # a 20-minute walk-in does not; nobody else is waiting
    d = day([walkin(1, -20, minutes=20), booked(2, 15, state=State.BOOKED)])
    choice = choose_next(d, d.counters[0], T0)
    assert choice.visit is None and choice.reason == "nobody"
    assert choice.next_booking_at == T0 + timedelta(minutes=15)
    assert choice.walkins_waiting == 1
    assert choice.held is not None and choice.held.id == 1  # said on screen: who waits


def test_walkin_fits_when_another_counter_is_idle():
    d = day([walkin(1, -20, minutes=20), booked(2, 15, state=State.BOOKED)],
            counters=(counter(1), counter(2)))
    assert walkin_fits(d, d.visits[0], 1, T0)
    assert choose_next(d, d.counters[0], T0).visit.id == 1


def test_shorter_later_walkin_fits_when_first_does_not():
    # (waiting 15 minutes: under the planner's passed-over limit of 20, see test_planner.py)
    d = day([walkin(1, -15, minutes=20), walkin(2, -10, minutes=5),
             booked(3, 10, state=State.BOOKED)])
    assert choose_next(d, d.counters[0], T0).visit.id == 2


def test_early_booked_citizen_when_no_walkin_fits():
    d = day([walkin(1, -30, minutes=30), booked(2, 20)])
    choice = choose_next(d, d.counters[0], T0)
    assert choice.visit.id == 2 and choice.reason == "booked_early"


def test_visit_assigned_to_other_counter_is_not_taken():
    d = day([booked(1, 0, counter_id=2)], counters=(counter(1), counter(2)))
    assert choose_next(d, d.counters[0], T0).visit is None
    assert choose_next(d, d.counters[1], T0).visit.id == 1


def test_counter_errands_limit_the_choice():
    c = counter(1, errands=frozenset({"mitid"}))
    d = day([booked(1, 0), booked(2, 5, errand="mitid")], counters=(c,))
    assert choose_next(d, c, T0).visit.id == 2


def test_queue_ranks_follow_call_next_order():
    d = day([walkin(1, -30, minutes=5), booked(2, 0), booked(3, 30), walkin(4, -5, minutes=40)])
    ranks = queue_ranks(d, T0)
    assert ranks == {2: 1, 1: 2, 3: 3, 4: 4}


def test_automatic_no_show_after_grace_and_max_calls_and_closing():
    rules = Rules(grace_minutes=10, max_calls=2, recall_min_seconds=30)
    late = booked(1, -11, state=State.BOOKED)
    ok = booked(2, -9, state=State.BOOKED)
    called = booked(3, -5, state=State.CALLED, call_count=2, counter_id=1,
                    last_called_at=T0 - timedelta(seconds=31))
    d = day([late, ok, called, walkin(4, -3)], rules=rules)
    changes = {c.before.id: c for c in automatic_transitions(d, T0, None)}
    assert set(changes) == {1, 3}
    assert changes[1].after.state is State.NO_SHOW and changes[1].after.left_reason == "not_arrived"
    assert changes[3].after.left_reason == "max_calls"
    closing = {c.before.id: c for c in automatic_transitions(d, T0, T0)}
    assert changes.keys() < closing.keys()
    assert closing[4].after.state is State.LEFT and closing[4].after.left_reason == "day_closed"


# --- properties over random days -------------------------------------------------------------
states = st.sampled_from([State.BOOKED, State.WAITING, State.CALLED, State.SERVING,
                          State.PARKED, State.DONE])


@st.composite
def random_day(draw):
    n_counters = draw(st.integers(1, 5))
    counters = [counter(i, state=draw(st.sampled_from(list(CounterState))),
                        errands=draw(st.sampled_from([None, frozenset({"mitid"}),
                                                      frozenset({"mitid", "health_card"})])))
                for i in range(1, n_counters + 1)]
    visits = []
    for i in range(1, draw(st.integers(0, 30)) + 1):
        state = draw(states)
        errand = draw(st.sampled_from(["mitid", "health_card", "passport_adult"]))
        cid = draw(st.sampled_from([None, *range(1, n_counters + 1)]))
        if state in (State.CALLED, State.SERVING) and cid is None:
            cid = 1
        if draw(st.booleans()):
            visits.append(booked(i, draw(st.integers(-60, 120)), state=state, errand=errand,
                                 counter_id=cid, priority=draw(st.integers(-1, 2))))
        else:
            visits.append(walkin(i, draw(st.integers(-120, 0)), state=state, errand=errand,
                                 minutes=draw(st.integers(5, 30)), counter_id=cid))
    return day(visits, counters=counters)


@settings(max_examples=300, deadline=None)
@given(random_day())
def test_choose_next_only_picks_a_waiting_visit_this_counter_may_take(d):
    for c in d.counters:
        choice = choose_next(d, c, T0)
        if choice.visit is None:
            continue
        v = choice.visit
        assert v.state is State.WAITING
        assert c.handles(v.errand)
        assert v.counter_id in (None, c.id)
        due = [w for w in d.visits if w.state is State.WAITING and w.kind is Kind.BOOKED
               and c.handles(w.errand) and w.counter_id in (None, c.id)
               and w.slot_start <= T0 + d.rules.due_ahead]
        if due and v.counter_id is None:
            # a due booked citizen always goes before walk-ins and early bookings
            assert v.kind is Kind.BOOKED and v.slot_start <= T0 + d.rules.due_ahead


@settings(max_examples=300, deadline=None)
@given(random_day())
def test_ranks_cover_every_waiting_visit_once(d):
    ranks = queue_ranks(d, T0)
    waiting = {v.id for v in d.visits if v.state is State.WAITING}
    assert set(ranks) == waiting
    assert sorted(ranks.values()) == list(range(1, len(waiting) + 1))


@settings(max_examples=200, deadline=None)
@given(random_day())
def test_nobody_means_no_eligible_visit(d):
    for c in d.counters:
        if choose_next(d, c, T0).visit is None:
            assert not [v for v in d.visits if v.state is State.WAITING
                        and c.handles(v.errand) and v.counter_id in (None, c.id)
                        and v.kind is Kind.BOOKED]


@settings(max_examples=200, deadline=None)
@given(random_day())
def test_nobody_tells_the_next_booking_and_the_walkins_held(d):
    """What the console shows when call next takes nobody: the next booked citizen still
    expected for the counter's errands, and the walk-ins waiting there (the first held)."""
    for c in d.counters:
        choice = choose_next(d, c, T0)
        if choice.visit is not None:
            continue
        coming = [v.slot_start for v in d.visits if v.state is State.BOOKED
                  and v.kind is Kind.BOOKED and c.handles(v.errand)
                  and v.slot_start > T0 - d.rules.grace]
        assert choice.next_booking_at == (min(coming) if coming else None)
        walkins = [v for v in d.visits if v.state is State.WAITING and v.kind is Kind.WALKIN
                   and c.handles(v.errand) and v.counter_id in (None, c.id)]
        assert choice.walkins_waiting == len(walkins)
        first = min(walkins, key=lambda v: (-v.priority, v.arrived_at, v.id), default=None)
        assert choice.held == first


@settings(max_examples=300, deadline=None)
@given(random_day())
def test_a_walkin_done_before_the_counters_next_booked_citizen_is_callable_fits(d):
    """A counter free now may always take a walk-in it is done with before anyone it would
    take instead can be called: no booked citizen can be delayed by that."""
    ahead, grace = d.rules.due_ahead_minutes * 60, d.rules.grace_minutes * 60
    for c in d.counters:
        callable_at = []  # seconds from now
        for v in d.visits:
            if not c.handles(v.errand) or v.counter_id not in (None, c.id):
                continue
            slot = (v.slot_start - T0).total_seconds() if v.slot_start else None
            if v.state is State.WAITING and v.counter_id == c.id:
                callable_at.append(0)
            elif v.state is State.WAITING and v.kind is Kind.BOOKED:
                callable_at.append(max(0, slot - ahead))
            elif v.state is State.BOOKED and v.kind is Kind.BOOKED and slot + grace > 0:
                callable_at.append(0 if v.counter_id == c.id else max(0, slot))
        for w in d.visits:
            if (w.state is State.WAITING and w.kind is Kind.WALKIN and w.counter_id is None
                    and c.handles(w.errand)
                    and w.expected_minutes * 60 <= min(callable_at, default=float("inf"))):
                assert walkin_fits(d, w, c.id, T0)
