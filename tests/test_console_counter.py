"""The counter screen, driven by the keys a caseworker presses, against the real backend."""

from __future__ import annotations

import asyncio

import pytest

from .console_ui import (
    card_text,
    console,
    counter_screen,
    open_and_call,
    queue_text,
    ready,
    screen_text,
    seed_day,
    told,
)
from .console_ui import until as wait
from .helpers import token

SIZE = (120, 36)


def state(server, rec, vid):
    return rec.get(f"/visits/{vid}").json()["state"]


@pytest.fixture
def day(rec):
    return seed_day(rec)


def run(coro):
    asyncio.run(coro)


def test_a_morning_at_the_counter_in_danish(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            text = screen_text(app)
            assert "Skranke 1 (lukket: o åbner)" in text
            assert "B001" in text and "C001" in text and "uden tid" in text
            assert "010190-XXXX" in text and "0101901234" not in text
            await pilot.press("n")  # not possible while closed: nothing happens
            assert not told(app)
            await pilot.press("o")
            await wait(pilot, lambda: screen.counter.state == "open")
            await pilot.press("n")
            await wait(pilot, lambda: screen.mine is not None)
            called = screen.mine
            assert called.state == "called"
            await wait(pilot, lambda: f"{called.ticket} kaldt til Skranke 1" in told(app))
            assert "→ kaldt" in screen_text(app)
            assert called.ticket in card_text(app)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            assert "▶ betjenes" in screen_text(app)
            await pilot.press("f", "1", "j")  # no document ticked: asked first
            await wait(pilot, lambda: screen.mine is None)
            assert state(server, rec, called.id) == "done"
            assert rec.get(f"/visits/{called.id}").json()["outcome"] == "served"
    run(go())


def test_english_by_configuration(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path, lang="en")

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            text = screen_text(app)
            assert "Skranke 1 (closed: o opens)" in text and "walk-in" in text
            assert "● waiting" in text
            await open_and_call(pilot)
            await wait(pilot, lambda: counter_screen(app).mine is not None)
            assert "→ called" in screen_text(app)
            await wait(pilot, lambda: "called to Skranke 1" in told(app))
    run(go())


def test_nobody_due_tells_the_next_booking(server, ctx, tmp_path, rec):
    from datetime import timedelta

    from .console_ui import T0

    rec.ok("post", "/sites/test/bookings", {
        "errand": "health_card", "start": (T0 + timedelta(minutes=45)).isoformat(),
        "name": "Fie Berg"}, status=201)
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await open_and_call(pilot)
            await wait(pilot, lambda: "Ingen står for tur" in told(app))
            assert "Næste booking: 10:45 (om 45 min)" in told(app)
    run(go())


def test_documents_no_show_requeue_recall_and_note(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            first = screen.mine
            await pilot.press("r")  # recall at once: the backend says too soon
            await wait(pilot, lambda: "For tidligt" in told(app))
            await pilot.press("k")  # requeue
            await wait(pilot, lambda: screen.mine is None)
            assert state(server, rec, first.id) == "waiting"
            await pilot.press("n")
            await wait(pilot, lambda: screen.mine is not None)
            again = screen.mine
            # documents: ticked present, then missing (the checklist stays on the one)
            await pilot.press("d")
            await wait(pilot, lambda: "Dokumenter for" in screen_text(app))
            await pilot.press("p")
            await wait(pilot, lambda: rec.get(f"/visits/{again.id}").json()["documents"][0]
                       ["status"] == "present")
            await pilot.press("m", "escape")
            await wait(pilot, lambda: rec.get(f"/visits/{again.id}").json()["documents"][0]
                       ["status"] == "missing")
            await wait(pilot, lambda: "✘ mangler" in card_text(app))
            assert "✘ 1 mangler" in screen_text(app)
            # a note
            await pilot.press("a")
            await pilot.press(*"Tolk bestilt")
            await pilot.press("enter")
            await wait(pilot, lambda: "Tolk bestilt" in card_text(app))
            # no-show
            await pilot.press("x")
            await wait(pilot, lambda: screen.mine is None)
            assert state(server, rec, again.id) == "no_show"
    run(go())


def test_park_resume_transfer_and_reveal_cpr(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)
    second = token(ctx, "caseworker", "bo")

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            vid = screen.mine.id
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            await pilot.press("p")  # park
            await wait(pilot, lambda: screen.mine is None)
            assert state(server, rec, vid) == "parked"
            await pilot.press("g")  # resume: back in the queue for this counter
            await wait(pilot, lambda: app.model.visits[vid].state == "waiting")
            await pilot.press("n")
            await wait(pilot, lambda: screen.mine is not None)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            # reveal the CPR: asks first; "Nej" keeps it masked
            await pilot.press("c")
            await wait(pilot, lambda: "Vis hele CPR-nummeret" in screen_text(app))
            await pilot.press("down", "enter")  # Nej
            await wait(pilot, lambda: app.screen is screen)
            assert "-XXXX" in card_text(app)
            await pilot.press("c", "enter")  # Ja
            assert screen.mine.citizen.cpr == "030375-XXXX"  # C001, Dorte Larsen
            await wait(pilot, lambda: "030375-1234" in card_text(app))
            assert "030375-1234" not in queue_text(app)  # the queue stays masked
            # transfer to Skranke 2, opened by another caseworker
            import httpx
            httpx.post(f"{server.url}/sites/test/counters/2/open",
                       headers={"Authorization": f"Bearer {second}",
                                "Idempotency-Key": "open-2"}).raise_for_status()
            await wait(pilot, lambda: any(c.number == 2 and c.state == "open"
                                          for c in app.model.counters.values()))
            moved = screen.mine
            await pilot.press("t")
            await wait(pilot, lambda: "Overfør" in screen_text(app))
            await pilot.press("1")  # the first choice: Skranke 2
            await wait(pilot, lambda: screen.mine is None)
            visit = rec.get(f"/visits/{moved.id}").json()
            assert (visit["state"], visit["counter"]) == ("waiting", 2)
            await wait(pilot, lambda: "Skranke 2" in screen_text(app))
    run(go())


@pytest.mark.parametrize("choice,extra,outcome", [
    ("3", ["1"], "referred"),
    ("6", list("Borgeren gik") + ["enter"], "other"),
    ("4", [], "solved_by_phone"),
])
def test_finish_outcomes(server, ctx, tmp_path, rec, day, choice, extra, outcome):
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            vid = screen.mine.id
            await pilot.press("f", choice)
            await pilot.pause(0.2)
            if extra:
                await pilot.press(*extra)
            await wait(pilot, lambda: screen.mine is None)
            v = rec.get(f"/visits/{vid}").json()
            assert (v["state"], v["outcome"]) == ("done", outcome)
            if outcome == "referred":
                assert v["referred_to"] == "Udbetaling Danmark"
            if outcome == "other":
                assert v["outcome_note"] == "Borgeren gik"
    run(go())


def test_finish_with_missing_documents_rebooks(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            v = screen.mine
            await pilot.press("d", "m", "escape")
            await wait(pilot, lambda: "✘ 1 mangler" in screen_text(app))
            await pilot.press("f", "2")
            await wait(pilot, lambda: "Giv borgeren denne liste" in screen_text(app))
            text = screen_text(app)
            missing = [d for d in app.model.visits[v.id].documents if d.status == "missing"]
            assert missing and (missing[0].name_da in text)
            await pilot.press("enter")  # the first free time
            await wait(pilot, lambda: "Ny tid booket" in told(app))
            done = rec.get(f"/visits/{v.id}").json()
            assert (done["state"], done["outcome"]) == ("done", "missing_documents")
            assert missing[0].name_da in done["outcome_note"]
            day = rec.get("/sites/test/day").json()["visits"]
            rebooked = [x for x in day if x["citizen"]["name"] == v.citizen.name
                        and x["state"] == "booked"]
            assert rebooked and rebooked[0]["errand"] == v.errand
    run(go())


def test_pause_and_close_the_counter(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await pilot.press("o")
            await wait(pilot, lambda: screen.counter.state == "open")
            await pilot.press("b")
            await wait(pilot, lambda: screen.counter.state == "paused")
            assert "pause" in screen_text(app)
            await pilot.press("n")  # not while paused
            await pilot.pause(0.2)
            assert screen.mine is None
            await pilot.press("l")
            await wait(pilot, lambda: screen.counter.state == "closed")
            assert rec.get("/sites/test/counters").json()[0]["state"] == "closed"
    run(go())


def test_the_timeline_shows_the_citizen_in_service_and_the_booked_demand(server, ctx,
                                                                        tmp_path, rec, day):
    from widgets.timeline import DayTimeline

    from .console_ui import plain

    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            await pilot.press("y")
            await pilot.pause(0.1)
            timeline = screen.query_one(DayTimeline)
            assert timeline.display and not screen.query_one("CitizenCard").display
            return plain(timeline.content)
    text = run_text = asyncio.run(go())
    lines = text.splitlines()
    skranke1 = next(line for line in lines if line.startswith("Skranke 1"))
    assert "│" in skranke1 and "▒" in skranke1  # now, and the visit in service
    booked = next(line for line in lines if line.startswith("booket"))
    assert any(ch.isdigit() for ch in booked) and "·" in booked
    assert "08:00" in lines[0] and run_text


def test_file_work_runs_on_one_thread_however_much_overlaps(server, ctx, tmp_path, rec, day):
    """The outbox's and keyring's calls share one thread: a console's threads do not grow
    when calls overlap (the soak, bench/soak.py, judges the console's thread count)."""
    import threading
    import time

    from console.app import FILE_THREAD

    app = console(server, ctx, tmp_path)

    def whose() -> str:
        time.sleep(0.02)  # long enough for the calls to overlap
        return threading.current_thread().name

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            before = threading.active_count()
            names = await asyncio.gather(*(asyncio.to_thread(whose) for _ in range(8)))
            app.replay()
            await open_and_call(pilot)
            await wait(pilot, lambda: counter_screen(app).mine is not None)
            assert {n.rsplit("_", 1)[0] for n in names} == {FILE_THREAD}
            assert threading.active_count() <= before + 1
    run(go())
