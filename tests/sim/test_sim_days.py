"""Simulated Borgerservice days (issue 21): a deterministic day, common random numbers, the
policies' bookkeeping."""

from __future__ import annotations

from backend.sim import engine, params, world
from backend.sim.params import Errand

BOOKING = engine.Policy("booking", "booking")
PLANNER = engine.Policy("planner", "planner")
NAIVE = engine.Policy("naive", "naive")


def test_a_deterministic_day_waits_zero():
    """Everyone comes on time, takes exactly the booked minutes, nobody stays away."""
    p = params.default().with_(
        errands=(Errand("passport_adult", 0.5, 10, 10.0, 0.0),
                 Errand("health_card", 0.5, 5, 5.0, 0.0)),
        service_dist="fixed", no_show=0.0, arrival_mean=0.0, arrival_sd=0.0, short_share=0.0,
        walkins_per_hour_per_counter=0.0, booking_fill=0.9)
    for day in range(3):
        w = world.make(p, 5, day)
        assert w.booked and not w.walkins
        res = engine.run_day(w, PLANNER, p)
        assert len(res.booked_start) == len(w.booked)
        assert max(res.booked_wait) == 0
        assert all(res.booked_start[i] == b.slot for i, b in enumerate(w.booked))
        assert res.overtime == 0


def test_the_same_day_for_every_policy():
    p = params.default()
    a, b = world.make(p, 3, 7), world.make(p, 3, 7)
    assert a == b
    assert world.make(p, 3, 8) != a
    # another booking capacity keeps the walk-ins and the citizens' own draws
    c = world.make(p.with_(booking_capacity=5), 3, 7)
    assert c.walkins == a.walkins
    assert len(c.booked) < len(a.booked)


def test_policies_account_for_every_walkin():
    p = params.default().with_(counters=3, booking_capacity=3)
    w = world.make(p, 2, 0)
    for pol in (BOOKING, NAIVE, PLANNER):
        r = engine.run_day(w, pol, p)
        assert r.walkins_served + r.walkins_left + r.walkins_turned_away == len(w.walkins)
        assert len(r.booked_start) + r.no_shows == len(w.booked)
    base = engine.run_day(w, BOOKING, p)
    assert base.walkins_turned_away == len(w.walkins)
    naive = engine.run_day(w, NAIVE, p)
    assert naive.walkins_served > 0
    assert naive.idle < base.idle


def test_the_planner_is_the_servers(monkeypatch):
    """The engine decides through backend.domain.queue.choose_next and the planner's
    pick_walkin: every walk-in served under the planner policy is one it picked."""
    from backend.domain import planner

    p = params.default().with_(counters=2, booking_capacity=2)
    w = world.make(p, 4, 0)
    picked: set[int] = set()
    orig = planner.pick_walkin

    def spy(day, counter, now):
        v = orig(day, counter, now)
        if v is not None:
            picked.add(v.id)
        return v

    monkeypatch.setattr(planner, "pick_walkin", spy)
    r = engine.run_day(w, PLANNER, p)
    assert r.walkins_served == len(picked) > 0


def test_naive_asks_call_next_without_its_walkins_and_decides_the_same(monkeypatch):
    """The naive policy asks call next only whether a booked citizen is due (the planner's
    pick among the walk-ins is not wanted, and not computed): the same day as when call next
    is asked on the whole day and its pick thrown away."""
    from backend.domain import planner
    from backend.domain.planner import walkin_key
    from backend.domain.types import Kind, State

    p = params.default().with_(counters=3, booking_capacity=3)
    worlds = [world.make(p, 6, i) for i in range(3)]
    asked = []
    orig = planner.pick_walkin
    monkeypatch.setattr(planner, "pick_walkin", lambda *a: asked.append(1) or orig(*a))
    fast = [engine.run_day(w, NAIVE, p) for w in worlds]
    assert not asked and all(r.walkins_served for r in fast)

    def whole_day(self, day, counter, now):
        choice = engine.choose_next(day, counter, now)
        if choice.reason in ("booked_due", "assigned"):
            return choice.visit
        walkins = [v for v in day.visits if v.kind is Kind.WALKIN and v.state is State.WAITING]
        return min(walkins, key=walkin_key) if walkins else choice.visit

    monkeypatch.setattr(engine.Day, "choose", whole_day)
    for w, r in zip(worlds, fast, strict=True):
        slow = engine.run_day(w, NAIVE, p)
        assert asked  # the planner was asked this time
        assert (slow.booked_start, slow.walkin_wait) == (r.booked_start, r.walkin_wait)
        assert (slow.walkins_served, slow.walkins_left) == (r.walkins_served, r.walkins_left)
