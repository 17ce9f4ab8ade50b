"""The counter's document list with the catalogue's questions (issue 20): a walk-in whose
question was answered at reception or the kiosk shows only the documents that apply; a
booking, never asked, shows each conditional document with the answer it is for."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from .console_ui import card_text, console, counter_screen, open_and_call, ready, screen_text
from .console_ui import until as wait
from .helpers import T0

SIZE = (160, 48)


def wide_card(app) -> str:
    """The citizen card as a wide terminal shows it (no line wrapped)."""
    from rich.console import Console

    from widgets.citizen_card import CitizenCard

    c = Console(width=400, record=True, file=io.StringIO())
    c.print(counter_screen(app).query_one(CitizenCard).shown)
    return c.export_text()


def run(app, steps):
    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await steps(pilot)
    asyncio.run(go())


def test_a_booking_never_asked_shows_which_answer_each_document_is_for(server, ctx,
                                                                      tmp_path, rec):
    v = rec.ok("post", "/sites/test/bookings", {
        "errand": "passport_adult", "start": (T0 + timedelta(minutes=5)).isoformat(),
        "name": "Anna Jensen", "cpr": None, "phone": None, "note": None}, status=201)
    rec.ok("post", f"/visits/{v['id']}/check-in")
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        await wait(pilot, lambda: "Nuværende eller tidligere pas" in card_text(app))
        card = wide_card(app)
        assert "Nuværende eller tidligere pas (kun ved nej til: Er det dit første pas?)" in card
        assert "Fødsels-, dåbs- eller navneattest (kun ved ja til: Er det dit første pas?)" \
            in card
        await pilot.press("d")
        await wait(pilot, lambda: "Dokumenter for" in screen_text(app))
        assert ("Nuværende eller tidligere pas (kun ved nej til: Er det dit første pas?)"
                in screen_text(app))
    run(app, steps)


def test_a_first_passport_walk_in_shows_only_what_a_first_passport_needs(server, ctx,
                                                                         tmp_path, rec):
    rec.ok("post", "/sites/test/walk-ins", {
        "errand": "passport_adult", "name": "Sara Ali", "answers": {"first_passport": True},
        "documents": {"photo_id": "present", "birth_certificate": "present"}}, status=201)
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        await wait(pilot, lambda: "Fødsels-, dåbs- eller navneattest" in card_text(app))
        card = wide_card(app)
        assert "Nuværende eller tidligere pas" not in card
        assert "kun ved" not in card  # answered: no condition left to say
        assert counter_screen(app) is not None
    run(app, steps)


def test_the_list_to_take_home_says_which_answer_a_document_is_for(server, ctx, tmp_path,
                                                                     rec):
    """Finishing a never-asked passport booking for missing documents listed both the old
    passport and the first passport's papers, as if all were needed."""
    v = rec.ok("post", "/sites/test/bookings", {
        "errand": "passport_adult", "start": (T0 + timedelta(minutes=5)).isoformat(),
        "name": "Anna Jensen", "cpr": None, "phone": None, "note": None}, status=201)
    rec.ok("post", f"/visits/{v['id']}/check-in")
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        screen = counter_screen(app)
        await open_and_call(pilot)
        await wait(pilot, lambda: screen.mine is not None)
        await pilot.press("s")
        await wait(pilot, lambda: screen.mine.state == "serving")
        await pilot.press("f", "2")
        await wait(pilot, lambda: "Book en ny tid nu?" in screen_text(app))
        assert ("✘ Nuværende eller tidligere pas (kun ved nej til: Er det dit første pas?)"
                in screen_text(app))
    run(app, steps)
