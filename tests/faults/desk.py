"""What every fault test needs: a real `skranke-server` process with a few waiting
citizens, a real console under Pilot pointed at it (directly or through the proxy), and
the backend's own view (the day, the audit log via the API) to compare the screen with."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from console.app import make_app
from console.config import Config

from ..console_ui import counter_screen

SIZE = (130, 40)
#: where the tests write what they measured (docs/reliability.md is made from it), if set
REPORT = os.environ.get("SKRANKE_FAULT_REPORT")


def console(url: str, token: str, tmp_path: Path, lang: str = "da"):
    cfg = Config.model_validate({"server": {"url": url, "site": "test", "counter": 1},
                                 "ui": {"language": lang}})
    return make_app(cfg, token, outbox_path=tmp_path / "outbox.db")


def bar(app) -> str:
    """The status bar as the caseworker reads it."""
    from widgets.status_bar import StatusBar

    screen = counter_screen(app)
    return screen.query_one(StatusBar).render().plain if screen is not None else ""


def told(app) -> str:
    return "\n".join(app.told)


def rows(app) -> dict[int, str]:
    """The queue table's rows: visit id -> its state cell."""
    from widgets.queue_table import QueueTable

    table = counter_screen(app).query_one(QueueTable)
    return {int(r.key.value): str(table.get_row(r.key)[4]) for r in table.ordered_rows}


async def wait(pilot, predicate, timeout: float, what: str = "") -> float:
    """Run the app until `predicate()` holds; the seconds it took."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"not within {timeout} s: {what}\nbar: {bar(pilot.app)}\n"
                                 f"told: {told(pilot.app)}")
        await pilot.pause(0.05)
    return time.monotonic() - t0


async def open_counter(pilot) -> None:
    """`o`, as a caseworker starts the day: the counter shown open."""
    screen = counter_screen(pilot.app)
    await pilot.press("o")
    await wait(pilot, lambda: screen.counter and screen.counter.state == "open", 10,
               "the counter open")


async def open_and_call(pilot):
    """`o` then `n`: the counter open and its first call shown; the visit called."""
    screen = counter_screen(pilot.app)
    await open_counter(pilot)
    await pilot.press("n")
    await wait(pilot, lambda: screen.mine is not None, 10, "the call shown")
    return screen.mine


async def ready(pilot) -> None:
    app = pilot.app
    await wait(pilot, lambda: counter_screen(app) is not None and app.connection == "online"
               and app.screen is counter_screen(app), 30, "the console online")


class Backend:
    """The backend's own view, asked directly (not through the proxy)."""

    def __init__(self, srv, sup_token: str) -> None:
        self.srv = srv
        self.h = {"Authorization": f"Bearer {sup_token}"}

    async def get(self, path: str) -> dict:
        async with httpx.AsyncClient(base_url=self.srv.url, timeout=10) as c:
            r = await c.get(path, headers=self.h)
            r.raise_for_status()
            return r.json()

    async def audit(self, person: str) -> list[dict]:
        async with httpx.AsyncClient(base_url=self.srv.url, timeout=10) as c:
            r = await c.post("/audit/search", json={"user": person},
                             headers={**self.h, "Idempotency-Key": f"audit-{time.time()}"})
            r.raise_for_status()
            return r.json()["entries"]

    async def applied(self, person: str, action: str) -> int:
        return sum(1 for e in await self.audit(person) if e["action"] == action)


def tokens(srv) -> tuple[str, str]:
    """Tokens: a supervisor (reads the audit) and caseworker anne (the console), written
    to the server's database directly (a `skranke-server token create` each cost seconds
    of a loaded machine)."""
    from datetime import UTC, datetime

    from backend.services import tokens as made
    from backend.storage.db import Database

    db = Database(srv.database_url)
    try:
        with db.write() as s:
            sup, _ = made.create(s, "supervisor", "sven", datetime.now(UTC), 1)
            cw, _ = made.create(s, "caseworker", "anne", datetime.now(UTC), 1)
    finally:
        db.dispose()
    return sup, cw


def walk_ins(srv, sup: str, n: int = 3) -> None:
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        for i in range(n):
            r = c.post("/sites/test/walk-ins", headers={"Authorization": f"Bearer {sup}"},
                       json={"errand": "health_card", "name": f"Borger {i}"})
            assert r.status_code == 201, r.text


async def same_day(pilot, backend: Backend) -> None:
    """The screen equals the backend's day: every visit's state and counter in the model
    the screen paints, this counter's state, and the rows the table shows."""
    from console import present

    app = pilot.app
    day = await backend.get("/sites/test/day")
    await wait(pilot, lambda: app.live.model.seq >= day["seq"], 10, "the console caught up")
    model = app.live.model
    assert {v["id"]: (v["state"], v["counter"]) for v in day["visits"]} == \
        {v.id: (v.state, v.counter) for v in model.visits.values()}
    assert {c["number"]: c["state"] for c in day["counters"]} == \
        {c.number: c.state for c in model.counters.values()}
    screen = counter_screen(app)
    screen.repaint(None)
    await pilot.pause(0.1)
    shown = set(rows(app))
    expected = {v.id for v in model.visits.values() if present.in_filter(v, screen.filter, 1)}
    assert shown == expected


def report(fault: str, truthful: float, lost: int, doubled: int, note: str = "") -> None:
    line = f"{fault}\t{truthful:.1f}\t{lost}\t{doubled}\t{note}"
    print(f"\nFAULT {line}")
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as f:
            f.write(line + "\n")

