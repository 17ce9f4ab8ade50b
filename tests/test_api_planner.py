"""The planner behind the real server: call next takes a walk-in exactly when it fits, and the
estimated call times reach the day snapshot and the events."""

from __future__ import annotations

from sqlalchemy import select

from backend.domain import planner
from backend.storage import repo
from backend.storage.models import EventRow

from .helpers import settle
from .test_api_visits import book, walkin


def planner_says(ctx, visit_id: int) -> bool:
    """The planner's verdict for this walk-in at Skranke 1, from the server's own state."""
    site = ctx.site("test")
    now = ctx.clock.now()
    with ctx.db.read() as s:
        state = repo.day_state(s, "test", ctx.today(site, now), site.rules, now=now,
                               horizon=ctx.horizon)
        counter = repo.counters(s, "test")[0]
    v = next(v for v in state.visits if v.id == visit_id)
    return planner.walkin_fits(state, v, counter.id, now)


def day_visit(api, visit_id: int) -> dict:
    return next(v for v in api.ok("get", "/sites/test/day")["visits"] if v["id"] == visit_id)


def test_call_next_takes_the_walkin_exactly_when_the_planner_says_it_fits(rec, cw, ctx):
    w = walkin(rec, errand="pension", name="Ole Hansen")  # 20 minutes
    b = book(rec, minutes_from_now=15)  # passport, 10 minutes, at 10:15, not yet here
    assert not planner_says(ctx, w["id"])
    # expected after the booking: 10:15 + 10 minutes, at the only open counter
    assert day_visit(rec, w["id"])["estimated_call_at"] == "2026-11-24T10:25:00+01:00"
    assert day_visit(rec, b["id"])["estimated_call_at"] is None
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["visit"] is None and r["walkins_waiting"] == 1
    # 10:20: the booked citizen may still come (grace 10 minutes): still no fit
    ctx.clock.advance(minutes=20)
    assert not planner_says(ctx, w["id"])
    assert cw.post("/sites/test/counters/1/call-next").json()["visit"] is None
    estimate = day_visit(rec, w["id"])["estimated_call_at"]
    # the late citizen is counted as here, served 10:20-10:30: the walk-in after them
    assert estimate == "2026-11-24T10:30:00+01:00"
    # 10:26: slot + grace has passed, a no-show: the gap is the walk-in's
    ctx.clock.advance(minutes=6)
    assert planner_says(ctx, w["id"])
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["reason"] == "walkin_fits" and r["visit"]["id"] == w["id"]


def test_a_short_walkin_is_called_into_the_gap_and_a_long_one_waits(rec, cw, ctx):
    long = walkin(rec, errand="pension", name="A")  # 20 minutes
    short = walkin(rec, errand="health_card", name="B")  # 5 minutes
    book(rec, minutes_from_now=10)
    assert not planner_says(ctx, long["id"]) and planner_says(ctx, short["id"])
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["reason"] == "walkin_fits" and r["visit"]["id"] == short["id"]
    # the long one's estimate: after the short one (10:05) and the booking (10:10-10:20)
    assert day_visit(rec, long["id"])["estimated_call_at"] == "2026-11-24T10:20:00+01:00"


def _seq(events, action: str) -> int:
    return next(e.seq for e in events if e.type == f"visit.{action}")


def test_events_carry_the_estimates_without_personal_data(rec, cw, ctx):
    w = walkin(rec, errand="pension", name="Ole Hansen", phone="+45 12 34 56 78")
    assert w["estimated_call_at"] == "2026-11-24T10:00:00+01:00"  # its answer says when
    book(rec, minutes_from_now=15)
    settle(ctx)
    with ctx.db.read() as s:
        events = list(s.scalars(select(EventRow).order_by(EventRow.seq)))
    plans = [e for e in events if e.type == "queue.plan"]
    # the plan after the walk-in, then the one after the booking pushed it back
    first = next(p.data for p in plans if p.data["as_of"] >= _seq(events, "register_walkin"))
    assert first["estimates"] == {str(w["id"]): "2026-11-24T10:00:00+01:00"}
    assert first["queue"] == [w["id"]]
    last = plans[-1].data
    assert last["as_of"] >= _seq(events, "book")
    assert last["estimates"] == {str(w["id"]): "2026-11-24T10:25:00+01:00"}
    text = str([e.data for e in events])
    assert "Ole" not in text and "12 34" not in text


def test_a_walkin_is_told_the_gap_it_is_planned_into(rec, cw, ctx):
    # one open counter; a passport booking at 10:30 (10 minutes) leaves 10:00-10:30 free
    b = book(rec, minutes_from_now=30)
    w = walkin(rec, errand="mitid", name="Ida Berg")  # 10 minutes: fits before 10:30
    assert w["estimated_call_at"] == "2026-11-24T10:00:00+01:00"
    assert w["planned_gap"] == {"counter": 1, "start": "2026-11-24T10:00:00+01:00",
                                "until": b["slot_start"]}
    # the snapshot says the same; the plan event has the estimate, no personal data
    assert day_visit(rec, w["id"])["planned_gap"] == w["planned_gap"]
    settle(ctx)
    with ctx.db.read() as s:
        last = s.scalars(select(EventRow).where(EventRow.type == "queue.plan")
                         .order_by(EventRow.seq.desc())).first().data
    assert last["estimates"] == {str(w["id"]): w["estimated_call_at"]} and "Ida" not in str(last)
    # a long walk-in does not fit before the booking: planned after it, nothing follows
    long = walkin(rec, errand="pension", name="Ole Hansen")  # 20 minutes
    assert long["planned_gap"]["start"] >= "2026-11-24T10:40:00+01:00"
    assert long["planned_gap"]["until"] is None


def test_the_snapshot_has_the_order_the_plan_events_carry(rec, cw, ctx):
    for i in range(3):
        walkin(rec, errand="mitid", name=f"W{i}")
    book(rec, minutes_from_now=5)
    settle(ctx)
    day = rec.ok("get", "/sites/test/day")
    with ctx.db.read() as s:
        last = s.scalars(select(EventRow).where(EventRow.type == "queue.plan")
                         .order_by(EventRow.seq.desc())).first()
    ranked = sorted((v for v in day["visits"] if v["queue_rank"]), key=lambda v: v["queue_rank"])
    assert [v["id"] for v in ranked] == last.data["queue"]
    assert {str(v["id"]): v["estimated_call_at"] for v in ranked
            if v["estimated_call_at"]} == last.data["estimates"]
