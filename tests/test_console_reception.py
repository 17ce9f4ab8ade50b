"""Reception's screen against the real backend: walk-ins with and without their documents,
checking in by name, a walk-in who left, booking at the desk."""

from __future__ import annotations

import asyncio

import pytest

from .console_ui import console, screen_text, seed_day, told
from .console_ui import until as wait

SIZE = (120, 36)


def reception_screen(app):
    from screens.reception import ReceptionScreen

    return next((s for s in app.screen_stack if isinstance(s, ReceptionScreen)), None)


async def ready(pilot) -> None:
    await wait(pilot, lambda: reception_screen(pilot.app) is not None
               and pilot.app.screen is reception_screen(pilot.app)
               and pilot.app.connection == "online")


@pytest.fixture
def day(rec):
    return seed_day(rec)


def run(app, steps):
    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await steps(pilot)
    asyncio.run(go())


async def walkin(pilot, errand: str, name: str, cpr: str = "", phone: str = "") -> None:
    await pilot.press("w")
    await wait(pilot, lambda: "Hvilket ærinde?" in screen_text(pilot.app))
    await pilot.press(*errand, "enter")
    await wait(pilot, lambda: "Borgerens navn" in screen_text(pilot.app))
    await pilot.press(*name, "enter")
    await wait(pilot, lambda: "CPR-nummer (valgfrit)" in screen_text(pilot.app))
    await pilot.press(*cpr, "enter")
    await wait(pilot, lambda: "Telefon (valgfrit)" in screen_text(pilot.app))
    await pilot.press(*phone, "enter")


async def first_passport(pilot, key: str) -> None:
    """The passport's question, asked before its documents: 1 yes, 2 no."""
    await wait(pilot, lambda: "Er det dit første pas?" in screen_text(pilot.app))
    await pilot.press(key)


