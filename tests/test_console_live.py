"""The live day model: two consoles on one backend, drops and refetches."""

from __future__ import annotations

import asyncio

from console.client import SkrankeClient
from console.live import Change, LiveDay

from .helpers import settle, token


async def wait_for(predicate, timeout: float = 3.0) -> float:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not predicate():
        if loop.time() - t0 > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)
    return loop.time() - t0


def test_other_console_sees_a_call_within_a_second_and_resumes_after_a_drop(server, ctx):
    async def go():
        async with SkrankeClient(server.url, token(ctx, "caseworker", "anne"), "test") as a, \
                SkrankeClient(server.url, token(ctx, "caseworker", "bo"), "test") as b, \
                SkrankeClient(server.url, token(ctx, "reception", "rita"), "test") as rec:
            for i in range(3):
                await rec.walk_in("health_card", f"Borger {i}")
            changes: list[Change] = []
            live = LiveDay(b, changes.append)
            task = asyncio.create_task(live.run())
            await wait_for(lambda: live.status == "online")
            assert [v.ticket for v in live.model.ordered()][:3] == ["C001", "C002", "C003"]
            await a.open_counter(1)
            called = await a.call_next(1)
            took = await wait_for(
                lambda: live.model.visits[called.visit.id].state == "called")
            assert took < 1.0
            assert live.model.visits[called.visit.id].counter == 1
            # the new order follows in the plan event, also within the second
            took = await wait_for(
                lambda: [v.ticket for v in live.model.ordered()][:2] == ["C002", "C003"])
            assert took < 1.0
            assert live.model.visits[called.visit.id + 1].queue_rank == 1
            # the stream drops; meanwhile two more changes; it resumes without gap/duplicate
            await live.drop()
            await rec.walk_in("mitid", "Ny")
            await a.start(called.visit.id)
            day = await rec.day()
            await wait_for(lambda: live.model.seq >= day.seq)
            assert live.reloads == 1  # resumed from Last-Event-ID, no new snapshot
            assert live.model.visits[called.visit.id].state == "serving"
            new = [v for v in live.model.visits.values() if v.ticket == "C004"]
            assert new and new[0].citizen.name == "Ny"  # details fetched for a new visit
            settle(ctx)
            day = await rec.day()
            await wait_for(lambda: live.model.seq >= day.seq)
            assert [v.id for v in live.model.ordered() if v.state == "waiting"] == \
                [v.id for v in day.visits if v.state == "waiting"]
            task.cancel()
    asyncio.run(go())


def test_refetch_when_too_far_behind(server, ctx):
    from backend.services.tick import tick

    async def go():
        async with SkrankeClient(server.url, token(ctx, "reception", "rita"), "test") as rec:
            live = LiveDay(rec, lambda change: None)
            await rec.walk_in("mitid", "A")
            await live.reload()
            live.model.seq = 0  # as if it had slept through the log's retention
            ctx.clock.advance(hours=49)
            tick(ctx)
            task = asyncio.create_task(live.run(snapshot=False))
            await wait_for(lambda: live.reloads >= 2)  # ours, then one after the refetch
            settle(ctx)  # the plan after the tick's changes may follow
            seq = (await rec.day()).seq
            await wait_for(lambda: live.model.seq == seq)
            task.cancel()
    asyncio.run(go())


def test_estimates_in_events_update_every_waiting_walkin():
    from datetime import datetime

    from console.live import DayModel
    from console.models import Day

    model = DayModel()
    base = {"kind": "walkin", "state": "waiting", "errand": "mitid", "expected_minutes": 15,
            "version": 1}
    model.load(Day.model_validate({
        "site_id": "t", "date": "2026-11-24", "seq": 5, "now": "2026-11-24T10:00:00+01:00",
        "counters": [], "visits": [{"id": 1, "ticket": "C001", "queue_rank": 1, **base},
                                   {"id": 2, "ticket": "C002", "queue_rank": 2, **base}]}))
    change = model.apply(6, {"estimates": {"1": "2026-11-24T10:10:00+01:00",
                                           "2": "2026-11-24T10:25:00+01:00"}})
    assert change.visits == {1, 2}
    assert model.visits[2].estimated_call_at == datetime.fromisoformat(
        "2026-11-24T10:25:00+01:00")
