"""Offline: actions kept while the backend is down, across a killed console, replayed once."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .helpers import ServerProcess as Server

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

CONSOLE = """
import asyncio, sys, time
from datetime import datetime, timezone
from console.client import SkrankeClient
from console.outbox import Outbox, perform, RefusedOffline

url, token, outbox_path, v1, v2, v3 = sys.argv[1:7]

async def offline():
    outbox = Outbox(outbox_path)
    async with SkrankeClient(url, token, "test", retry_seconds=1) as c:
        assert await perform(c, outbox, "finish", "finish", "POST",
                             f"/visits/{v1}/finish", {"outcome": "served"}) is None
        assert await perform(c, outbox, "no_show", "no-show", "POST",
                             f"/visits/{v2}/no-show") is None
        assert await perform(c, outbox, "document", "document", "PUT",
                             f"/visits/{v3}/documents/photo_id", {"status": "present"}) is None
        try:
            await perform(c, outbox, "call_next", "call next", "POST",
                          "/sites/test/counters/1/call-next")
        except RefusedOffline:
            print("refused", flush=True)
    print(len(outbox.pending()), "queued", flush=True)

async def replay():
    outbox = Outbox(outbox_path)
    async with SkrankeClient(url, token, "test") as c:
        print(*await outbox.replay(c), flush=True)
    for a in outbox.rejected():
        print("rejected", a.label, a.code, flush=True)

if sys.argv[7] == "offline":
    asyncio.run(offline())
    time.sleep(60)  # the test kills us here
else:
    asyncio.run(replay())
"""


def test_finish_and_no_show_survive_a_killed_console_and_apply_once(tmp_path):
    srv = Server(tmp_path)
    srv.migrate()
    sup = srv.token("supervisor", "sven")
    cw = srv.token("caseworker", "anne")
    srv.start()
    try:
        hs, hc = ({"Authorization": f"Bearer {t}"} for t in (sup, cw))
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            v1 = c.post("/sites/test/walk-ins", headers=hs,
                        json={"errand": "mitid", "name": "Served"}).json()["id"]
            c.post("/sites/test/counters/1/open", headers=hc)
            c.post(f"/visits/{v1}/call", headers=hc, json={"counter": 1})
            c.post(f"/visits/{v1}/start", headers=hc)
            start = (datetime.now().astimezone() + timedelta(minutes=30)).replace(
                second=0, microsecond=0)
            start -= timedelta(minutes=start.minute % 5)
            v2 = c.post("/sites/test/bookings", headers=hs,
                        json={"errand": "mitid", "name": "Absent",
                              "start": start.isoformat()}).json()["id"]
            v3 = c.post("/sites/test/walk-ins", headers=hs,
                        json={"errand": "mitid", "name": "Leaves"}).json()["id"]
        srv.stop()  # the backend goes away

        outbox = tmp_path / "outbox.db"
        args = [sys.executable, "-c", CONSOLE, srv.url, sup, str(outbox), str(v1), str(v2),
                str(v3)]
        before = datetime.now(UTC)
        console = subprocess.Popen([*args, "offline"], stdout=subprocess.PIPE, text=True)
        assert console.stdout.readline().strip() == "refused"  # call next cannot wait
        assert console.stdout.readline().strip() == "3 queued"
        queued_by = datetime.now(UTC)
        console.send_signal(signal.SIGKILL)  # the console dies with the actions queued
        console.wait(timeout=10)

        srv.start()
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            c.post(f"/visits/{v3}/walk-out", headers=hs)  # meanwhile v3 left
        out = subprocess.run([*args, "replay"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0] == "2 1"  # two applied, one rejected
        assert lines[1] == "rejected document illegal_transition"
        again = subprocess.run([*args, "replay"], capture_output=True, text=True, timeout=60)
        assert again.stdout.splitlines()[0] == "0 0"  # nothing applied twice
        assert "rejected document" in again.stdout  # and the rejection stays visible
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            s1 = c.get(f"/visits/{v1}", headers=hs).json()
            s2 = c.get(f"/visits/{v2}", headers=hs).json()
        assert s1["state"] == "done" and s2["state"] == "no_show"
    finally:
        srv.stop()
    import sqlite3

    with sqlite3.connect(srv.db) as con:
        rows = con.execute("SELECT visit_id, action, occurred_at FROM audit WHERE action IN "
                           "('finish', 'no_show')").fetchall()
    assert sorted((r[0], r[1]) for r in rows) == sorted([(v1, "finish"), (v2, "no_show")])
    for _, _, occurred in rows:  # the user's time, not the replay's
        when = datetime.fromisoformat(occurred).replace(tzinfo=UTC)
        assert before <= when <= queued_by


def test_the_outbox_keeps_no_file_open_between_uses(tmp_path):
    """The console asks its outbox every 15 s (pending and rejected): each use closes its
    connection. (Left to the garbage collector, the outbox's file and WAL stayed open in
    between: the soak's console held 37 files once the day was quiet, 10-17 during it.)"""
    import gc
    import os

    from console.outbox import Outbox

    def files() -> int:
        return len(os.listdir("/proc/self/fd"))

    outbox = Outbox(tmp_path / "outbox.db")
    outbox.add("finish", "finish", "POST", "/visits/1/finish", {"outcome": "served"},
               "k-1", datetime.now(UTC))
    gc.collect()
    gc.disable()  # a quiet console: the collector seldom runs
    try:
        before = files()
        for _ in range(20):  # five minutes of replays
            assert [a.key for a in outbox.pending()] == ["k-1"]
            assert outbox.rejected() == []
        assert files() == before
    finally:
        gc.enable()