def test_a_first_passport_is_queued_without_an_old_passport(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        await walkin(pilot, "pas til v", "Sara Ali")
        await first_passport(pilot, "1")
        await wait(pilot, lambda: "Dokumenter til Pas til voksen" in screen_text(app))
        shown = screen_text(app)
        assert "Fødsels-, dåbs- eller navneattest" in shown
        assert "Nuværende eller tidligere pas" not in shown  # never asked for
        await pilot.press("p", "p", "enter")
        await wait(pilot, lambda: "til Sara Ali" in screen_text(app))
    run(app, steps)
    sara = next(v for v in rec.get("/sites/test/day").json()["visits"]
                if v["citizen"]["name"] == "Sara Ali")
    assert (sara["kind"], sara["state"]) == ("walkin", "waiting")
    assert {d["code"]: d["status"] for d in sara["documents"]} == {
        "photo_id": "present", "birth_certificate": "present"}


def test_a_walkin_with_all_documents_gets_a_ticket(server, ctx, tmp_path, rec, day, cw):
    # cw has opened Skranke 1, so the planner places the walk-in into a gap there
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    slip = []

    async def steps(pilot):
        await walkin(pilot, "pas til v", "Karen Blixen", "1705851234")
        await first_passport(pilot, "2")  # no: a renewal
        await wait(pilot, lambda: "Dokumenter til Pas til voksen" in screen_text(app))
        await pilot.press("p", "enter")
        # the ticket stays on screen (until t hides it), from the same estimate as the list
        await wait(pilot, lambda: "Nummer C003 til Karen Blixen" in screen_text(app))
        await wait(pilot, lambda: "Karen Blixen" in screen_text(app))
        slip.append(str(app.screen.query_one("#slip").content))
    run(app, steps)
    told = lambda _app: slip[0]  # noqa: E731 - the slip, where the notice was
    visits = rec.get("/sites/test/day").json()["visits"]
    karen = next(v for v in visits if v["citizen"]["name"] == "Karen Blixen")
    assert (karen["kind"], karen["state"], karen["ticket"]) == ("walkin", "waiting", "C003")
    assert {d["status"] for d in karen["documents"]} == {"present"}
    assert karen["citizen"]["cpr"] == "170585-XXXX"
    assert "ca." in told(app).split("Karen Blixen")[1]
    # and the gap in the booking calendar she is planned into, in words
    gap = karen["planned_gap"]
    assert gap is not None and f"ved skranke {gap['counter']}" in told(app)
    assert ("i hullet før bookingen kl." in told(app)) == (gap["until"] is not None)


def test_a_walkin_lacking_a_document_is_not_queued_and_offered_times(server, ctx, tmp_path,
                                                                     rec, day):
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        await walkin(pilot, "pas til v", "Niels Bohr", "", "12345678")
        await first_passport(pilot, "2")
        await wait(pilot, lambda: "Dokumenter til" in screen_text(app))
        await pilot.press("m", "enter")
        await wait(pilot, lambda: "Ikke sat i kø: Niels Bohr mangler dokumenter"
                   in screen_text(app))
        assert "✘ Nuværende eller tidligere pas" in screen_text(app)
        await pilot.press("enter")  # the first free time
        await wait(pilot, lambda: "Booket til Niels Bohr" in screen_text(app))
    run(app, steps)
    visits = rec.get("/sites/test/day").json()["visits"]
    niels = [v for v in visits if v["citizen"]["name"] == "Niels Bohr"]
    assert [v["kind"] for v in niels] == ["booked"]  # booked, never queued
    assert niels[0]["state"] == "booked" and niels[0]["citizen"]["phone"] == "12345678"


def test_an_errand_solvable_by_phone_says_so_first(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path, role="reception", person="rita")
    solvable = next(e for e in rec.get("/errands").json() if e["phone"] or e["self_service"])

    async def steps(pilot):
        await pilot.press("w")
        await wait(pilot, lambda: "Hvilket ærinde?" in screen_text(app))
        await pilot.press(*solvable["name_da"][:12], "enter")
        await wait(pilot, lambda: "Skal borgeren alligevel i kø?" in screen_text(app))
        await pilot.press("down", "enter")  # Nej
        await wait(pilot, lambda: "Ikke sat i kø" in told(app))
    run(app, steps)


def test_a_booked_arrival_checked_in_by_name_shows_as_early(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        assert "Carl Nielsen" in screen_text(app)  # booked 11:00, not arrived
        await pilot.press("s")
        await wait(pilot, lambda: "Find en booking" in screen_text(app))
        await pilot.press(*"carl", "enter")
        await wait(pilot, lambda: "Hvem skal tjekkes ind?" in screen_text(app))
        await pilot.press("1")
        await wait(pilot, lambda: "B003 Carl Nielsen tjekket ind: 10:00, 60 min før tid"
                   in told(app))
    run(app, steps)
    assert rec.get("/sites/test/day").json()["visits"]


def test_check_in_by_cpr_goes_in_a_post_and_a_walkin_who_left(server, ctx, tmp_path, rec,
                                                              day):
    app = console(server, ctx, tmp_path, role="reception", person="rita")
    rec.ok("post", "/sites/test/bookings", {
        "errand": "health_card", "start": "2026-11-24T10:40:00+01:00", "name": "Ole Rømer",
        "cpr": "0101801234"}, status=201)

    async def steps(pilot):
        await pilot.press("s")
        await wait(pilot, lambda: "Find en booking" in screen_text(app))
        await pilot.press(*"010180-1234", "enter")
        await wait(pilot, lambda: "Hvem skal tjekkes ind?" in screen_text(app))
        await pilot.press("1")
        await wait(pilot, lambda: "Ole Rømer tjekket ind" in told(app))
        # the walk-ins table: mark the first waiting walk-in as left
        from widgets.reception_tables import WalkinsTable
        table = reception_screen(app).query_one(WalkinsTable)
        table.focus()
        vid = table.visit_id
        await pilot.press("x")
        await wait(pilot, lambda: "gået uden at blive betjent" in screen_text(app))
        await pilot.press("enter")
        await wait(pilot, lambda: app.model.visits[vid].state == "left")
    run(app, steps)


def test_a_failure_inside_an_action_is_told_and_the_console_goes_on(server, ctx, tmp_path,
                                                                    rec, day, monkeypatch):
    import screens.reception_flows as flows

    async def broken(app):
        raise RuntimeError("boom")

    monkeypatch.setattr(flows, "book_for_citizen", broken)
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        await pilot.press("b")
        await wait(pilot, lambda: "Noget gik galt: RuntimeError" in told(app))
        assert reception_screen(app) is app.screen  # still working
    run(app, steps)


def test_the_precall_flow_and_a_second_console_sees_it(server, ctx, tmp_path, rec, day):
    from datetime import timedelta

    from console.client import SkrankeClient
    from console.live import LiveDay

    from .helpers import T0, token

    later = rec.ok("post", "/sites/test/bookings", {
        "errand": "health_card", "name": "Tove Ditlevsen", "phone": "+45 22 33 44 55",
        "start": (T0 + timedelta(days=1, minutes=30)).isoformat()}, status=201)
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def go():
        async with SkrankeClient(server.url, token(ctx, "caseworker", "w"), "test") as c:
            other = LiveDay(c, lambda change: None)
            task = asyncio.create_task(other.run())
            async with app.run_test(size=SIZE) as pilot:
                await ready(pilot)
                await wait(pilot, lambda: other.status == "online")
                await pilot.press("r")
                await wait(pilot, lambda: "Forudgående opkald 24. nov. 2026" in screen_text(app))
                text = screen_text(app)
                assert "0 af" in text and "Carl Nielsen" in str(app.screen.visits)
                # Carl (today 11:00): needs the visit, with prepared notes
                carl = next(v for v in app.screen.visits.values()
                            if v.citizen.name == "Carl Nielsen")
                table = app.screen.query_one("DataTable")
                table.move_cursor(row=table.get_row_index(str(carl.id)))
                await pilot.press("3")
                await wait(pilot, lambda: "Forberedende noter" in screen_text(app))
                await pilot.press(*"Husk gammelt pas", "enter")
                await wait(pilot, lambda: carl.id not in app.screen.visits)
                await wait(pilot, lambda: other.model.visits[carl.id].version > carl.version)
                # Tove (tomorrow): solved by phone, cancelled
                await wait(pilot, lambda: later["id"] in app.screen.visits)
                table.move_cursor(row=table.get_row_index(str(later["id"])))
                await pilot.press("1")
                await wait(pilot, lambda: later["id"] not in app.screen.visits)
                assert "2 af" in screen_text(app) and "1 løst uden besøg" in screen_text(app)
                await pilot.press("escape")
                await wait(pilot, lambda: reception_screen(app) is app.screen)
            task.cancel()
    asyncio.run(go())
    carl = rec.ok("post", "/sites/test/search", {"name": "carl"})[0]
    assert carl["prepared_notes"] == "Husk gammelt pas" and carl["state"] == "booked"
    assert rec.get(f"/visits/{later['id']}").json()["state"] == "cancelled"
