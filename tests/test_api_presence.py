"""The consoles' heartbeats (backend/api/presence.py): each console says it is there and
which of its actions wait for an answer; the supervisor's floor reads them all. In memory,
so it answers while the database is held; never a name or a CPR number."""

from __future__ import annotations

import time

import pytest

from backend.api import presence
from backend.storage.dialect import sqlite_file

from .helpers import hold_sqlite

WAITING = {"kind": "call_next", "label": "Kald næste", "sent_at": "2026-11-24T10:02:00+01:00",
           "visit_id": None, "ticket": None, "reason": "databasen er optaget", "overdue": False}


def _consoles(sup) -> list[dict]:
    r = sup.get("/sites/test/consoles")
    assert r.status_code == 200, r.text
    assert r.json()["complete"] is True  # one process: "not heard" is known
    return r.json()["consoles"]


def test_the_floor_reads_every_counters_waiting_actions_and_silence(as_role, sup):
    anne, bo = as_role("caseworker", "anne"), as_role("caseworker", "bo")
    started = {"kind": "start", "label": "Ankommet", "sent_at": "2026-11-24T10:03:00+01:00",
               "visit_id": 7, "ticket": "A001", "reason": None, "overdue": True}
    assert anne.put("/sites/test/consoles/presence",
                    {"counter": 1, "pending": [WAITING]}).status_code == 204
    assert bo.put("/sites/test/consoles/presence",
                  {"counter": 2, "pending": [started]}).status_code == 204
    seen = {c["counter"]: c for c in _consoles(sup)}
    assert seen[1]["pending"] == [WAITING] and seen[1]["role"] == "caseworker"
    assert seen[2]["pending"] == [started]
    assert seen[1]["silent_seconds"] < 5

    # answered: the next heartbeat says nothing waits; the floor's line goes
    assert anne.put("/sites/test/consoles/presence",
                    {"counter": 1, "pending": []}).status_code == 204
    seen = {c["counter"]: c for c in _consoles(sup)}
    assert seen[1]["pending"] == [] and seen[2]["pending"] == [started]

    # silence grows until the next heartbeat; a console that closes is forgotten
    time.sleep(0.3)
    assert min(c["silent_seconds"] for c in _consoles(sup)) >= 0.3
    assert bo.delete("/sites/test/consoles/presence?counter=2").status_code == 204
    assert [c["counter"] for c in _consoles(sup)] == [1]


def test_only_the_floor_reads_them_and_no_names_go_in(as_role, sup):
    anne = as_role("caseworker", "anne")
    assert anne.get("/sites/test/consoles").status_code == 403
    named = {**WAITING, "name": "Anna Jensen"}
    r = anne.put("/sites/test/consoles/presence", {"counter": 1, "pending": [named]})
    assert r.status_code == 422
    r = anne.put("/sites/test/consoles/presence", {"counter": 1, "cpr": "0101901234"})
    assert r.status_code == 422
    assert _consoles(sup) == []


def test_a_console_forgotten_after_half_an_hour_of_silence_unless_it_had_waiting(
        as_role, sup, monkeypatch):
    anne, bo = as_role("caseworker", "anne"), as_role("caseworker", "bo")
    anne.put("/sites/test/consoles/presence", {"counter": 1, "pending": [WAITING]})
    bo.put("/sites/test/consoles/presence", {"counter": 2, "pending": []})
    monkeypatch.setattr(presence, "FORGET_SECONDS", 0.1)
    time.sleep(0.2)
    # closed without a word: forgotten; the one whose action waited stays, silent
    assert [c["counter"] for c in _consoles(sup)] == [1]


@pytest.mark.sqlite_only(reason="another program holding SQLite's file")
def test_heartbeats_get_through_while_the_database_is_held(ctx, as_role, sup):
    anne = as_role("caseworker", "anne")
    _consoles(sup)  # the supervisor's token read once (cached, as a running floor's is)
    anne.put("/sites/test/consoles/presence", {"counter": 1, "pending": []})
    holder = hold_sqlite(sqlite_file(ctx.settings.database_url))
    try:
        t0 = time.monotonic()
        r = anne.put("/sites/test/consoles/presence", {"counter": 1, "pending": [WAITING]})
        assert r.status_code == 204
        assert _consoles(sup)[0]["pending"] == [WAITING]
        assert time.monotonic() - t0 < 1.0  # not behind the lock (a write waits 5 s)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_with_several_processes_the_floor_never_says_not_heard(as_role, sup, monkeypatch):
    """A worker of `serve --workers N` heard only the consoles that reached it: it says so
    (`complete: false`), and the floor shows their waiting actions but no silence."""
    from backend.cli import WORKER_ENV
    from console import i18n
    from console.presence import floor_lines

    monkeypatch.setenv(WORKER_ENV, "{}")
    monkeypatch.setattr(presence, "STALE_SECONDS", 0.1)
    as_role("caseworker", "anne").put("/sites/test/consoles/presence",
                                      {"counter": 1, "pending": [WAITING]})
    time.sleep(0.2)
    answer = sup.get("/sites/test/consoles").json()
    assert answer["complete"] is False
    was = i18n.current()
    i18n.use("da")
    try:
        lines = floor_lines(answer, lambda n: f"Skranke {n}")
        assert lines == ["Skranke 1: ⧗ Kald næste sendt 10:02 — intet svar endnu"]
        assert floor_lines({**answer, "complete": True}, lambda n: f"Skranke {n}"
                           )[1].startswith("Skranke 1: konsollen ikke hørt i")
    finally:
        i18n.use(was)
