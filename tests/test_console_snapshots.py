"""Snapshots of what the caseworker sees (pytest-textual-snapshot), on the real backend with
a fixed clock: no clock, cursor blink or toast changes between runs.

`pytest tests/test_console_snapshots.py --snapshot-update` after a deliberate change, then
look at the SVGs in tests/__snapshots__/ before committing them."""

from __future__ import annotations

import pytest

from .console_ui import console, counter_screen, open_and_call, ready, seed_day
from .console_ui import until as wait

SIZE = (120, 36)


@pytest.fixture
def day(rec, ctx):
    """The hand-made day, with booking references fixed (they are random)."""
    from sqlalchemy import update

    from backend.storage.models import VisitRow

    ids = seed_day(rec)
    with ctx.db.write() as s:
        for ticket, vid in ids.items():
            if ticket.startswith("B"):
                s.execute(update(VisitRow).where(VisitRow.id == vid)
                          .values(booking_ref=f"REF{ticket}"))
    return ids


async def quiet(pilot) -> None:
    """No toasts, and a footer drawn from the screen's state now (it recomposes lazily)."""
    pilot.app.clear_notifications()
    pilot.app.screen.refresh_bindings()
    await pilot.pause(0.2)


async def serving(pilot) -> None:
    await ready(pilot)
    screen = counter_screen(pilot.app)
    await open_and_call(pilot)
    await wait(pilot, lambda: screen.mine is not None)
    await pilot.press("s")
    await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")


def test_counter_screen(snap_compare, server, ctx, tmp_path, day):
    async def before(pilot):
        await ready(pilot)
        await open_and_call(pilot)
        await wait(pilot, lambda: counter_screen(pilot.app).mine is not None)
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path), run_before=before, terminal_size=SIZE)


def test_citizen_card_with_missing_documents(snap_compare, server, ctx, tmp_path, day):
    async def before(pilot):
        await serving(pilot)
        await pilot.press("d", "m", "escape")
        await wait(pilot, lambda: any(d.status == "missing" for d in
                                      counter_screen(pilot.app).mine.documents))
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path), run_before=before, terminal_size=SIZE)


def test_finish_dialog(snap_compare, server, ctx, tmp_path, day):
    async def before(pilot):
        await serving(pilot)
        await pilot.press("f")
        await wait(pilot, lambda: pilot.app.screen is not counter_screen(pilot.app))
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path), run_before=before, terminal_size=SIZE)


def test_finish_dialog_in_english(snap_compare, server, ctx, tmp_path, day):
    async def before(pilot):
        await serving(pilot)
        await pilot.press("f")
        await wait(pilot, lambda: pilot.app.screen is not counter_screen(pilot.app))
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path, lang="en"), run_before=before,
                        terminal_size=SIZE)


def test_setup_screen(snap_compare, server, ctx, tmp_path):
    from console.app import make_app
    from console.config import Config

    cfg = Config.model_validate({"server": {"url": "http://127.0.0.1:8470", "site": "demo"}})
    app = make_app(cfg, None, outbox_path=tmp_path / "o.db", now=ctx.clock.now)

    async def before(pilot):
        await wait(pilot, lambda: pilot.app.screen.query("#token"))
        await quiet(pilot)
    assert snap_compare(app, run_before=before, terminal_size=SIZE)


def test_offline_banner(snap_compare, server, ctx, tmp_path, day):
    async def before(pilot):
        app = pilot.app
        await ready(pilot)
        app.client._http.base_url = "http://127.0.0.1:9"  # the network goes away
        app.client.attempts = 1
        await app.live.drop()
        await wait(pilot, lambda: app.connection != "online")
        app.live.max_backoff = 0.01  # straight to "offline"
        await wait(pilot, lambda: app.connection == "offline", timeout=10)
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path), run_before=before, terminal_size=SIZE)


def test_reception_screen(snap_compare, server, ctx, tmp_path, day):
    from screens.reception import ReceptionScreen

    async def before(pilot):
        await wait(pilot, lambda: isinstance(pilot.app.screen, ReceptionScreen)
                   and pilot.app.connection == "online"
                   and "Carl" in str(pilot.app.model.visits))
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path, role="reception", person="rita"),
                        run_before=before, terminal_size=SIZE)


def test_timeline_on_the_counter_screen(snap_compare, server, ctx, tmp_path, day):
    async def before(pilot):
        await serving(pilot)
        await pilot.press("y")
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path), run_before=before, terminal_size=SIZE)


