"""Contract tests: the console's client against the real backend on loopback."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from console import errors
from console.client import SkrankeClient

from .helpers import T0, free_port, token


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def make(server, ctx):
    def client(role: str = "caseworker", person: str | None = None) -> SkrankeClient:
        return SkrankeClient(server.url, token(ctx, role, person), "test")
    return client


def test_a_caseworkers_morning(make):
    async def go():
        async with make("reception", "rita") as rec, make("caseworker", "anne") as cw:
            me = await cw.me()
            assert (me.person, me.role) == ("anne", "caseworker")
            assert any(e["code"] == "passport_adult" for e in await cw.errands())
            free = await rec.free_times("mitid", T0.date())
            booked = await rec.book("mitid", free.times[0], "Karen Jensen", cpr="0101901234")
            assert booked.state == "booked" and booked.citizen.cpr == "010190-XXXX"
            assert (await rec.check_in(booked.id)).state == "waiting"
            walk = await rec.walk_in("health_card", "Ole Hansen", documents={"photo_id": "present"})
            assert walk.ticket == "C001"
            counter = await cw.open_counter(1)
            assert counter.staffed_by == "anne"
            called = await cw.call_next(1)
            assert called.visit.id == booked.id and called.reason == "booked_due"
            v = await cw.start(booked.id)
            v = await cw.set_document(v.id, "photo_id", "missing", if_match=v.version)
            v = await cw.add_note(v.id, "Mangler billed-ID")
            assert v.notes[0].text == "Mangler billed-ID"
            v = await cw.park(v.id)
            v = await cw.resume(v.id)
            assert (await cw.call_next(1)).reason == "assigned"
            await cw.start(v.id)
            assert await cw.reveal_cpr(v.id) == "010190-1234"
            done = await cw.finish(v.id, "missing_documents")
            assert done.state == "done" and done.outcome == "missing_documents"
            nxt = await cw.call_next(1)
            assert nxt.visit.id == walk.id
            with pytest.raises(errors.TooSoon) as exc:
                await cw.recall(walk.id)
            assert exc.value.retry_after > 0
            assert (await cw.visit(walk.id)).state == "called"
            back = await cw.requeue(walk.id)
            assert back.state == "waiting"
            again = await cw.call(walk.id, 1)
            again = await cw.no_show(again.id)
            again = await cw.undo_no_show(again.id)
            sup = make("supervisor", "sven")
            await sup.move(again.id, 2)
            await sup.move(again.id, None)
            assert (await sup.set_priority(again.id, 2)).priority == 2
            await sup.aclose()
            await cw.call(walk.id, 1)
            await cw.start(walk.id)
            moved = await cw.transfer(walk.id, errand="mitid")
            assert moved.errand == "mitid" and moved.state == "waiting"
            assert (await rec.walk_out(walk.id)).state == "left"
            day = await rec.day()
            assert day.date == "2026-11-24" and len(day.visits) == 2
            assert [c.number for c in await rec.counters()][:2] == [1, 2]
            assert (await cw.pause_counter(1)).state == "paused"
            assert (await cw.close_counter(1)).state == "closed"
    run(go())


def test_typed_errors(make, server):
    async def go():
        async with make("reception") as rec, make("caseworker", "anne") as cw, \
                make("caseworker", "bo") as bo:
            v = await rec.walk_in("mitid", "A")
            with pytest.raises(errors.Forbidden):
                await rec.call_next(1)
            with pytest.raises(errors.NotFound):
                await rec.visit(99999)
            with pytest.raises(errors.InvalidRequest) as exc:
                await rec.walk_in("teleport", "A")
            assert exc.value.code == "unknown_errand"
            await cw.open_counter(1)
            await bo.open_counter(2)
            await bo.call(v.id, 2)
            with pytest.raises(errors.Conflict) as exc:
                await cw.call(v.id, 1)
            assert exc.value.by_counter == "Skranke 2" and exc.value.state == "called"
            await rec.walk_in("mitid", "B")
            await cw.call_next(1)
            with pytest.raises(errors.CounterBusy):
                await cw.call_next(1)
            w = await rec.walk_in("mitid", "C")
            await rec.set_document(w.id, "photo_id", "present")
            with pytest.raises(errors.StaleVersion) as exc:
                await rec.set_document(w.id, "photo_id", "missing", if_match=w.version)
            assert exc.value.current["version"] == w.version + 1
        async with SkrankeClient(server.url, "skr_wrong", "test") as bad:
            with pytest.raises(errors.Unauthorised):
                await bad.me()
    run(go())


def test_offline_within_a_few_seconds():
    async def go():
        port = free_port()  # nothing listens there
        async with SkrankeClient(f"http://127.0.0.1:{port}", "t", "test",
                                 retry_seconds=2) as c:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            with pytest.raises(errors.Offline):
                await c.call_next(1)
            assert loop.time() - t0 < 4
    run(go())


def test_retries_reuse_one_idempotency_key():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        if len(seen) < 3:
            return httpx.Response(503, json={"code": "database_unavailable", "message": "x"})
        return httpx.Response(200, json={"visit": None, "reason": "nobody"})

    async def go():
        async with SkrankeClient("http://skranke.invalid", "t", "test",
                                 transport=httpx.MockTransport(handler)) as c:
            r = await c.call_next(1)
            assert r.reason == "nobody"
    run(go())
    assert len(seen) == 3 and len(set(seen)) == 1


def test_occurred_at_is_sent(make, ctx):
    from sqlalchemy import select

    from backend.storage.models import AuditRow

    async def go():
        async with make("reception") as rec:
            v = await rec.walk_in("mitid", "A")
            await rec.add_note(v.id, "x", occurred_at=T0 - timedelta(minutes=5))
    run(go())
    with ctx.db.read() as s:
        a = s.scalars(select(AuditRow).where(AuditRow.action == "note")).one()
    assert a.occurred_at == T0 - timedelta(minutes=5)
