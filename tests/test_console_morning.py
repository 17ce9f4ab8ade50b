"""Issue 22: a demanding caseworker's morning, item by item, on the real backend (loopback,
fixed clock). Each test fails on the console before the issue and passes after."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from .console_ui import (
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
from .helpers import T0, token

SIZE = (120, 36)


@pytest.fixture
def day(rec):
    return seed_day(rec)


def run(app, steps, size=SIZE):
    async def go():
        async with app.run_test(size=size) as pilot:
            await steps(pilot)
    asyncio.run(go())


async def serving(pilot):
    await ready(pilot)
    screen = counter_screen(pilot.app)
    await open_and_call(pilot)
    await wait(pilot, lambda: screen.mine is not None)
    await pilot.press("s")
    await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
    return screen


def footer_labels(screen) -> list[str]:
    return [b.description for _k, b, enabled, _t in screen.active_bindings.values()
            if b.show or b.action == "command_palette"]


# --- language ---------------------------------------------------------------------------------
def test_transfer_palette_footer_and_quit_speak_danish(server, ctx, tmp_path, rec, day):
    from .test_console_floor import open_counter

    open_counter(server, ctx, 2, "bo")
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        screen = await serving(pilot)
        await pilot.press("t")
        await wait(pilot, lambda: app.screen is not screen and "Skranke 2" in screen_text(app))
        text = screen_text(app)
        assert "Skranke 2 (åben)" in text and "(open)" not in text
        await pilot.press("escape")
        await wait(pilot, lambda: app.screen is screen)
        labels = footer_labels(screen)
        assert "Kommandoer" in labels and "palette" not in labels
        assert labels.count("Afslut") == 1 and "Luk programmet" in [
            b.description for _k, b, _e, _t in screen.active_bindings.values()]
        await pilot.press("ctrl+p")
        await wait(pilot, lambda: app.screen.id == "--command-palette")
        from textual.command import CommandInput
        assert app.screen.query_one(CommandInput).placeholder == "Søg efter kommandoer…"
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Hjælp (?)" in titles and not any("question_mark" in t for t in titles)
    run(app, steps)


def test_the_audit_view_reads_in_words(server, ctx, tmp_path, rec, day):
    cw = console(server, ctx, tmp_path)

    async def work(pilot):
        await serving(pilot)
        await pilot.press("f", "1", "j")
        await wait(pilot, lambda: counter_screen(cw).mine is None)
    run(cw, work)
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def steps(pilot):
        from screens.audit import AuditScreen
        await wait(pilot, lambda: app.connection == "online" and hasattr(app.screen, "apply"))
        await pilot.press("a")
        await wait(pilot, lambda: "Søg i revisionsloggen" in screen_text(app)
                   or isinstance(app.screen, AuditScreen) and len(app.screen_stack) > 2)
        await pilot.press(*"@anne", "enter")
        await wait(pilot, lambda: "poster" in screen_text(app) or "entries" in screen_text(app))
        text = screen_text(app)
        assert "sagsbehandler" in text and "kaldt som næste" in text
        assert "udfald: Betjent" in text and "afsluttet" in text
        for raw in ("caseworker", "call_next", "outcome=", "errand=None", "served"):
            assert raw not in text, raw
    run(app, steps)


def test_statistics_show_words_danish_decimals_and_dates(server, ctx, tmp_path):
    from screens.stats import StatsScreen

    from .test_api_stats import build

    build(ctx)
    with ctx.db.write() as s:  # a pre-call that needs the visit, as the morning had
        from backend.storage.models import VisitRow
        row = s.query(VisitRow).filter_by(ticket="B004").one()
        row.precall = {"result": "needs_visit"}
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def steps(pilot):
        await wait(pilot, lambda: app.connection == "online" and hasattr(app.screen, "apply"))
        await pilot.press("t")
        await wait(pilot, lambda: isinstance(app.screen, StatsScreen)
                   and app.screen.figures is not None)
        from .console_ui import plain
        text = plain(app.screen.render_figures(app.screen.figures)) + screen_text(app)
        assert "needs_visit" not in text and "solved_by_phone" not in text
        assert "Skal møde op" in text or "Kræver besøget" in text or "besøg" in text
        assert "24. nov. 2026" in text and "2026-11-24" not in text
        import re
        assert not re.search(r"\d\.\d %", text), "decimals with a point in Danish"
    run(app, steps)


def test_a_connection_error_in_one_language(server, ctx, tmp_path):
    from console.app import make_app
    from console.config import Config

    cfg = Config.model_validate({"server": {"url": "http://127.0.0.1:9", "site": "test",
                                            "connect_timeout": 0.2}})
    app = make_app(cfg, token(ctx, "caseworker", "anne"), outbox_path=tmp_path / "o.db",
                   now=ctx.clock.now)

    async def steps(pilot):
        await wait(pilot, lambda: "Serveren kunne ikke spørges" in screen_text(app)
                   or "kunne ikke" in screen_text(app), timeout=20)
        text = screen_text(app)
        assert "serveren kan ikke nås" in text
        assert "cannot be reached" not in text and "ConnectError" not in text
    run(app, steps)


# --- setup ------------------------------------------------------------------------------------
def test_setup_tries_again_at_a_corrected_url(server, ctx, tmp_path, monkeypatch, rec, day):
    from console.app import make_app
    from console.config import Config

    monkeypatch.setenv("SKRANKE_CONFIG", str(tmp_path / "config.toml"))
    stored = []
    monkeypatch.setattr("console.credentials.store",
                        lambda url, secret: stored.append(url) or (_ for _ in ()).throw(
                            RuntimeError("no keyring")))
    cfg = Config.model_validate({"server": {"url": "http://127.0.0.1:9", "site": "test",
                                            "connect_timeout": 0.2}})
    app = make_app(cfg, token(ctx, "caseworker", "anne"), outbox_path=tmp_path / "o.db",
                   now=ctx.clock.now)

    async def steps(pilot):
        from textual.widgets import Input
        await wait(pilot, lambda: "serveren kan ikke nås" in screen_text(app), timeout=20)
        url = app.screen.query_one("#url", Input)
        assert app.screen.query_one("#token", Input).value  # the token is kept
        url.value = server.url
        url.focus()
        await pilot.press("enter")  # Enter in the corrected field: checked again at once
        await ready(pilot)
        assert "SKRANKE_TOKEN" in told(app)
    run(app, steps)
    from console.config import load_config
    saved = load_config(tmp_path / "config.toml")
    assert (saved.server.url, saved.server.site) == (server.url, "test")
    assert stored == [server.url]


def test_no_keyring_at_start_says_start_with_skranke_token(server, ctx, tmp_path):
    from console.app import make_app
    from console.config import Config

    cfg = Config.model_validate({"server": {"url": server.url, "site": "test"}})
    app = make_app(cfg, None, outbox_path=tmp_path / "o.db", now=ctx.clock.now,
                   token_note="No secure keyring is available on this machine, so …")

    async def steps(pilot):
        await wait(pilot, lambda: pilot.app.screen.query("#token"))
        text = screen_text(app)
        assert "SKRANKE_TOKEN=<nøgle> skranke" in text and "No secure" not in text
    run(app, steps)


# --- truth on screen --------------------------------------------------------------------------
def test_call_next_says_who_waits_and_why(server, ctx, tmp_path, rec):
    rec.ok("post", "/sites/test/bookings", {
        "errand": "passport_adult", "start": (T0 + timedelta(minutes=5)).isoformat(),
        "name": "Anna Booked", "cpr": None}, status=201)
    w = rec.ok("post", "/sites/test/walk-ins", {"errand": "passport_adult", "name": "Ib"},
               status=201)
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        await ready(pilot)
        await pilot.press("o")
        await wait(pilot, lambda: counter_screen(app).counter.state == "open")
        await pilot.press("n")
        await wait(pilot, lambda: w["ticket"] in told(app))
        assert f"{w['ticket']} venter — holdes til bookingen kl. 10:05" in told(app)
        assert "Ingen står for tur" not in told(app)
    run(app, steps)


def late_walk_ins(server, ctx, rec) -> None:
    """15:40, one counter open, four passport walk-ins: the fourth is expected after 16:00,
    when the centre closes."""
    from .test_console_floor import open_counter

    ctx.clock.set(T0.replace(hour=15, minute=40))
    open_counter(server, ctx, 1, "anne")
    for i in range(4):  # 4 × 10 minutes at one counter from 15:40
        rec.ok("post", "/sites/test/walk-ins", {"errand": "passport_adult",
                                                 "name": f"Late {i}"}, status=201)


def test_a_walk_in_expected_after_closing_reads_not_today(server, ctx, tmp_path, rec):
    late_walk_ins(server, ctx, rec)
    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        from widgets.reception_tables import WalkinsTable
        await wait(pilot, lambda: app.connection == "online" and hasattr(app.screen, "apply"))
        await wait(pilot, lambda: "ikke i dag" in screen_text(app))
        table = app.screen.query_one(WalkinsTable)
        rows = [" ".join(str(c) for c in table.get_row(r.key)) for r in table.ordered_rows]
        assert any("ikke i dag" in r for r in rows) and any("ca. 15:" in r for r in rows)
    run(app, steps)


def test_done_view_shows_the_outcome_and_the_view_is_marked(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        screen = await serving(pilot)
        assert "▸ 2 Venter ◂" in screen_text(app)
        await pilot.press("f", "2")  # missing documents
        await wait(pilot, lambda: "Manglende dokumenter" in screen_text(app))
        await pilot.press("0")  # no new time
        await wait(pilot, lambda: screen.mine is None)
        await pilot.press("4")
        await wait(pilot, lambda: "✔ Manglende dokumenter" in queue_text(app))
        assert "▸ 4 Færdig ◂" in screen_text(app)
        assert "✔ færdig" not in queue_text(app)
    run(app, steps)


def test_a_raised_priority_shows(server, ctx, tmp_path, rec, day, as_role):
    as_role("supervisor", "sven").ok("post", f"/visits/{day['C002']}/priority",
                                      {"priority": 1})
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        await ready(pilot)
        await wait(pilot, lambda: "C002 ↑" in queue_text(app))
    run(app, steps)


# --- safety -----------------------------------------------------------------------------------
def test_no_show_is_undone_with_z(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        await ready(pilot)
        screen = counter_screen(app)
        await open_and_call(pilot)
        await wait(pilot, lambda: screen.mine is not None)
        called = screen.mine
        await pilot.press("x")
        await wait(pilot, lambda: rec.get(f"/visits/{called.id}").json()["state"] == "no_show")
        await wait(pilot, lambda: "Tryk z inden for 5 minutter for at fortryde" in told(app))
        await pilot.press("z")
        await wait(pilot, lambda: rec.get(f"/visits/{called.id}").json()["state"]
                   == "waiting")
        await wait(pilot, lambda: f"{called.ticket}: fortrudt." in told(app))
    run(app, steps)


def test_finish_is_undone_with_z_within_five_minutes(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        screen = await serving(pilot)
        v = screen.mine
        await pilot.press("f", "1", "j")
        await wait(pilot, lambda: screen.mine is None)
        await pilot.press("z")
        await wait(pilot, lambda: screen.mine is not None and screen.mine.state == "serving")
        assert rec.get(f"/visits/{v.id}").json()["outcome"] is None
        await pilot.press("f", "1", "j")
        await wait(pilot, lambda: screen.mine is None)
        ctx.clock.advance(minutes=6)
        await pilot.press("z")  # too late: not offered
        await pilot.pause(0.3)
        assert rec.get(f"/visits/{v.id}").json()["state"] == "done"
    run(app, steps)


def test_undoing_a_missing_documents_finish_cancels_its_new_time(server, ctx, tmp_path, rec,
                                                                  day):
    app = console(server, ctx, tmp_path)

    def booked(name: str) -> list[dict]:
        found = rec.ok("post", "/sites/test/search", {"name": name, "cpr": None})
        return [r for r in found if r["state"] == "booked"]

    async def steps(pilot):
        screen = await serving(pilot)
        v = screen.mine
        before = len(booked(v.citizen.name))
        await pilot.press("f", "2")
        await wait(pilot, lambda: "Book en ny tid nu?" in screen_text(app))
        await pilot.press("1")
        await wait(pilot, lambda: "Ny tid booket" in told(app))
        assert len(booked(v.citizen.name)) == before + 1
        await pilot.press("z")
        await wait(pilot, lambda: "er aflyst" in told(app))
        assert f"{v.ticket}: fortrudt; den nye tid" in told(app)
        await wait(pilot, lambda: screen.mine is not None and screen.mine.state == "serving")
        assert len(booked(v.citizen.name)) == before
    run(app, steps)


def test_served_with_no_document_ticked_asks_first(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        screen = await serving(pilot)
        await pilot.press("f", "1")
        await wait(pilot, lambda: "Afslut som betjent alligevel?" in screen_text(app))
        await pilot.press("n")
        await pilot.pause(0.2)
        assert screen.mine is not None and screen.mine.state == "serving"
    run(app, steps)


def test_digits_pick_in_the_rebooking_list(server, ctx, tmp_path, rec, day):
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        screen = await serving(pilot)
        await pilot.press("f", "2")
        await wait(pilot, lambda: "Book en ny tid nu?" in screen_text(app))
        await pilot.press("1")  # the first free time, at once (it only highlighted before)
        await wait(pilot, lambda: "Ny tid booket" in told(app))
        assert screen.mine is None
    run(app, steps)


# --- reception --------------------------------------------------------------------------------
def test_a_walk_in_missing_only_the_photo_may_be_queued(server, ctx, tmp_path, rec, day):
    from .test_console_reception import ready as reception_ready
    from .test_console_reception import walkin

    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        await reception_ready(pilot)
        await walkin(pilot, "fornyelse", "Karen Blixen")
        await wait(pilot, lambda: "Dokumenter til" in screen_text(app))
        await pilot.press("p", "p", "m", "p", "enter")  # only the photo is missing
        await wait(pilot, lambda: "Skal borgeren i kø alligevel?" in screen_text(app))
        await pilot.press("j")
        await wait(pilot, lambda: "Nummer C003 til Karen Blixen" in screen_text(app))
        await pilot.press("t")  # the ticket hides …
        await pilot.pause(0.1)
        assert not app.screen.query_one("#slip").display
        await pilot.press("t")  # … and shows again
        await pilot.pause(0.1)
        assert app.screen.query_one("#slip").display
    run(app, steps)
    karen = [v for v in rec.get("/sites/test/day").json()["visits"]
             if v["citizen"]["name"] == "Karen Blixen"]
    assert [(v["kind"], v["state"]) for v in karen] == [("walkin", "waiting")]


# --- layout -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_queue_takes_the_width_and_cuts_with_an_ellipsis(server, ctx, tmp_path, rec, day,
                                                            size):
    rec.ok("post", "/sites/test/walk-ins", {
        "errand": "passport_adult", "name": "Maria Magdalena Christiansen-Bernadotte "
                                           "af Rosenborg"}, status=201)
    app = console(server, ctx, tmp_path)

    async def steps(pilot):
        from widgets.queue_table import QueueTable
        await ready(pilot)
        table = counter_screen(app).query_one(QueueTable)
        widths = sum(c.get_render_width(table) for c in table.columns.values())
        assert size[0] - 4 <= widths <= size[0], widths
        lines = [table.render_line(y).text for y in range(table.size.height)]
        assert any("…" in line for line in lines)
        if size[0] == 80:
            assert "counter" not in {str(c.key.value) for c in table.columns.values()}
            footer = app.screen.query_one("Footer")
            assert footer.region.bottom == size[1]
    run(app, steps, size=size)


def test_a_citizen_transferred_to_a_busy_counter_is_called_there_next(server, ctx, tmp_path,
                                                                      rec, as_role):
    """The morning's mystery: a walk-in transferred to open Skranke 2 waited while Skranke 2
    served booked citizens (a slot-less walk-in sorted after every due booking)."""
    anne = as_role("caseworker", "anne")
    anne.ok("post", "/sites/test/counters/1/open")
    w = rec.ok("post", "/sites/test/walk-ins", {"errand": "health_card", "name": "Ole"},
               status=201)
    v = anne.ok("post", "/sites/test/counters/1/call-next")["visit"]
    anne.ok("post", f"/visits/{v['id']}/start")
    for minutes in (0, 10, 20):  # booked citizens due at the same time
        b = rec.ok("post", "/sites/test/bookings", {
            "errand": "passport_adult", "start": (T0 + timedelta(minutes=minutes)).isoformat(),
            "name": f"Booked {minutes}", "cpr": None}, status=201)
        rec.ok("post", f"/visits/{b['id']}/check-in")
    anne.ok("post", f"/visits/{w['id']}/transfer", {"counter": 2, "errand": None})
    app = console(server, ctx, tmp_path, person="bo", counter=2)

    async def steps(pilot):
        await ready(pilot)
        screen = counter_screen(app)
        await open_and_call(pilot)
        await wait(pilot, lambda: screen.mine is not None)
        assert screen.mine.id == w["id"]
        await wait(pilot, lambda: f"{w['ticket']} kaldt til Skranke 2" in told(app))
    run(app, steps)


def test_the_precall_table_shows_every_heading_whole(server, ctx, tmp_path, rec, day):
    from textual.widgets import DataTable

    from screens.precalls import PrecallScreen

    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def steps(pilot):
        await wait(pilot, lambda: app.connection == "online" and hasattr(app.screen, "apply"))
        await pilot.press("r")
        await wait(pilot, lambda: isinstance(app.screen, PrecallScreen))
        table = app.screen.query_one(DataTable)
        for column in table.columns.values():
            assert column.width >= len(str(column.label)), str(column.label)
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= 118
    run(app, steps)


@pytest.mark.parametrize("role,person", [("caseworker", "anne"), ("reception", "rita"),
                                         ("supervisor", "sus")])
def test_headings_that_do_not_fit_end_with_an_ellipsis(server, ctx, tmp_path, rec, day, role,
                                                       person):
    from rich.cells import cell_len
    from textual.widgets import DataTable

    app = console(server, ctx, tmp_path, role=role, person=person)

    async def steps(pilot):
        await wait(pilot, lambda: app.connection == "online" and hasattr(app.screen, "apply")
                   and all(t.columns for t in app.screen.query(DataTable)))
        await pilot.pause(0.2)
        headers = []
        for table in app.screen.query(DataTable):
            for column in table.columns.values():
                assert cell_len(str(column.label)) <= column.width, str(column.label)
            headers.append(table.render_line(0).text)
        if role == "supervisor":  # the floor's "Bemandet af" at 80 columns
            assert any("Bemandet…" in h for h in headers), headers
            assert not any("Bemandet a " in h for h in headers), headers
    run(app, steps, size=(80, 24))
