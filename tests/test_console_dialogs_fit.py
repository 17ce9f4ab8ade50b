"""Issue 22, layout: at 80×24 every dialog fits the screen. Its list scrolls in the rows
the texts leave; the hint below it, the rebooking list's "0  Ingen ny tid" and the footer
stay in sight. The text is read as the terminal shows it, not from the widgets."""

from __future__ import annotations

import asyncio

import pytest

from .console_ui import console, counter_screen, open_and_call, seed_day, told
from .console_ui import until as wait
from .test_console_floor import open_counter

SMALL = (80, 24)


def visible(app) -> str:
    """The lines the terminal shows now (the top screen, as drawn)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def fits(app) -> bool:
    """The dialog's box ends above the footer, and each hint is inside the box and shown."""
    from textual.containers import Vertical

    from widgets.key_footer import KeyFooter

    screen = app.screen
    box = screen.query_one(Vertical)
    footer = screen.query_one(KeyFooter)
    shown = visible(app)
    hints = list(screen.query(".hint"))
    return bool(hints) and box.region.bottom <= footer.region.y and all(
        box.content_region.contains_region(h.region)
        and str(h.content).split("\n")[0][:30] in shown for h in hints)


async def serving(pilot):
    """Counter 1 open and serving the next citizen (the waits allow for a busy machine)."""
    await wait(pilot, lambda: counter_screen(pilot.app) is not None
               and pilot.app.connection == "online", timeout=15)
    screen = counter_screen(pilot.app)
    await open_and_call(pilot)
    await wait(pilot, lambda: screen.mine is not None, timeout=15)
    await pilot.press("s")
    await wait(pilot, lambda: screen.mine.state == "serving", timeout=15)
    return screen


async def opened(pilot, keys: tuple[str, ...], base) -> None:
    app = pilot.app
    await pilot.press(*keys)
    await wait(pilot, lambda: app.screen is not base and app.screen.query(".hint"), timeout=10)
    await wait(pilot, lambda: fits(app), timeout=10)


async def closed(pilot, base) -> None:
    while pilot.app.screen is not base:
        await pilot.press("escape")
        await pilot.pause(0.05)


def test_the_rebooking_dialog_shows_its_times_none_and_hint_at_80x24(server, ctx, tmp_path,
                                                                       rec):
    # a walk-in whose four documents are all missing: the longest list to hand over
    v = rec.ok("post", "/sites/test/walk-ins", {"errand": "driving_licence_exchange",
                                                 "name": "Fatima Ali", "cpr": None},
               status=201)
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SMALL) as pilot:
            await serving(pilot)
            await pilot.press("f", "2")
            await wait(pilot, lambda: "Book en ny tid nu?" in visible(app), timeout=10)
            await wait(pilot, lambda: fits(app), timeout=10)
            shown = visible(app)
            assert shown.count("✘") == 4, shown
            assert "0  Ingen ny tid" in shown, shown
            assert "1  " in shown, shown
            assert "Enter booker tiden; Escape går tilbage." in shown, shown
            assert "esc Luk" in shown.splitlines()[-1], shown
            await pilot.press("enter")  # the first free time, as before
            await wait(pilot, lambda: "Ny tid booket" in told(app))
            assert rec.get(f"/visits/{v['id']}").json()["outcome"] == "missing_documents"
    asyncio.run(go())


@pytest.mark.parametrize("keys", [("f",), ("f", "3"), ("t",), ("d",), ("a",),
                                  ("question_mark",)],
                         ids=["outcome", "authority", "transfer", "documents", "note", "help"])
def test_the_counters_dialogs_fit_80x24(server, ctx, tmp_path, rec, keys):
    seed_day(rec)
    open_counter(server, ctx, 2, "bo")
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SMALL) as pilot:
            screen = await serving(pilot)
            await opened(pilot, keys, screen)
            if keys == ("t",):  # the last of 2 counters and 16 errands: the list scrolls
                await pilot.press("end")
                await wait(pilot, lambda: "Boligstøtte" in visible(app) and fits(app))
            if keys == ("question_mark",):  # the keys scroll to the last one
                await pilot.press("end")
                await wait(pilot, lambda: "Forlad Skranke" in visible(app) and fits(app))
            await closed(pilot, screen)
    asyncio.run(go())


@pytest.mark.parametrize("role,person,keys", [
    ("reception", "rita", ("w",)), ("reception", "rita", ("question_mark",)),
    ("supervisor", "sus", ("e",)), ("supervisor", "sus", ("b",)),
    ("supervisor", "sus", ("question_mark",))],
    ids=["walk-in errand", "reception help", "floor errands", "floor pause", "floor help"])
def test_reception_and_floor_dialogs_fit_80x24(server, ctx, tmp_path, rec, role, person,
                                               keys):
    seed_day(rec)
    open_counter(server, ctx, 1, "bo")
    app = console(server, ctx, tmp_path, role=role, person=person)

    async def go():
        async with app.run_test(size=SMALL) as pilot:
            await wait(pilot, lambda: app.connection == "online"
                       and hasattr(app.screen, "apply"), timeout=15)
            base = app.screen
            await pilot.pause(0.2)
            await opened(pilot, keys, base)
            await closed(pilot, base)
    asyncio.run(go())
