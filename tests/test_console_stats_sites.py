"""The statistics screen's all-sites view (issue 21): `a` switches between this site and
every site of the municipality (GET /stats) and back; a token bound to one site is told why
it cannot; the CSV export follows the view."""

from __future__ import annotations

import asyncio

import pytest

from .console_ui import console, plain, screen_text, told
from .console_ui import until as wait
from .helpers import make_ctx, site_dict, token

#: Two sites with their own staff hour's cost: test (DKK 450) and nord (DKK 400).
NORD = site_dict(id="nord", name="Borgerservice Nord", counters=3, staff_hour_dkk=400)


@pytest.fixture
def ctx(tmp_path):
    c = make_ctx(tmp_path, staff_hour_dkk=450, more_sites=(NORD,))
    yield c
    c.db.dispose()


def two_days(ctx) -> None:
    from .test_multisite import _nord_day

    _nord_day(ctx)  # test: 6 visits, Skranke 1 idle 444 min; nord: 2, idle 480 - 12 = 468


def run(app, steps) -> None:
    async def go():
        async with app.run_test(size=(120, 36)) as pilot:
            await steps(pilot)
    asyncio.run(go())


async def open_stats(pilot) -> None:
    from screens.stats import StatsScreen

    app = pilot.app
    await wait(pilot, lambda: app.connection == "online" and hasattr(app.screen, "apply"),
               timeout=20)
    await pilot.press("t")
    await wait(pilot, lambda: isinstance(app.screen, StatsScreen)
               and app.screen.figures is not None)


def test_the_key_shows_every_site_and_their_totals_and_back(server, ctx, tmp_path,
                                                            monkeypatch):
    import screens.stats as stats_screen

    two_days(ctx)
    monkeypatch.setattr(stats_screen, "export_path",
                        lambda start, end, every=False: tmp_path / f"stats-{every}.csv")
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")
    seen = {}

    async def steps(pilot):
        await open_stats(pilot)
        screen = app.screen
        assert screen.figures["visits"] == 6
        await pilot.press("a")
        await wait(pilot, lambda: screen.all_sites and "sites" in screen.figures)
        seen["all"] = plain(screen.render_sites(screen.figures)) + screen_text(app)
        await pilot.press("x")
        await wait(pilot, lambda: getattr(screen, "exported", None) is not None)
        seen["csv"] = screen.exported.read_text(encoding="utf-8")
        await pilot.press("a")
        await wait(pilot, lambda: not screen.all_sites and "sites" not in screen.figures)
        seen["one"] = screen_text(app)
    run(app, steps)
    text = seen["all"]
    assert "Statistik, alle steder 24. nov. 2026" in text
    assert "Borgerservice Test" in text and "Borgerservice Nord" in text
    assert "Alle steder tilsammen" in text
    # idle counter minutes: 444 + 468 = 912, worth 444/60*450 + 468/60*400 = 3330 + 3120
    assert "Deres værdi, kr." in text and "3.330" in text and "3.120" in text
    assert "6.450 kr." in text and "Værdi ved hvert steds timepris" in text
    assert "912" in text
    assert "66,7" in text and "66.7" not in text  # booked share at test, a Danish comma
    assert "nord: Skranke 1" in text
    assert seen["csv"].startswith("site,section,key,value")
    assert "*,total,visits,8" in seen["csv"].replace("\r\n", "\n")
    assert "alle steder" not in seen["one"] and "Statistik 24. nov. 2026" in seen["one"]


def test_the_all_sites_view_in_english(server, ctx, tmp_path):
    two_days(ctx)
    app = console(server, ctx, tmp_path, role="supervisor", person="sven", lang="en")
    seen = {}

    async def steps(pilot):
        await open_stats(pilot)
        await pilot.press("a")
        await wait(pilot, lambda: "sites" in app.screen.figures)
        seen["text"] = plain(app.screen.render_sites(app.screen.figures)) + screen_text(app)
    run(app, steps)
    text = seen["text"]
    assert "Statistics, all sites Nov 24, 2026" in text
    assert "DKK 6,450" in text and "All sites together" in text and "66.7" in text
    assert "Their value, DKK" in text and "3,330" in text


def test_a_site_bound_token_is_told_and_keeps_its_site(server, ctx, tmp_path):
    two_days(ctx)
    app = console(server, ctx, tmp_path, role="supervisor", person="nora",
                  secret=token(ctx, "supervisor", "nora", site="test"))

    async def steps(pilot):
        await open_stats(pilot)
        screen = app.screen
        await pilot.press("a")
        await wait(pilot, lambda: "kun dette sted" in told(app))
        await pilot.pause(0.2)
        assert not screen.all_sites and screen.figures["visits"] == 6
        assert "alle steder" not in screen_text(app)
    run(app, steps)


def test_the_key_is_in_the_footer_help_and_palette_and_follows_the_keymap(server, ctx, tmp_path):
    from console.app import make_app
    from console.config import Config

    from .test_console_footer import shown_keys

    two_days(ctx)
    cfg = Config.model_validate({"server": {"url": server.url, "site": "test"},
                                 "keymap": {"stats_sites": "s"}})
    app = make_app(cfg, token(ctx, "supervisor", "sven"), outbox_path=tmp_path / "o.db",
                   now=ctx.clock.now)

    async def steps(pilot):
        await open_stats(pilot)
        screen = app.screen
        screen.refresh_bindings()
        await pilot.pause(0.3)
        assert "s Alle steder" in [k[2] for k in shown_keys(app)]
        assert "Alle steder (s)" in [c.title for c in app.get_system_commands(screen)]
        await pilot.press("s")
        await wait(pilot, lambda: screen.all_sites and "sites" in screen.figures)
        await pilot.press("question_mark")
        await wait(pilot, lambda: "Skift mellem dette steds tal" in screen_text(app))
    run(app, steps)
