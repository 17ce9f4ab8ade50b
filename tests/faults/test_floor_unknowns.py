"""The floor sees every counter's unknown actions (issue 26): a counter's console and the
supervisor's floor, two real consoles under Pilot (each in its own thread, as on two PCs)
on one real backend. The counter presses `s` while another program holds the SQLite file:
the floor shows "Skranke 1: ⧗ Ankommet sendt 10:00 — intet svar endnu (ticket)" within
the stated time, and the line goes once the answer came. Then the counter's network goes
silent (a black hole): the floor says the console was not heard."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from backend.api import presence
from backend.storage.dialect import sqlite_file

from ..console_ui import console, counter_screen, ready, seed_day
from ..helpers import hold_sqlite
from .desk import SIZE, Backend, bar, open_and_call, report, told, wait
from .proxy import Proxy

pytestmark = pytest.mark.sqlite_only(reason="another program holding SQLite's file")

#: What the floor must meet: a heartbeat at once on the change plus the floor's reading
#: every 2 s (console/presence.py, screens/floor.py), with room for a loaded machine.
SHOWN_WITHIN = 5.0
#: "not heard" after this long in the test (20 s in service: four missed heartbeats)
STALE = 3.0


def consoles_line(app) -> str:
    from screens.floor import FloorScreen

    screen = next((s for s in app.screen_stack if isinstance(s, FloorScreen)), None)
    if screen is None:
        return ""
    line = screen.query_one("#consoles")
    return str(line.content) if line.display else ""


def test_the_floor_shows_a_counters_unknown_action_and_a_silent_console(
        ctx, server, rec, tmp_path, monkeypatch):
    monkeypatch.setattr(presence, "STALE_SECONDS", STALE)
    seed_day(rec)
    from ..helpers import token

    sup = token(ctx, "supervisor", "sven")
    backend = Backend(server, sup)
    floor = console(server, ctx, tmp_path, role="supervisor", person="sven", secret=sup)
    steps = {name: threading.Event() for name in (
        "called", "unknown", "floor_saw", "released", "answered", "floor_cleared",
        "silent", "floor_saw_silent", "done")}
    seen: dict = {}
    errors: list[BaseException] = []

    async def counter_console():
        proxy = await Proxy(upstream_port=server.port).start()
        app = console(type("S", (), {"url": proxy.url}), ctx, tmp_path, person="anne",
                      counter=1)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await ready(pilot)
                screen = counter_screen(app)
                await open_and_call(pilot)
                seen.update(vid=screen.mine.id, ticket=screen.mine.ticket)
                steps["called"].set()
                holder = hold_sqlite(sqlite_file(ctx.settings.database_url))
                try:
                    await pilot.press("s")
                    await wait(pilot, lambda: "Ankommet sendt — venter på svar" in bar(app),
                               15, "the counter shows `s` waiting")
                    seen["unknown_at"] = time.monotonic()
                    steps["unknown"].set()
                    await wait(pilot, steps["floor_saw"].is_set, 20, "the floor saw it")
                finally:
                    holder.execute("ROLLBACK")
                    holder.close()
                seen["released_at"] = time.monotonic()
                steps["released"].set()
                await wait(pilot, lambda: screen.mine.state == "serving"
                           and "⧗" not in bar(app), 15, "serving shown")
                seen["answered_at"] = time.monotonic()
                steps["answered"].set()
                await wait(pilot, steps["floor_cleared"].is_set, 20, "the floor cleared")
                assert "Ankommet:" not in told(app)  # never told failed
                proxy.blackhole = True  # the counter PC's network goes silent
                seen["silent_at"] = time.monotonic()
                steps["silent"].set()
                await wait(pilot, steps["floor_saw_silent"].is_set, 30, "the floor saw it")
                proxy.blackhole = False
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)
        finally:
            steps["done"].set()
            await proxy.close()

    thread = threading.Thread(target=lambda: asyncio.run(counter_console()), daemon=True)
    thread.start()

    async def floor_console():
        from screens.floor import FloorScreen

        async with floor.run_test(size=SIZE) as pilot:
            await wait(pilot, lambda: isinstance(floor.screen, FloorScreen)
                       and floor.connection == "online", 30, "the floor online")

            def step(name: str, timeout: float) -> None:
                if not steps[name].wait(0) and (errors or steps["done"].is_set()):
                    raise AssertionError(f"the counter console stopped: {errors}")
            await wait(pilot, lambda: steps["unknown"].is_set() or steps["done"].is_set(),
                       40, "the counter's `s` waiting")
            step("unknown", 0)
            expected = f"Skranke 1: ⧗ Ankommet sendt 10:00 — intet svar endnu " \
                       f"({seen['ticket']})"
            await wait(pilot, lambda: expected in consoles_line(floor), SHOWN_WITHIN,
                       f"the floor shows {expected!r}: {consoles_line(floor)!r}")
            seen["floor_after"] = time.monotonic() - seen["unknown_at"]
            seen["expected"] = expected
            steps["floor_saw"].set()
            await wait(pilot, lambda: steps["answered"].is_set() or steps["done"].is_set(),
                       30, "the counter's answer")
            step("answered", 0)
            await wait(pilot, lambda: "⧗" not in consoles_line(floor), SHOWN_WITHIN,
                       f"the floor's line gone: {consoles_line(floor)!r}")
            seen["cleared_after"] = time.monotonic() - seen["answered_at"]
            steps["floor_cleared"].set()
            await wait(pilot, lambda: steps["silent"].is_set() or steps["done"].is_set(),
                       30, "the counter's network silent")
            step("silent", 0)
            await wait(pilot, lambda: "Skranke 1: konsollen ikke hørt i" in
                       consoles_line(floor), STALE + 10, "the floor says not heard")
            seen["silent_after"] = time.monotonic() - seen["silent_at"]
            steps["floor_saw_silent"].set()
            await wait(pilot, lambda: steps["done"].is_set(), 30, "the counter console done")

    asyncio.run(floor_console())
    thread.join(15)
    if errors:
        raise errors[0]
    assert seen["floor_after"] <= SHOWN_WITHIN
    assert asyncio.run(backend.applied("anne", "start")) == 1
    report("The floor: a counter's `s` unknown (SQLite file held), then its network "
           "silent", seen["floor_after"], 0, 0,
           f"the floor showed `{seen['expected']}` "
           f"{seen['floor_after']:.1f} s after the counter did, gone "
           f"{seen['cleared_after']:.1f} s after the answer; `konsollen ikke hørt` "
           f"{seen['silent_after']:.1f} s after its network went silent ({STALE:.0f} s "
           "in the test, 20 s in service); applied once")
