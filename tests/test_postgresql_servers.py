"""Two `skranke-server serve` processes on two ports against one PostgreSQL database behave
as one: 50 clients at 20 counters, their requests spread over both, call each of 200
waiting citizens exactly once and no counter ever holds two; a stream served by one
process carries every change made through the other, in order, once, within a second; and
one process killed with SIGKILL meanwhile loses no acknowledged write (each client re-sends
what got no answer, with its Idempotency-Key, to the other process: a console's outbox)."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from backend.services import tokens
from backend.storage.db import Database
from backend.storage.models import AuditRow, CounterRow, Meta, SiteRow, VisitRow

from .helpers import ServerProcess, free_port

pytestmark = [pytest.mark.pg_only, pytest.mark.timeout(300),  # a loaded machine's margin
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]

COUNTERS, CLIENTS, VISITS = 20, 50, 200


def _make_tokens(url: str) -> tuple[dict[int, str], str, str]:
    """A caseworker per counter, reception and a display: written to the database directly."""
    db = Database(url)
    now = datetime.now(UTC)
    try:
        with db.write() as s:
            workers = {n: tokens.create(s, "caseworker", f"cw{n}", now, 1)[0]
                       for n in range(1, COUNTERS + 1)}
            reception = tokens.create(s, "reception", "rita", now, 1)[0]
            display = tokens.create(s, "display", "screen", now, 1)[0]
    finally:
        db.dispose()
    return workers, reception, display


class _Servers:
    """The two processes; a request goes to the one asked for, or to the other when that
    one is down. `post` re-sends an unanswered request with the same key until answered."""

    def __init__(self, a: ServerProcess, b: ServerProcess) -> None:
        self.procs = [a, b]
        self.dead: set[int] = set()
        self.keys = itertools.count()
        self.local = threading.local()  # each client thread's connections to both

    def _client(self, which: int) -> httpx.Client:
        clients = getattr(self.local, "clients", None)
        if clients is None:
            clients = self.local.clients = [httpx.Client(base_url=p.url, timeout=30)
                                            for p in self.procs]
        return clients[which]

    def post(self, which: int, secret: str, path: str, body: dict | None = None
             ) -> tuple[httpx.Response, int]:
        key = f"k{next(self.keys)}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if which in self.dead:
                which = 1 - which
            try:
                r = self._client(which).post(path, json=body, headers={
                    "Authorization": f"Bearer {secret}", "Idempotency-Key": key})
                if r.status_code < 500:
                    return r, which
            except httpx.TransportError:
                pass  # unknown: sent again, with its key
            time.sleep(0.05)
        raise AssertionError(f"no answer to {path}")

    def close(self) -> None:
        for c in getattr(self.local, "clients", ()):
            c.close()


def _all(work, args) -> None:
    threads = [threading.Thread(target=work, args=(x,)) for x in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _listen(url: str, secret: str, after: int, until: threading.Event,
            seen: list[tuple[int, str, dict, float]]) -> None:
    import json

    headers = {"Authorization": f"Bearer {secret}", "Last-Event-ID": str(after)}
    with httpx.Client(timeout=httpx.Timeout(10, read=30)) as c, \
            c.stream("GET", f"{url}/sites/test/events", headers=headers) as r:
        seq, kind = 0, ""
        for line in r.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                seen.append((seq, kind, json.loads(line[6:]), time.monotonic()))
            if until.is_set():
                return


def _beside(a: ServerProcess) -> ServerProcess:
    """A second process with the same database, settings and key file, on another port."""
    b = ServerProcess.__new__(ServerProcess)
    b.__dict__.update(a.__dict__, port=free_port(), proc=None)
    b.url = f"http://127.0.0.1:{b.port}"
    return b


def test_two_servers_first_started_at_once_set_the_database_up_once(tmp_path):
    """Two `serve` processes started in the same instant on a new database (two service
    units started together): one migrates and sets up the sites, the counters and the key
    check while the other waits, then the other finds it done and reads the same key file.
    Both serve; nothing is set up twice."""
    a = ServerProcess(tmp_path)
    b = _beside(a)
    try:
        a.launch()
        b.launch()
        a.ready()
        b.ready()
        for p in (a, b):
            assert httpx.get(f"{p.url}/health", timeout=10).status_code == 200
    finally:
        a.stop()
        b.stop()
    assert a.rows(select(func.count()).select_from(SiteRow)) == [(1,)]
    assert a.rows(select(func.count()).select_from(CounterRow)) == [(4,)]
    assert a.rows(select(Meta.key).where(Meta.key == "key_check")) == [("key_check",)]


def test_two_servers_on_one_postgresql_database_behave_as_one(tmp_path):
    a = ServerProcess(tmp_path)
    a.config.write_text(a.config.read_text().replace("counters = 4", f"counters = {COUNTERS}"))
    b = _beside(a)
    a.cli("migrate")
    workers, reception, display = _make_tokens(a.database_url)
    try:
        a.start()
        b.start()
        _run(a, b, workers, reception, display)
    finally:
        a.stop()
        b.stop()


def _run(a, b, workers, reception, display) -> None:
    servers = _Servers(a, b)
    for n, secret in workers.items():
        r, _ = servers.post(n % 2, secret, f"/sites/test/counters/{n}/open")
        assert r.status_code == 200, r.text

    def walk_ins(k: int) -> None:
        for i in range(k, VISITS, 10):
            r, _ = servers.post(i % 2, reception, "/sites/test/walk-ins",
                                {"errand": "health_card", "name": f"W{i}"})
            assert r.status_code == 201, r.text
        servers.close()

    _all(walk_ins, range(10))
    start_seq = httpx.get(f"{a.url}/sites/test/day", timeout=10,
                          headers={"Authorization": f"Bearer {reception}"}).json()["seq"]
    done, seen = threading.Event(), []
    listener = threading.Thread(target=_listen, args=(a.url, display, start_seq, done, seen))
    listener.start()
    time.sleep(0.3)
    acked: list[tuple[int, str, float]] = []  # (visit id, event type, when) answered by b
    called: list[int] = []
    lock = threading.Lock()
    half = threading.Event()

    def client(i: int) -> None:
        try:
            work(i)
        finally:
            servers.close()

    def work(i: int) -> None:
        n = i % COUNTERS + 1
        secret, turn = workers[n], i
        while True:
            turn += 1
            r, via = servers.post(turn % 2, secret, f"/sites/test/counters/{n}/call-next")
            if r.status_code == 409:  # this counter's other client holds a citizen
                time.sleep(0.02)
                continue
            assert r.status_code == 200, r.text
            visit = r.json()["visit"]
            if visit is None:
                return
            with lock:
                called.append(visit["id"])
                if via == 1:
                    acked.append((visit["id"], "visit.call_next", time.monotonic()))
                if len(called) >= VISITS // 3:
                    half.set()
            for step, body in (("start", None), ("finish", {"outcome": "served"})):
                r, via = servers.post(turn % 2, secret, f"/visits/{visit['id']}/{step}", body)
                assert r.status_code == 200, r.text
                if via == 1:
                    with lock:
                        acked.append((visit["id"], f"visit.{step}", time.monotonic()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    assert half.wait(60)
    b.kill()  # in the middle of the writes: the clients carry on through a
    servers.dead.add(1)
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    # every citizen called once, every one done; no counter ever held two at once
    assert sorted(called) == sorted(set(called)) and len(called) == VISITS
    calls = a.rows(select(AuditRow.visit_id, func.count()).where(
        AuditRow.action == "call_next").group_by(AuditRow.visit_id))
    assert len(calls) == VISITS and all(k == 1 for _, k in calls)
    states = a.rows(select(VisitRow.state, func.count()).group_by(VisitRow.state))
    assert states == [("done", VISITS)]  # every acknowledged write is there

    # the stream of a saw all of it: every change, in order, once, those through b within 1 s
    final = httpx.get(f"{a.url}/sites/test/day", timeout=10,
                      headers={"Authorization": f"Bearer {reception}"}).json()["seq"]
    deadline = time.monotonic() + 10
    while (not seen or seen[-1][0] < final) and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    servers.post(0, reception, "/sites/test/walk-ins", {"errand": "health_card", "name": "x"})
    servers.close()
    listener.join(timeout=30)
    seqs = [s for s, *_ in seen if s <= final]
    assert seqs == list(range(start_seq + 1, final + 1))
    holding: dict[int, int] = {}  # counter -> the visit it holds (called or serving)
    got: dict[tuple[int, str], float] = {}
    for _, kind, data, at in seen:
        v = data.get("visit")
        if v is None:
            continue
        got.setdefault((v["id"], kind), at)
        held = {c: vid for c, vid in holding.items() if vid != v["id"]}
        if v["state"] in ("called", "serving"):
            assert v["counter"] not in held, f"counter {v['counter']} holds two"
            held[v["counter"]] = v["id"]
        holding = held
    late = [(vid, kind, got.get((vid, kind), float("inf")) - when)
            for vid, kind, when in acked if got.get((vid, kind), float("inf")) - when > 1.0]
    assert acked and not late, late[:5]
