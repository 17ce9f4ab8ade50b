"""A full disk at the counter (issue 26): a real console presses `s` while the server's
database cannot grow (SQLITE_FULL, forced with `PRAGMA max_page_count` on the server's
write connections, in process). The bar and the row show the action waiting with the
server's reason in the console's language, never failed; once space is back it is applied
exactly once and the screen equals the backend's day; the server logs one line for the
whole incident."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import event

from backend.storage import dialect

from ..console_ui import console, counter_screen, seed_day
from ..helpers import token
from .desk import SIZE, Backend, bar, open_and_call, ready, report, rows, same_day, told, wait

pytestmark = pytest.mark.sqlite_only(reason="SQLite's max_page_count makes the disk full")

SHOWN = {"da": ("Ankommet sendt — venter på svar (serveren siger: serverens disk er fuld)",
                "Ankommet:"),
         "en": ("Arrived sent — waiting for the answer (the server says: the server's disk "
                "is full)", "Arrived:")}


def _fill(ctx, rec, cap: dict) -> int:
    """Cap the database at its size now and register walk-ins until even a small one is
    refused: the disk is full. The refusals it took."""
    with ctx.db.read() as s:
        cap["pages"] = s.connection().exec_driver_sql("PRAGMA page_count").scalar()
    ctx.db.write_engine.dispose()  # the next connections are capped
    refused = 0
    for i in range(400):
        name = ("Fylder Disken " + "x" * 150) if refused == 0 else "F"
        r = rec.post("/sites/test/walk-ins", {"errand": "health_card", "name": f"{name}{i}"})
        if r.status_code == 201:
            continue
        assert r.status_code == 503 and r.json()["code"] == "disk_full", r.text
        refused += 1
        if refused == 3:
            return refused
    raise AssertionError("the capped database never filled")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_arrived_on_a_full_disk_is_shown_waiting_and_applied_once_when_space_is_back(
        ctx, server, rec, tmp_path, caplog, lang):
    seed_day(rec)
    backend = Backend(server, token(ctx, "supervisor", "sven"))
    cap: dict[str, int | None] = {"pages": None}

    @event.listens_for(ctx.db.write_engine, "connect")
    def _cap(dbapi_conn, _record):
        if cap["pages"] is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count={cap['pages']}")

    app = console(server, ctx, tmp_path, person="anne", counter=1, lang=lang)
    waiting, failed = SHOWN[lang]

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            vid = screen.mine.id
            # one incident from here: the log line of an earlier test's is not this one's
            dialect._full_logged[0] = float("-inf")
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="skranke.storage"):
                await asyncio.to_thread(_fill, ctx, rec, cap)
                t0 = time.monotonic()
                await pilot.press("s")
                shown = await wait(pilot, lambda: waiting in bar(app), 8,
                                   "the server's reason shown")
                assert rows(app)[vid].startswith("⧗")
                assert "disken er fuld / the server" not in bar(app)  # one language
                while time.monotonic() - t0 < 4:  # the console keeps asking: still waiting
                    assert "⧗" in bar(app) and "Online" in bar(app), bar(app)
                    assert screen.mine.state == "called"
                    assert failed not in told(app)
                    await pilot.pause(0.2)
                cap["pages"] = None
                ctx.db.write_engine.dispose()  # space is back
                freed = time.monotonic()
                await wait(pilot, lambda: screen.mine.state == "serving"
                           and "⧗" not in bar(app), 15, "serving shown")
                after = time.monotonic() - freed
            lines = [r.getMessage() for r in caplog.records if "disk is full" in r.getMessage()]
            assert len(lines) == 1, lines  # one line for the incident, not one per write
            assert not rows(app)[vid].startswith("⧗")
            assert failed not in told(app)
            assert await backend.applied("anne", "start") == 1
            await same_day(pilot, backend)
            report(f"Disk full (SQLITE_FULL, `max_page_count`), `s` pressed (real console, "
                   f"{lang})", shown, 0, 0,
                   f"`⧗ {waiting}`, `⧗` on the row; online throughout; serving shown "
                   f"{after:.1f} s after space was back; applied once; the server's log: "
                   f"one line (`{lines[0]}`)")

    asyncio.run(go())
