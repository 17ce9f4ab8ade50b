"""A real uvicorn server on loopback: many counters pressing call next at once."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter as Tally

import httpx
from sqlalchemy import select

from backend.storage.models import AuditRow, EventRow

from .helpers import LiveServer, make_ctx, token


def test_50_clients_20_counters_200_visits_each_called_once(tmp_path):
    ctx = make_ctx(tmp_path, counters=20)
    workers = [token(ctx, "caseworker", f"cw{i}") for i in range(1, 21)]
    rec = token(ctx, "reception", "rita")
    with LiveServer(ctx) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        for i in range(200):
            r = c.post("/sites/test/walk-ins", headers={"Authorization": f"Bearer {rec}"},
                       json={"errand": "health_card", "name": f"Borger {i}"})
            assert r.status_code == 201, r.text
        for i, secret in enumerate(workers, start=1):
            r = c.post(f"/sites/test/counters/{i}/open",
                       headers={"Authorization": f"Bearer {secret}"})
            assert r.status_code == 200

        called: list[tuple[int, int]] = []
        busy = Tally()
        errors: list[str] = []

        async def client(n: int) -> None:
            counter = n % 20 + 1
            h = {"Authorization": f"Bearer {workers[counter - 1]}"}
            async with httpx.AsyncClient(base_url=live.url, timeout=60) as ac:
                while True:
                    r = await ac.post(f"/sites/test/counters/{counter}/call-next", headers=h)
                    if r.status_code == 409 and r.json()["code"] == "counter_busy":
                        busy[counter] += 1
                        await asyncio.sleep(0.005)
                        continue
                    if r.status_code != 200:
                        errors.append(r.text)
                        return
                    body = r.json()
                    if body["visit"] is None:
                        return
                    vid = body["visit"]["id"]
                    called.append((counter, vid))
                    # serve and finish; a second client on this counter may race us here
                    for step, payload in (("start", None), ("finish", {"outcome": "served"})):
                        r = await ac.post(f"/visits/{vid}/{step}", headers=h, json=payload)
                        if r.status_code != 200:
                            errors.append(f"{step}: {r.text}")
                            return

        async def main() -> None:
            await asyncio.gather(*(client(n) for n in range(50)))

        asyncio.run(main())

    assert not errors, errors[:3]
    visit_ids = [v for _, v in called]
    assert len(visit_ids) == 200 and len(set(visit_ids)) == 200  # each called exactly once
    with ctx.db.read() as s:
        calls = s.scalars(select(AuditRow.visit_id).where(AuditRow.action == "call_next")).all()
        events = s.scalars(select(EventRow).order_by(EventRow.seq)).all()
    assert sorted(calls) == sorted(visit_ids)
    # replay the event log: no counter ever holds two citizens
    holding: dict[int, int] = {}
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no holes
    for e in events:
        v = e.data.get("visit")
        if not v:
            continue
        if v["state"] in ("called", "serving"):
            assert holding.get(v["counter_id"], v["id"]) == v["id"], "counter holds two"
            holding[v["counter_id"]] = v["id"]
        elif holding.get(v["counter_id"]) == v["id"]:
            del holding[v["counter_id"]]
    assert not holding
    ctx.db.dispose()


def test_same_request_twice_with_one_key_changes_state_once(tmp_path):
    ctx = make_ctx(tmp_path)
    cw = token(ctx, "caseworker", "anne")
    rec = token(ctx, "reception", "rita")
    with LiveServer(ctx) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        for i in range(3):
            c.post("/sites/test/walk-ins", headers={"Authorization": f"Bearer {rec}"},
                   json={"errand": "health_card", "name": f"B{i}"})
        h = {"Authorization": f"Bearer {cw}"}
        c.post("/sites/test/counters/1/open", headers=h)
        answers = []

        def press() -> None:
            with httpx.Client(base_url=live.url, timeout=30) as own:
                answers.append(own.post("/sites/test/counters/1/call-next",
                                        headers={**h, "Idempotency-Key": "press-1"}))

        threads = [threading.Thread(target=press) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {r.status_code for r in answers} == {200}
        assert len({r.json()["visit"]["id"] for r in answers}) == 1
        day = c.get("/sites/test/day", headers=h).json()
        assert sum(v["state"] == "called" for v in day["visits"]) == 1
    ctx.db.dispose()
