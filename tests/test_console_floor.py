"""The supervisor's floor against the real backend; a second console (the live day model
another PC keeps) sees every change."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from console.client import SkrankeClient
from console.live import LiveDay

from .console_ui import console, screen_text, seed_day
from .console_ui import until as wait
from .helpers import token

SIZE = (120, 36)


def floor(app):
    from screens.floor import FloorScreen

    return next((s for s in app.screen_stack if isinstance(s, FloorScreen)), None)


@pytest.fixture
def day(rec):
    return seed_day(rec)


def open_counter(server, ctx, number: int, person: str) -> str:
    secret = token(ctx, "caseworker", person)
    httpx.post(f"{server.url}/sites/test/counters/{number}/open",
               headers={"Authorization": f"Bearer {secret}",
                        "Idempotency-Key": f"open-{number}"}).raise_for_status()
    return secret


def run(server, ctx, app, steps):
    async def go():
        async with SkrankeClient(server.url, token(ctx, "caseworker", "watcher"), "test") as c:
            other = LiveDay(c, lambda change: None)
            task = asyncio.create_task(other.run())
            async with app.run_test(size=SIZE) as pilot:
                await wait(pilot, lambda: floor(app) is not None and app.screen is floor(app)
                           and app.connection == "online" and other.status == "online")
                await steps(pilot, floor(app), other.model)
            task.cancel()
    asyncio.run(go())


def select_row(table, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key))


def test_move_call_and_priority(server, ctx, tmp_path, rec, day):
    open_counter(server, ctx, 2, "bo")
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def steps(pilot, screen, seen):
        from widgets.queue_table import QueueTable
        queue = screen.query_one(QueueTable)
        queue.focus()
        c2 = day["C002"]
        select_row(queue, str(c2))
        await pilot.press("m")
        await wait(pilot, lambda: "Flyt C002 til" in screen_text(app))
        await pilot.press("3")  # pool, Skranke 1, Skranke 2 …
        await wait(pilot, lambda: seen.visits[c2].counter == 2)  # the other console sees it
        await pilot.press("plus")
        await wait(pilot, lambda: seen.visits[c2].priority == 1)
        select_row(queue, str(day["C001"]))
        await pilot.press("c")
        await wait(pilot, lambda: "Kald C001 til" in screen_text(app))
        await pilot.press("1")  # the open counters: Skranke 2
        await wait(pilot, lambda: seen.visits[day["C001"]].state == "called")
        assert seen.visits[day["C001"]].counter == 2
        await wait(pilot, lambda: "C001" in str(screen.query_one("CounterBoard").get_row("2")))
    run(server, ctx, app, steps)


def test_pause_reopen_and_close_a_counter_with_citizens_waiting_for_it(server, ctx, tmp_path,
                                                                       rec, day):
    open_counter(server, ctx, 2, "bo")
    open_counter(server, ctx, 3, "ea")
    rec.ok("post", f"/visits/{day['C002']}/move", {"counter": 2})
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def steps(pilot, screen, seen):
        from widgets.counter_board import CounterBoard
        board = screen.query_one(CounterBoard)
        board.focus()
        c2 = next(c.id for c in app.model.counters.values() if c.number == 2)
        select_row(board, str(c2))
        await pilot.press("b")  # asks first (issue 22)
        await wait(pilot, lambda: "Sæt Skranke 2 (bo) på pause?" in screen_text(app))
        assert seen.counters[c2].state == "open"
        await pilot.press("j")
        await wait(pilot, lambda: seen.counters[c2].state == "paused")
        await pilot.press("o")
        await wait(pilot, lambda: seen.counters[c2].state == "open")
        assert seen.counters[c2].staffed_by == "bo"
        await pilot.press("l")
        await wait(pilot, lambda: "hvor skal de hen?" in screen_text(app))
        await pilot.press("2")  # the pool, then the open counters but this one: Skranke 3
        await wait(pilot, lambda: seen.counters[c2].state == "closed")
        assert seen.visits[day["C002"]].counter == 3
    run(server, ctx, app, steps)


def test_set_the_errands_a_counter_handles(server, ctx, tmp_path, rec, day):
    open_counter(server, ctx, 2, "bo")
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def steps(pilot, screen, seen):
        from widgets.counter_board import CounterBoard
        board = screen.query_one(CounterBoard)
        board.focus()
        c2 = next(c.id for c in app.model.counters.values() if c.number == 2)
        select_row(board, str(c2))
        await pilot.press("e")
        await wait(pilot, lambda: "Ærinder Skranke 2 tager sig af" in screen_text(app))
        await pilot.press("space", "down", "space", "enter")
        await wait(pilot, lambda: seen.counters[c2].errands is not None
                   and len(seen.counters[c2].errands) == 2)
    run(server, ctx, app, steps)


def test_caseworkers_get_403_on_supervisor_moves_and_see_no_floor(server, ctx, tmp_path,
                                                                  as_role, day):
    cw = as_role("caseworker", "anne")
    assert cw.post(f"/visits/{day['C001']}/move", {"counter": 2}).status_code == 403
    assert cw.post(f"/visits/{day['C001']}/priority", {"priority": 2}).status_code == 403
    assert cw.put("/sites/test/counters/2/errands", {"errands": None}).status_code == 403
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot, lambda: app.connection == "online")
            assert floor(app) is None
            return [c.title for c in app.get_system_commands(app.screen)]
    assert not any(t.startswith(("Flyt", "Kald til")) for t in asyncio.run(go()))


def test_change_the_planner_settings_from_the_floor(server, ctx, tmp_path, rec, day, sup):
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def steps(pilot, screen, seen):
        await pilot.press("s")
        await wait(pilot, lambda: "springes ikke længere over" in screen_text(app))
        await pilot.press("end", "backspace", "backspace", "backspace", "1", "0", "enter")
        await wait(pilot, lambda: "kvantil af dagens" in screen_text(app))
        await pilot.press("enter")  # keep 0.8
        await wait(pilot, lambda: sup.ok("get", "/sites/test/planner")["passed_over_minutes"]
                   == 10)
    run(server, ctx, app, steps)
