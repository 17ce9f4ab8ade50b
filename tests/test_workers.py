"""`skranke-server serve --workers 2`: two server processes on one PostgreSQL database.
Every citizen is called once, whichever process each counter's request reaches, and a
console's event stream, served by either process, carries every change in order. On SQLite
(one process, one write thread) the command refuses: scale-out means PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

from backend.storage.models import AuditRow, EventRow, SiteRow

from .helpers import ServerProcess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="/proc, flock")

VISITS = 40


def _stream(url: str, secret: str, until: threading.Event, seen: list[int]) -> None:
    headers = {"Authorization": f"Bearer {secret}", "Last-Event-ID": "0"}
    with httpx.Client(timeout=httpx.Timeout(10, read=30)) as c, \
            c.stream("GET", f"{url}/sites/test/events", headers=headers) as r:
        for line in r.iter_lines():
            if line.startswith("id: "):
                seen.append(int(line[4:]))
            if until.is_set():
                return


def _children(pid: int) -> list[int]:
    """The processes `pid` started that serve (uvicorn's workers, not its resource tracker)."""
    out = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read()
        except (OSError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmd:
            out.append(int(name))
    return out


@pytest.mark.sqlite_only("SQLite refuses several processes")
def test_workers_on_sqlite_are_refused_with_a_clear_message(srv: ServerProcess):
    p = subprocess.run([sys.executable, "-m", "backend.cli", "--config", str(srv.config),
                        "serve", "--port", str(srv.port), "--workers", "2"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "scale-out means PostgreSQL" in p.stderr
    with pytest.raises(httpx.TransportError):  # nothing was started
        httpx.get(f"{srv.url}/health", timeout=0.5)


@pytest.mark.pg_only
def test_two_processes_call_each_citizen_once_and_stream_every_change(srv: ServerProcess):
    workers = [srv.token("caseworker", f"cw{n}") for n in range(1, 5)]
    reception = srv.token("reception", "rita")
    display = srv.cli("token", "create", "--role", "display", "--person", "screen",
                      "--bearer")
    srv.start("--workers", "2")
    assert len(_children(srv.proc.pid)) == 2

    def post(secret: str, path: str, body: dict | None = None) -> httpx.Response:
        # a connection of its own each time: the two processes share the listening socket,
        # so the requests of one counter reach both
        return httpx.post(f"{srv.url}{path}", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {secret}"})

    for n, secret in enumerate(workers, start=1):
        assert post(secret, f"/sites/test/counters/{n}/open").status_code == 200
    for i in range(VISITS):
        assert post(reception, "/sites/test/walk-ins",
                    {"errand": "health_card", "name": f"W{i}"}).status_code == 201
    done, seen = threading.Event(), []
    listener = threading.Thread(target=_stream, args=(srv.url, display, done, seen))
    listener.start()
    served: list[int] = []

    def counter(n: int, secret: str) -> None:
        while True:
            r = post(secret, f"/sites/test/counters/{n}/call-next")
            assert r.status_code == 200, r.text
            visit = r.json()["visit"]
            if visit is None:
                return
            served.append(visit["id"])
            assert post(secret, f"/visits/{visit['id']}/start").status_code == 200
            assert post(secret, f"/visits/{visit['id']}/finish",
                        {"outcome": "served"}).status_code == 200

    threads = [threading.Thread(target=counter, args=(n, s))
               for n, s in enumerate(workers, start=1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(served) == sorted(set(served)) and len(served) == VISITS
    last = srv.rows(select(SiteRow.event_seq))[0][0]
    calls = srv.rows(select(AuditRow.visit_id, func.count()).where(
        AuditRow.action == "call_next").group_by(AuditRow.visit_id))
    states = {d["visit"]["state"] for (d,) in srv.rows(
        select(EventRow.data).where(EventRow.type == "visit.finish"))}
    assert len(calls) == VISITS and all(n == 1 for _, n in calls)
    assert states == {"done"}
    deadline = time.monotonic() + 10  # the other process's events come within its poll
    while (not seen or seen[-1] < last) and time.monotonic() < deadline:
        post(reception, "/sites/test/walk-ins", {"errand": "health_card", "name": "late"})
        time.sleep(0.2)
    done.set()
    post(reception, "/sites/test/walk-ins", {"errand": "health_card", "name": "wake"})
    listener.join(timeout=30)
    assert seen[:last] == list(range(1, last + 1))  # every change, in order, once