@pytest.mark.parametrize("size", [(120, 36), (200, 50)], ids=["120x36", "200x50"])
def test_floor_screen(snap_compare, server, ctx, tmp_path, day, size):
    from screens.floor import FloorScreen

    async def before(pilot):
        await wait(pilot, lambda: isinstance(pilot.app.screen, FloorScreen)
                   and pilot.app.connection == "online" and pilot.app.model.visits)
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path, role="supervisor", person="sven"),
                        run_before=before, terminal_size=size)


@pytest.mark.parametrize("size", [(120, 36), (200, 50)], ids=["120x36", "200x50"])
def test_precall_screen(snap_compare, server, ctx, tmp_path, day, size):
    from screens.precalls import PrecallScreen

    async def before(pilot):
        await wait(pilot, lambda: pilot.app.connection == "online"
                   and hasattr(pilot.app.screen, "apply"))
        await pilot.press("r")
        await wait(pilot, lambda: isinstance(pilot.app.screen, PrecallScreen)
                   and pilot.app.screen.visits)
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path, role="reception", person="rita"),
                        run_before=before, terminal_size=size)


class TestStatistics:
    """The statistics screen at a site that has set what a staff hour costs (the idle
    counter minutes are shown with their value)."""

    @pytest.fixture
    def ctx(self, tmp_path):
        from .helpers import make_ctx
        from .test_api_stats import STAFF_HOUR_DKK

        c = make_ctx(tmp_path, staff_hour_dkk=STAFF_HOUR_DKK)
        yield c
        c.db.dispose()

    @pytest.mark.parametrize("size", [(120, 36), (200, 50)], ids=["120x36", "200x50"])
    def test_statistics_screen(self, snap_compare, server, ctx, tmp_path, size):
        from screens.stats import StatsScreen

        from .test_api_stats import build

        build(ctx)

        async def before(pilot):
            await wait(pilot, lambda: pilot.app.connection == "online"
                       and hasattr(pilot.app.screen, "apply"))
            await pilot.press("t")
            await wait(pilot, lambda: isinstance(pilot.app.screen, StatsScreen)
                       and pilot.app.screen.figures is not None)
            await quiet(pilot)
        assert snap_compare(console(server, ctx, tmp_path, role="supervisor", person="sven"),
                            run_before=before, terminal_size=size)


class TestAllSites:
    """Issue 21: the statistics screen's all-sites view (`a`), two sites each with their own
    staff hour's cost: a row per site, all of them together, and every figure of all."""

    @pytest.fixture
    def ctx(self, tmp_path):
        from .helpers import make_ctx
        from .test_console_stats_sites import NORD

        c = make_ctx(tmp_path, staff_hour_dkk=450, more_sites=(NORD,))
        yield c
        c.db.dispose()

    def test_all_sites_statistics(self, snap_compare, server, ctx, tmp_path):
        from .test_console_stats_sites import open_stats, two_days

        two_days(ctx)

        async def before(pilot):
            await open_stats(pilot)
            await pilot.press("a")
            await wait(pilot, lambda: "sites" in pilot.app.screen.figures)
            await quiet(pilot)
        assert snap_compare(console(server, ctx, tmp_path, role="supervisor", person="sven"),
                            run_before=before, terminal_size=(120, 36))


# --- issue 22: the three screens at the smallest and a large terminal ---------------------------
SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_counter_screen_at(snap_compare, server, ctx, tmp_path, day, size):
    async def before(pilot):
        await serving(pilot)
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path), run_before=before, terminal_size=size)


@SIZES
def test_reception_screen_at(snap_compare, server, ctx, tmp_path, day, size):
    from screens.reception import ReceptionScreen

    async def before(pilot):
        await wait(pilot, lambda: isinstance(pilot.app.screen, ReceptionScreen)
                   and pilot.app.connection == "online"
                   and "Carl" in str(pilot.app.model.visits))
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path, role="reception", person="rita"),
                        run_before=before, terminal_size=size)


@SIZES
def test_floor_screen_at(snap_compare, server, ctx, tmp_path, day, size):
    from screens.floor import FloorScreen

    async def before(pilot):
        await wait(pilot, lambda: isinstance(pilot.app.screen, FloorScreen)
                   and pilot.app.connection == "online" and pilot.app.model.visits)
        await quiet(pilot)
    assert snap_compare(console(server, ctx, tmp_path, role="supervisor", person="sven"),
                        run_before=before, terminal_size=size)
