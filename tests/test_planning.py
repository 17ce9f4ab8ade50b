"""The published plan (services/planning.py): one plan event per change of the plan, never an
older one after a newer, and answers that wait for the plan covering them."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from backend.services import counters, visits
from backend.services.context import SYSTEM, Actor, Tx
from backend.services.planning import Planner
from backend.storage.models import EventRow, Meta, SiteRow, VisitRow


def plan_events(ctx) -> list[EventRow]:
    with ctx.db.read() as s:
        return list(s.scalars(select(EventRow).where(EventRow.type == "queue.plan")
                              .order_by(EventRow.seq)))


def open_counter(ctx) -> None:
    with ctx.db.write() as s:
        counters.open_counter(Tx(ctx, s, Actor("t1", "caseworker", "anne")), "test", 1)


def register(ctx, name: str) -> dict:
    with ctx.db.write() as s:
        return visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "mitid", name, None, None,
                                      None, 0)


def test_one_event_per_new_plan_and_none_for_the_same_plan(ctx):
    a, b = Planner(ctx), Planner(ctx)  # two server processes on one database
    w = register(ctx, "Ida Berg")
    first = a.make("test", None)
    events = plan_events(ctx)
    assert len(events) == 1 and events[0].data["queue"] == [w["id"]]
    assert events[0].data["as_of"] == events[0].seq - 1  # the change just before it
    assert first.as_of == events[0].seq  # nothing came between: it covers its own event too
    assert a.make("test", first) is first  # nothing new: not even planned again
    again = b.make("test", None)  # the other process plans the same state
    assert again.plan.ranks == first.plan.ranks and len(plan_events(ctx)) == 1
    register(ctx, "Ole Hansen")
    b.make("test", again)
    events = plan_events(ctx)
    assert len(events) == 2 and len(events[1].data["queue"]) == 2
    assert "Ida" not in str([e.data for e in events])
    with ctx.db.read() as s:  # the mark of the newest plan was written, then moved on
        assert s.get(Meta, "plan_as_of:test").value.split()[0] == str(events[1].data["as_of"])


def test_seconds_passing_send_no_new_plan_a_minute_does(ctx):
    """Estimates are told to the minute, as every screen shows them: a walk-in that could be
    called now is expected 'now', which moves with every second; a refresh within the same
    minute is the same plan and is not sent (on a busy day up to half the plan events were
    such), the next minute's is."""
    open_counter(ctx)
    w = register(ctx, "Ida Berg")  # nobody else: expected now, 10:00
    planner = Planner(ctx)
    first = planner.make("test", None)
    assert len(plan_events(ctx)) == 1
    ctx.clock.advance(seconds=40)
    same = planner.make("test", first, refresh=True)
    assert len(plan_events(ctx)) == 1  # 10:00:40: still 10:00, the gap's start too
    assert same.place(w["id"], ctx.site("test").tz)["planned_gap"]["start"].startswith(
        "2026-11-24T10:00:00")
    ctx.clock.advance(seconds=30)
    planner.make("test", first, refresh=True)
    events = plan_events(ctx)
    assert len(events) == 2 and events[1].data["estimates"][str(w["id"])].startswith(
        "2026-11-24T10:01:00")


def test_a_plan_older_than_one_published_elsewhere_is_dropped(ctx):
    register(ctx, "Ida Berg")
    with ctx.db.write() as s:  # another process has published a plan of a later state
        s.add(Meta(key="plan_as_of:test", value="999 0123456789abcdef"))
    Planner(ctx).make("test", None)
    assert plan_events(ctx) == []


def test_an_answer_waits_for_its_plan_and_never_hangs(ctx):
    async def go():
        planner = Planner(ctx)
        planner.start()
        w = register(ctx, "Ida Berg")
        with ctx.db.read() as s:
            seq = s.scalar(select(EventRow.seq).order_by(EventRow.seq.desc()))
        published = await planner.after("test", seq)
        assert published.as_of >= seq and published.plan.ranks == {w["id"]: 1}
        # a change nobody commits: the wait ends after its timeout with the latest plan
        late = await planner.after("test", seq + 1000, timeout=0.2)
        assert late is not None and late.as_of < seq + 1000
        for _ in range(100):  # the wait that gave up is forgotten (after a plan or two)
            if planner.settled():
                break
            await asyncio.sleep(0.02)
        assert planner.settled()
        await planner.close()
    asyncio.run(go())


def test_time_passing_alone_refreshes_the_estimates(ctx):
    from datetime import datetime, timedelta

    async def until(predicate, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.02)

    def estimate(vid: int) -> str | None:
        events = plan_events(ctx)
        return events[-1].data["estimates"].get(str(vid)) if events else None

    async def go():
        planner = Planner(ctx)
        planner.refresh_seconds = 0.2
        planner.start()
        open_counter(ctx)
        w = register(ctx, "Ida Berg")
        planner.changed("test")  # as the app does after each commit
        await until(lambda: estimate(w["id"]) is not None)
        first = datetime.fromisoformat(estimate(w["id"]))
        ctx.clock.advance(minutes=3)  # no change, only time: the walk-in is still first
        await until(lambda: estimate(w["id"]) != first.isoformat())
        assert datetime.fromisoformat(estimate(w["id"])) == first + timedelta(minutes=3)
        await planner.close()
    asyncio.run(go())


def test_the_apps_planning_loop_plans_the_same_off_the_event_loop(ctx):
    """As the server plans: the snapshot and the plan in a worker thread, its event on the
    write thread (services/writer.py)."""
    from backend.services.writer import WriteThread

    register(ctx, "Ida Berg")
    register(ctx, "Ole Lund")
    here = Planner(ctx).make("test", None)

    async def on_the_loop():
        ctx.writes = WriteThread()
        planner = Planner(ctx)
        try:
            return await planner.make_async("test", None, refresh=True)
        finally:
            writes, ctx.writes = ctx.writes, None
            writes.close()
            await planner.close()

    made = asyncio.run(on_the_loop())
    assert (made.plan, made.data, made.gaps) == (here.plan, here.data, here.gaps)


def test_a_read_sees_one_moment_so_a_plan_covers_exactly_the_sequence_it_names(ctx):
    """The planner reads the site's sequence, then its visits: a walk-in committed between
    the two must not be in a plan that names the sequence before it (PostgreSQL's default,
    READ COMMITTED, gave each statement its own moment: the walk-in's estimate went out in a
    plan claiming an older sequence, and the plan for its own sequence, the same, was never
    sent)."""
    with ctx.db.read() as s:
        seq = s.scalar(select(SiteRow.event_seq).where(SiteRow.id == "test"))
        before = s.scalar(select(func.count()).select_from(VisitRow))
        register(ctx, "Ida Berg")  # another connection commits meanwhile
        assert s.scalar(select(SiteRow.event_seq).where(SiteRow.id == "test")) == seq
        assert s.scalar(select(func.count()).select_from(VisitRow)) == before
    with ctx.db.read() as s:  # the next read sees it
        assert s.scalar(select(SiteRow.event_seq).where(SiteRow.id == "test")) > seq
        assert s.scalar(select(func.count()).select_from(VisitRow)) == before + 1
