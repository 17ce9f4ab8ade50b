"""Rough edges found driving the demo as a new user (issue 22's "look for the rest of their
kind"), each with the test that shows it fixed."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from console import i18n, present

from .console_ui import console, screen_text
from .console_ui import until as wait
from .helpers import T0
from .test_console_floor import floor, open_counter


@pytest.mark.parametrize(("lang", "line"), [
    ("da", "Visning: 1 Mine  ▸ 2 Venter ◂  3 Alle  4 Færdig  (v skifter)"),
    ("en", "View: 1 Mine  ▸ 2 Waiting ◂  3 All  4 Done  (v next)"),
])
def test_the_view_line_names_every_view_alike(lang, line):
    """It read '1 mine ▸ 2 Venter ◂ 3 alle 4 færdig': the one on capitalised, the rest not,
    and unlike the help screen's 'Mine', 'Alle', 'Færdig'."""
    i18n.use(lang)
    try:
        assert present.view_marker("waiting") == line
    finally:
        i18n.use("da")



@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_the_floors_counter_board_uses_the_width_there_is(server, ctx, tmp_path, rec, size):
    """At 160 columns the citizen at a counter read 'B001 → kaldt · Kørekort –…' while 48
    columns stayed empty; at 80 every column still fits."""
    from widgets.counter_board import CounterBoard

    v = rec.ok("post", "/sites/test/bookings", {
        "errand": "driving_licence_exchange", "start": T0.isoformat(), "name": "Ole Lund",
        "cpr": None, "phone": None, "note": None}, status=201)
    rec.ok("post", f"/visits/{v['id']}/check-in")
    secret = open_counter(server, ctx, 1, "anne")
    httpx.post(f"{server.url}/sites/test/counters/1/call-next",
               headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "call-1"}
               ).raise_for_status()
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")
    whole = "B001 → kaldt · Kørekort – ombytning af udenlandsk kørekort"

    async def go():
        async with app.run_test(size=size) as pilot:
            await wait(pilot, lambda: floor(app) is not None and "B001 → kaldt" in
                       screen_text(app))
            board = floor(app).query_one(CounterBoard)
            assert sum(c.width + 2 for c in board.columns.values()) <= size[0]
            citizen = board.columns["citizen"].width
            assert (citizen >= len(whole)) == (size[0] >= 120), citizen
    asyncio.run(go())


def test_a_days_statistics_say_the_day_once_and_list_errands_by_their_name(server, ctx,
                                                                           tmp_path):
    """It read 'Statistik 7. dec. 2026 – 7. dec. 2026', listed the errands by their code
    (in English in no visible order) and means as '13' beside '9,3'."""
    import io

    from rich.console import Console
    from textual.widgets import Static

    from screens.stats import StatsScreen

    from .test_api_stats import build

    build(ctx)
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def go():
        async with app.run_test(size=(120, 36)) as pilot:
            await wait(pilot, lambda: app.connection == "online"
                       and hasattr(app.screen, "apply"))
            await pilot.press("t")
            await wait(pilot, lambda: isinstance(app.screen, StatsScreen)
                       and app.screen.figures is not None)
            day = present.long_date(app.screen.start)
            assert f"Statistik {day}" in screen_text(app)
            assert f"{day} – {day}" not in screen_text(app)
            c = Console(width=120, record=True, file=io.StringIO())
            c.print(app.screen.query_one("#figures", Static).content)
            shown = c.export_text()
            assert shown.index("Pas til voksen") < shown.index("Sundhedskort")
            passport = next(line for line in shown.splitlines() if "Pas til voksen" in line)
            assert "10,0" in passport.split()  # a mean of exactly 10 minutes
    asyncio.run(go())


def test_a_day_and_time_reads_as_english_in_english():
    """The audit view and the rebooking list read 'Mon 07.12 03:37' in English: a date an
    English reader takes for 12 July."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime(2026, 12, 7, 3, 37, tzinfo=ZoneInfo("Europe/Copenhagen"))
    i18n.use("en")
    try:
        assert present.day_time(at) == "Mon 7 Dec 03:37"
    finally:
        i18n.use("da")
    assert present.day_time(at) == "man 07.12 03:37"


@pytest.mark.parametrize("cells", [40, 60, 64, 100, 140])
def test_the_timeline_ruler_names_whole_hours_only(cells):
    """At 80 columns the day timeline's ruler read '01:04', '03:04' (the first cell's time)
    where the hours are."""
    import re
    from datetime import datetime, timedelta
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from widgets.timeline import LABEL, DayTimeline

    start = datetime(2026, 12, 7, 0, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
    model = SimpleNamespace(opening=[(start, start + timedelta(hours=8, minutes=30))],
                            counters={}, visits={})
    ruler = DayTimeline().render_day(model, start + timedelta(hours=3), cells).plain
    labels = re.findall(r"\S+", ruler.splitlines()[0][LABEL:])
    assert labels and all(re.fullmatch(r"0[0-8]:00", label) for label in labels), labels
    assert labels[0] == "00:00"


def test_the_status_column_shows_a_whole_outcome_when_there_is_room():
    """At 160 columns the done view read '✔ Manglende…' while the citizen's column had
    room to spare; at 120 and 80 columns nothing changes."""
    from widgets.queue_table import COLUMNS, QueueTable

    table = QueueTable(present.Errands.__new__(present.Errands), lambda: None)
    wide = dict((k, w) for k, _l, w in table.layout_for(160))
    assert wide["state"] >= len("✔ Manglende dokumenter")
    assert wide["citizen"] > dict((k, w) for k, _l, w in COLUMNS)["citizen"]
    for width in (120, 80):
        layout = dict((k, w) for k, _l, w in table.layout_for(width))
        assert layout["state"] == 12
        assert sum(w + 2 for w in layout.values()) + 2 <= width
