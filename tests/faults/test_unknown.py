"""The three outcomes of a sent action, without a server: done, refused, unknown. A
request that never left is Offline (nothing happened); one that left and got no answer, a
cut answer or a 5xx/503 is Unknown and is followed with its one key to a definite
answer; only a 4xx is a refusal; an action unknown too long is flagged overdue."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from console import errors, i18n, present
from console.client import SkrankeClient
from console.unknown import Unknowns


def _client(handler) -> SkrankeClient:
    return SkrankeClient("http://skranke.test", "t", "test", retry_seconds=0.5,
                         transport=httpx.MockTransport(handler))


def _answers(*steps):
    """A handler that plays `steps` in turn (the last repeats); records the keys seen."""
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("idempotency-key", ""))
        step = steps[min(len(keys) - 1, len(steps) - 1)]
        if isinstance(step, Exception):
            raise step
        return step

    return handler, keys


BUSY = httpx.Response(503, headers={"Retry-After": "0"},
                      json={"code": "database_busy",
                            "message": "databasen er optaget / the database is busy"})
DONE = httpx.Response(200, json={"id": 7, "state": "open", "number": 1, "version": 2})


def test_refused_connection_is_offline_and_never_unknown():
    handler, keys = _answers(httpx.ConnectError("refused"))

    async def go():
        async with _client(handler) as c:
            with pytest.raises(errors.Offline):
                await c.request("POST", "/x")

    asyncio.run(go())


def test_a_timeout_after_sending_is_unknown_even_if_the_next_attempt_is_refused():
    handler, keys = _answers(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"))

    async def go():
        async with _client(handler) as c:
            with pytest.raises(errors.Unknown):
                await c.request("POST", "/x")

    asyncio.run(go())
    assert len(set(keys)) == 1


def test_a_503_is_unknown_with_the_servers_reason_and_a_read_is_not():
    handler, _keys = _answers(BUSY)

    async def go():
        async with _client(handler) as c:
            with pytest.raises(errors.Unknown) as info:
                await c.request("POST", "/x")
            assert info.value.reason == "databasen er optaget"  # in Danish only
            i18n.use("en")
            try:
                assert info.value.reason == "the database is busy"
            finally:
                i18n.use("da")
            with pytest.raises(errors.ServerError):
                await c.request("GET", "/x")

    asyncio.run(go())


def test_unknown_is_followed_with_one_key_to_the_answer():
    handler, keys = _answers(httpx.ReadTimeout("slow"), BUSY, BUSY, BUSY, BUSY,
                             httpx.RemoteProtocolError("cut"), DONE)
    seen: list[int] = []

    async def go():
        async with _client(handler) as c:
            unknowns = Unknowns(c, first_wait=0.01, max_wait=0.05)
            unknowns.on_change = lambda: seen.append(len(unknowns.pending))
            answer = await unknowns.send("open", "Open counter", "POST", "/open")
            assert answer["state"] == "open"
            assert not unknowns.pending

    asyncio.run(go())
    assert len(keys) == 7 and len(set(keys)) == 1  # one key for every attempt
    assert seen[0] == 1 and seen[-1] == 0  # shown pending, then cleared


def test_a_refusal_after_unknown_is_raised_as_the_refusal():
    refused = httpx.Response(409, json={"code": "counter_busy", "message": "busy"})
    handler, _keys = _answers(BUSY, BUSY, BUSY, refused)

    async def go():
        async with _client(handler) as c:
            unknowns = Unknowns(c, first_wait=0.01, max_wait=0.05)
            with pytest.raises(errors.CounterBusy):
                await unknowns.send("call_next", "Call next", "POST", "/call-next")

    asyncio.run(go())


def test_an_action_unknown_too_long_is_flagged_overdue_and_told_plainly():
    handler, _keys = _answers(httpx.ReadTimeout("slow"))

    async def go():
        async with _client(handler) as c:
            unknowns = Unknowns(c, first_wait=0.01, max_wait=0.02, warn_after=0.2)
            task = asyncio.create_task(unknowns.send("call_next", "Kald næste", "POST",
                                                     "/sites/test/counters/1/call-next"))
            for _ in range(200):
                await asyncio.sleep(0.01)
                pending = list(unknowns.pending.values())
                if pending and pending[0].overdue:
                    break
            assert pending and pending[0].overdue
            assert unknowns.like("POST", "/sites/test/counters/1/call-next") is pending[0]
            assert pending[0].visit_id is None
            text = present.unknown_text(pending[0])
            assert "Kald næste" in text and ("same key" in text or "samme nøgle" in text)
            task.cancel()

    asyncio.run(go())
