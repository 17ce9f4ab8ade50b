"""The planner on hand-made days: gaps, the fit test, the choice, the estimated call times."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from backend.domain import planner
from backend.domain.model import MIN_SAMPLES
from backend.domain.queue import choose_next, queue_plan
from backend.domain.types import CounterState, Rules, State

from .helpers import T0
from .test_domain_queue import booked, counter, day, walkin


def minutes(m: int):
    return T0 + timedelta(minutes=m)


def serving(i: int, counter_id: int, started_min: int, minutes: int = 10, **kw):
    return booked(i, started_min, state=State.SERVING, counter_id=counter_id, minutes=minutes,
                  started_at=T0 + timedelta(minutes=started_min), **kw)


# --- one counter ---------------------------------------------------------------------------
def test_one_counter_walkin_fits_the_gap_before_the_next_booking():
    d = day([walkin(1, -5, minutes=10), booked(2, 10, state=State.BOOKED)])
    assert choose_next(d, d.counters[0], T0).reason == "walkin_fits"
    d = day([walkin(1, -5, minutes=15), booked(2, 10, state=State.BOOKED)])
    choice = choose_next(d, d.counters[0], T0)
    assert choice.visit is None and choice.walkins_waiting == 1
    # it is expected after the booked citizen: slot 10 + 10 minutes
    assert queue_plan(d, T0).estimates == {1: minutes(20)}


def test_one_counter_walkin_fits_after_a_visit_in_service():
    # the counter is busy until 10:08; a 5-minute walk-in fits 10:08-10:13 before 10:15
    d = day([serving(9, 1, -2), walkin(1, -5, minutes=5), booked(2, 15, state=State.BOOKED)])
    assert queue_plan(d, T0).estimates == {1: minutes(8)}


def test_walkins_fill_gaps_in_arrival_order_and_wait_for_the_bookings():
    d = day([walkin(1, -9, minutes=5), walkin(2, -8, minutes=5), walkin(3, -7, minutes=10),
             booked(4, 10, state=State.BOOKED), booked(5, 20, state=State.BOOKED)])
    est = queue_plan(d, T0).estimates
    # 1 and 2 fill 10:00-10:10; the bookings take 10:10-10:30; 3 comes after them
    assert est == {1: minutes(0), 2: minutes(5), 3: minutes(30)}


# --- several counters (pooled) ---------------------------------------------------------------
def test_pooled_counters_absorb_a_long_walkin():
    d = day([walkin(1, -5, minutes=20), booked(2, 5, state=State.BOOKED)],
            counters=(counter(1), counter(2)))
    assert choose_next(d, d.counters[0], T0).reason == "walkin_fits"
    # with the other counter busy until 10:30 the booked citizen at 10:05 would wait
    d = day([walkin(1, -5, minutes=20), booked(2, 5, state=State.BOOKED), serving(9, 2, 0, 30)],
            counters=(counter(1), counter(2)))
    assert choose_next(d, d.counters[0], T0).visit is None
    # busy only until 10:05: it takes the booked citizen then, so the walk-in fits
    d = day([walkin(1, -5, minutes=20), booked(2, 5, state=State.BOOKED), serving(9, 2, -5, 10)],
            counters=(counter(1), counter(2)))
    assert choose_next(d, d.counters[0], T0).reason == "walkin_fits"


def test_errand_limits_count_in_the_pool():
    # counter 2 only does MitID: it cannot take the passport booking at 10:05
    c1, c2 = counter(1), counter(2, errands=frozenset({"mitid"}))
    d = day([walkin(1, -5, minutes=20), booked(2, 5, state=State.BOOKED)], counters=(c1, c2))
    assert choose_next(d, c1, T0).visit is None
    # ... while a walk-in for MitID fits at counter 2
    d = day([walkin(1, -5, minutes=20, errand="mitid"), booked(2, 5, state=State.BOOKED)],
            counters=(c1, c2))
    assert choose_next(d, c2, T0).reason == "walkin_fits"
    assert planner.walkin_fits(d, d.visits[0], None, T0)


def test_many_bookings_in_a_row_keep_every_counter_to_the_slot():
    bookings = [booked(10 + i, 5 * i, state=State.BOOKED) for i in range(8)]
    d = day([walkin(1, -5, minutes=5), *bookings], counters=(counter(1), counter(2)))
    # two counters, a 10-minute booking every 5 minutes: no gap until the last one
    assert choose_next(d, d.counters[0], T0).reason == "walkin_fits"  # 10:00-10:05 is free
    d = day([walkin(1, -5, minutes=10), *bookings], counters=(counter(1), counter(2)))
    assert choose_next(d, d.counters[0], T0).visit is None
    # the counters alternate on the bookings until the last (10:35-10:45): 10:40 at counter 1
    assert queue_plan(d, T0).estimates[1] == minutes(40)


# --- no-shows, overruns, counters closing ----------------------------------------------------
def test_a_no_show_opens_its_gap_only_after_the_grace():
    late = booked(2, -5, state=State.BOOKED)  # slot 09:55, not arrived, grace 10 minutes
    d = day([walkin(1, -20, minutes=15), late, booked(3, 20, state=State.BOOKED)])
    assert choose_next(d, d.counters[0], T0).visit is None  # may still come: counted as here
    later = T0 + timedelta(minutes=5)  # slot + grace passed: a no-show, the gap is free
    d = day([walkin(1, -20, minutes=15), late, booked(3, 20, state=State.BOOKED)],
            rules=Rules(passed_over_minutes=0))
    assert choose_next(d, d.counters[0], later).reason == "walkin_fits"
    # marked a no-show by the tick: the same
    d = day([walkin(1, -20, minutes=15), replace(late, state=State.NO_SHOW),
             booked(3, 20, state=State.BOOKED)], rules=Rules(passed_over_minutes=0))
    assert choose_next(d, d.counters[0], T0).reason == "walkin_fits"


def test_an_overrun_frees_its_counter_a_minute_from_now():
    # counter 1 is 5 minutes over a 10-minute visit; counter 2 asks; a booking at 10:01
    over = serving(9, 1, -15, 10)
    d = day([over, walkin(1, -5, minutes=10), booked(2, 1, state=State.BOOKED)],
            counters=(counter(1), counter(2)))
    # counter 1 is expected free at 10:01 and takes the booked citizen: the walk-in fits
    assert choose_next(d, d.counters[1], T0).reason == "walkin_fits"
    # a visit expected to run until 10:15 would make the booked citizen wait: no fit
    long = serving(9, 1, -5, 20)
    d = day([long, walkin(1, -5, minutes=10), booked(2, 1, state=State.BOOKED)],
            counters=(counter(1), counter(2)))
    assert choose_next(d, d.counters[1], T0).visit is None
    # and the estimate for a walk-in behind an overrun is never before now
    d = day([over, walkin(1, -5, minutes=10)])
    assert queue_plan(d, T0).estimates == {1: minutes(1)}


def test_a_counter_closing_at_noon_gives_no_capacity():
    noon = T0.replace(hour=12)

    def at_noon(state: CounterState):
        return day([walkin(1, 110, minutes=20), booked(2, 125, state=State.BOOKED)],
                   counters=(counter(1), counter(2, state=state)))

    # both open: the booking at 12:05 goes to counter 2, the walk-in fits at counter 1
    d = at_noon(CounterState.OPEN)
    assert choose_next(d, d.counters[0], noon).reason == "walkin_fits"
    for state in (CounterState.CLOSED, CounterState.PAUSED):
        d = at_noon(state)
        assert choose_next(d, d.counters[0], noon).visit is None
        # the walk-in is expected after the booking at counter 1 (12:05 + 10 minutes)
        assert queue_plan(d, noon).estimates == {1: noon + timedelta(minutes=15)}


def test_no_open_counter_no_estimate():
    d = day([walkin(1, -5)], counters=(counter(1, state=CounterState.CLOSED),))
    plan = queue_plan(d, T0)
    assert plan.estimates == {} and plan.ranks == {1: 1}


# --- which walk-in ---------------------------------------------------------------------------
def test_first_come_first_when_both_fit():
    d = day([walkin(1, -10, minutes=10), walkin(2, -15, minutes=5)])
    assert choose_next(d, d.counters[0], T0).visit.id == 2


def test_priority_before_arrival_among_walkins():
    d = day([walkin(1, -10, minutes=10), walkin(2, -5, minutes=5, priority=1)])
    assert choose_next(d, d.counters[0], T0).visit.id == 2


def test_a_walkin_passed_over_too_long_may_not_be_passed_again():
    visits = [walkin(1, -25, minutes=20), walkin(2, -10, minutes=5),
              booked(3, 10, state=State.BOOKED)]
    # waiting 25 minutes > 20: the 5-minute walk-in may not take the gap before it
    d = day(visits)
    assert choose_next(d, d.counters[0], T0).visit is None
    # with the limit off (or higher) the shorter one takes the gap
    for limit in (0, 30):
        d = day(visits, rules=Rules(passed_over_minutes=limit))
        assert choose_next(d, d.counters[0], T0).visit.id == 2
    # a counter that does not handle the long-waiting one's errand is not held up
    c2 = counter(2, errands=frozenset({"mitid"}))
    d = day([walkin(1, -25, minutes=20), walkin(2, -10, minutes=5, errand="mitid"),
             booked(3, 10, state=State.BOOKED)], counters=(counter(1), c2))
    assert choose_next(d, c2, T0).visit.id == 2


def test_estimates_honour_the_passed_over_limit():
    # 1 (20 minutes) cannot fit before 10:10; 2 (5 minutes) would, but 1 waited too long
    visits = [walkin(1, -25, minutes=20), walkin(2, -10, minutes=5),
              booked(3, 10, state=State.BOOKED)]
    assert queue_plan(day(visits), T0).estimates == {1: minutes(20), 2: minutes(40)}
    est = queue_plan(day(visits, rules=Rules(passed_over_minutes=0)), T0).estimates
    assert est == {2: minutes(0), 1: minutes(20)}


# --- durations -------------------------------------------------------------------------------
def test_duration_quantile_from_finished_visits_of_the_day():
    visits = [walkin(1, -5, minutes=15, errand="mitid"), booked(2, 10, state=State.BOOKED)]
    d = day(visits)
    assert choose_next(d, d.counters[0], T0).visit is None  # catalogue: 15 > 10
    quick = tuple(("mitid", m) for m in (6, 7, 8, 8, 9, 30, 0.2))
    fast = replace(d, observed=quick)
    # 0.8 quantile of the six real samples (the 0.2-minute slip does not count): 9 minutes
    assert planner.durations(fast) == {"mitid": 9}
    assert choose_next(fast, fast.counters[0], T0).reason == "walkin_fits"
    # too few samples, or the quantile off: the catalogue's minutes
    assert planner.durations(replace(d, observed=quick[:4])) == {}
    off = replace(fast, rules=Rules(duration_quantile=0))
    assert planner.durations(off) == {} and choose_next(off, off.counters[0], T0).visit is None


def test_kept_answers_follow_the_day_they_were_kept_for():
    """durations() and the counters' errands are kept between decisions while their inputs
    are the same objects: a new quantile, new finished visits or a paused counter is seen."""
    quick = tuple(("mitid", m) for m in (6, 7, 8, 8, 9, 30))
    d = replace(day([walkin(1, -5, minutes=15, errand="mitid")]), observed=quick)
    assert planner.durations(d) == {"mitid": 9}
    assert planner.durations(replace(d, rules=Rules(duration_quantile=0.5))) == {"mitid": 8}
    assert planner.durations(replace(d, observed=quick + (("mitid", 40),) * 3)) == {"mitid": 40}
    assert planner.durations(d) == {"mitid": 9}
    walkin_mitid = walkin(1, -5, minutes=5, errand="mitid")
    d = day([walkin_mitid])
    assert choose_next(d, d.counters[0], T0).visit.id == 1
    only_passports = replace(d.counters[0], errands=frozenset({"passport_adult"}))
    d2 = replace(d, counters=(only_passports, *d.counters[1:]))
    assert choose_next(d2, d2.counters[0], T0).visit is None


def test_durations_kept_up_to_date_as_visits_finish_are_those_read_whole():
    """The sorted minutes are updated when the next observed tuple is the last one with a
    visit added (and the oldest dropped: the server's window): the same answers as a whole
    reading, over random finishes (slips, repeated minutes) with other tuples in between."""
    import random

    def whole(observed, q):
        by: dict = {}
        for errand, m in observed:
            if m >= 1:
                by.setdefault(errand, []).append(m)
        return {e: sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]
                for e, xs in by.items() if len(xs) >= MIN_SAMPLES}

    rng = random.Random(5)
    d = day([])
    window: list = []
    for step in range(600):
        window.append((rng.choice(("mitid", "pas", "kort")),
                       rng.choice((0.3, 4.0, 7.5, 12.0)) if rng.random() < 0.4
                       else round(rng.uniform(0.5, 30), 1)))
        observed = tuple(window[-40:])
        q = 0.5 if step % 97 == 0 else 0.8
        if step % 53 == 0:  # another tuple in between
            planner.durations(replace(d, observed=observed[::-1][:30]))
        got = planner.durations(replace(d, observed=observed, rules=Rules(duration_quantile=q)))
        assert got == whole(observed, q), step


def test_durations_of_two_threads_from_the_same_last_answer_are_each_right():
    """Call next and the plan run in two threads, and both may update the same last answer
    (model._last_durations) at once: one update must not change what the other reads."""
    from backend.domain import model

    base = tuple(("mitid", 5.0 + i) for i in range(MIN_SAMPLES + 2))
    rules = Rules(duration_quantile=0.5)
    d = day([])
    planner.durations(replace(d, observed=base, rules=rules))
    shared = model._last_durations  # what both threads read before either stores its answer
    first = planner.durations(replace(d, observed=(*base, ("mitid", 1.0)), rules=rules))
    model._last_durations = shared  # the other thread, from the same last answer
    second = planner.durations(replace(d, observed=(*base, ("mitid", 50.0)), rules=rules))
    whole = sorted([m for _, m in base] + [50.0])
    assert second == {"mitid": whole[int(0.5 * len(whole))]}
    assert first != second


# --- ranks -----------------------------------------------------------------------------------
def test_ranks_follow_the_expected_call_times():
    d = day([walkin(1, -5, minutes=20), walkin(2, -3, minutes=5),
             booked(3, 0), booked(4, 30)])
    plan = queue_plan(d, T0)
    # 3 is due now (10:00-10:10); 1 fits 10:10-10:30: 4 (already here) would be called at
    # 10:28 without it, and is at its slot 10:30 with it; 2 comes after 4 (10:30-10:40)
    assert plan.estimates == {1: minutes(10), 2: minutes(40)}
    assert plan.ranks == {3: 1, 1: 2, 4: 3, 2: 4}


def test_a_citizen_here_early_is_promised_the_slot_not_the_call_ahead():
    # B at 10:05 is here; without the walk-in they would be called at 10:03 (two minutes
    # ahead). A 5-minute walk-in still fits: B starts at the slot. A 6-minute one does not.
    d = day([walkin(1, -1, minutes=5), booked(2, 5)])
    assert choose_next(d, d.counters[0], T0).reason == "walkin_fits"
    d = day([walkin(1, -1, minutes=6), booked(2, 5)])
    assert choose_next(d, d.counters[0], T0).reason == "booked_early"


def test_estimates_are_never_before_now_and_only_for_waiting_walkins():
    d = day([walkin(1, -50, minutes=5), walkin(2, -40, state=State.SERVING, counter_id=1,
                                               started_at=T0 - timedelta(minutes=40)),
             booked(3, -3)])
    est = queue_plan(d, T0).estimates
    assert set(est) == {1} and est[1] >= T0


def test_a_longer_walkin_may_fit_where_a_shorter_one_does_not():
    # found by the replay property: counter 2 does MitID only. With a 5-minute walk-in at
    # counter 1, counter 2 takes the MitID booking at 10:01 and counter 1 the passports; at
    # 10:27 idle counter 1 then takes the MitID booking and the passport at 10:28 waits a
    # minute longer than without it. With a 15-minute walk-in that does not happen.
    c1, c2 = counter(1), counter(2, errands=frozenset({"mitid"}))
    visits = [walkin(1, 0, minutes=5), walkin(2, 0, minutes=15),
              booked(4, 1, state=State.BOOKED, errand="mitid", minutes=15),
              *(booked(i, 1, state=State.BOOKED, minutes=5) for i in (5, 6, 10)),
              booked(11, 27, state=State.BOOKED, errand="mitid", minutes=5),
              booked(12, 28, state=State.BOOKED, minutes=5)]
    d = day(visits, counters=(c1, c2))
    assert not planner.walkin_fits(d, d.visits[0], 1, T0)
    assert planner.walkin_fits(d, d.visits[1], 1, T0)
    assert choose_next(d, c1, T0).visit.id == 2


def test_kept_seconds_since_the_epoch_are_those_of_each_datetime():
    """model._stamp keeps the seconds of datetimes in zones of fixed offset: equal ones are
    the same instant; in Copenhagen's zone the hour repeated in October is not kept."""
    from datetime import UTC, datetime, timezone
    from zoneinfo import ZoneInfo

    from backend.domain.model import _stamp

    cph = ZoneInfo("Europe/Copenhagen")
    times = []
    for fold in (0, 1):
        times.append(datetime(2026, 10, 25, 2, 30, fold=fold, tzinfo=cph))
    times += [t.astimezone(UTC) for t in times]
    times += [t.astimezone(timezone(timedelta(hours=1))) for t in times[:2]]
    times += [datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 2, 30, fold=1)]
    for order in (times, times[::-1], times[2:] + times[:2]):
        for t in order:
            assert _stamp(t) == t.timestamp(), t
