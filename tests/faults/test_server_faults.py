"""Faults of the server process itself, with a real console under Pilot pressing the
caseworker's keys: the server frozen (SIGSTOP for 20 s, then SIGCONT) and killed
(SIGKILL, then started again). For each: what the status bar and the row show within the
stated time, and after recovery every action applied exactly once (the audit log via the
API), the screen equal to the backend's day, nothing shown failed that was applied."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest

from ..console_ui import counter_screen
from .desk import (
    SIZE,
    Backend,
    bar,
    console,
    open_counter,
    ready,
    report,
    same_day,
    tokens,
    told,
    wait,
    walk_ins,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP/SIGKILL")

SILENT = "Ingen svar fra serveren i 12 s"
NOT_SENT = "Ingen forbindelse til serveren"


def test_frozen_server_is_shown_silent_and_the_call_sent_meanwhile_gets_its_answer(
        srv, tmp_path):
    """Findings 1 and 2 of issue 26: `● Online` during a 30 s freeze, and `n` reported
    failed ("Ingen forbindelse …") although the server applied it when it woke."""
    sup, cw = tokens(srv)
    srv.start()
    walk_ins(srv, sup)
    backend = Backend(srv, sup)
    app = console(srv.url, cw, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_counter(pilot)
            srv.proc.send_signal(signal.SIGSTOP)
            frozen = time.monotonic()
            try:
                await pilot.pause(1)
                await pilot.press("n")
                await wait(pilot, lambda: "Kald næste sendt — venter på svar" in bar(app), 10,
                           "the call shown as waiting for its answer")
                await pilot.press("n")  # again: shows the pending call, sends nothing
                await wait(pilot, lambda: "sendes ikke igen" in told(app), 3, "n told")
                await wait(pilot, lambda: SILENT in bar(app), 16, "the silence shown")
                silent_after = time.monotonic() - frozen
                assert silent_after <= 15
                while time.monotonic() - frozen < 20:  # never online while frozen
                    assert "● Online" not in bar(app)
                    assert NOT_SENT not in told(app)
                    await pilot.pause(0.2)
            finally:
                srv.proc.send_signal(signal.SIGCONT)
            woke = time.monotonic()
            await wait(pilot, lambda: app.connection == "online" and screen.mine is not None,
                       30, "online again, the call shown")
            online_after = time.monotonic() - woke
            await wait(pilot, lambda: "kaldt til" in told(app), 10, "the call's outcome told")
            assert "⧗" not in bar(app)
            assert NOT_SENT not in told(app) and "Noget gik galt" not in told(app)
            assert await backend.applied("anne", "call_next") == 1  # once, not twice
            await same_day(pilot, backend)
            report("server frozen 20 s (SIGSTOP), `n` pressed twice during it", silent_after,
                   0, 0, f"online {online_after:.1f} s after SIGCONT; call applied once, "
                   "shown called")

    asyncio.run(go())


def test_killed_server_is_shown_within_two_seconds_and_its_restart_read_again(srv, tmp_path):
    sup, cw = tokens(srv)
    srv.start()
    walk_ins(srv, sup)
    backend = Backend(srv, sup)
    app = console(srv.url, cw, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_counter(pilot)
            reloads = app.live.reloads
            srv.kill()
            shown = await wait(pilot, lambda: "Genopretter forbindelsen" in bar(app), 2,
                               "the lost connection shown")
            await pilot.press("n")  # refused at connect: never sent, so truly not done
            refused = await wait(pilot, lambda: NOT_SENT in told(app), 6, "n refused")
            assert "⧗" not in bar(app)
            await asyncio.to_thread(srv.start)
            back = time.monotonic()
            await wait(pilot, lambda: app.connection == "online", 20, "online again")
            online_after = time.monotonic() - back
            assert app.live.reloads > reloads  # the day read again before "online"
            assert await backend.applied("anne", "call_next") == 0  # nothing half-done
            await pilot.press("n")
            await wait(pilot, lambda: screen.mine is not None, 10, "the call shown")
            assert await backend.applied("anne", "call_next") == 1
            await same_day(pilot, backend)
            report("server killed (SIGKILL), restarted", shown, 0, 0,
                   f"`n` while down told not sent after {refused:.1f} s (nothing applied); "
                   f"online {online_after:.1f} s after the restart")

    asyncio.run(go())


def test_call_sent_to_a_frozen_server_killed_meanwhile_is_applied_once_after_restart(
        srv, tmp_path):
    """The request died with the server (never applied): the console, still unknown,
    sends it again with its key once the server is back; one call."""
    sup, cw = tokens(srv)
    srv.start()
    walk_ins(srv, sup)
    backend = Backend(srv, sup)
    app = console(srv.url, cw, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_counter(pilot)
            srv.proc.send_signal(signal.SIGSTOP)
            await pilot.pause(0.5)
            await pilot.press("n")
            shown = await wait(pilot, lambda: "Kald næste sendt — venter på svar" in bar(app),
                               10, "the call waiting")
            srv.kill()  # SIGKILL ends a stopped process too
            await pilot.pause(2)
            assert "Kald næste sendt" in bar(app) and NOT_SENT not in told(app)
            await asyncio.to_thread(srv.start)
            await wait(pilot, lambda: screen.mine is not None and "⧗" not in bar(app), 30,
                       "the call's real outcome")
            await wait(pilot, lambda: "kaldt til" in told(app), 10, "the call told")
            assert await backend.applied("anne", "call_next") == 1
            await same_day(pilot, backend)
            report("server frozen, then killed with `n` unanswered, restarted", shown, 0, 0,
                   "the call re-sent with its key after the restart: applied once")

    asyncio.run(go())
