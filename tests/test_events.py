"""The event stream against a real server: order, resume, refetch, heartbeats, no PII."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import httpx
import pytest
from httpx_sse import connect_sse

from backend.services.tick import tick

from .helpers import LiveServer, make_ctx, settle, token
from .test_api_visits import arrived


def listen(url: str, secret: str, *, after: int | None = None, count: int | None = None,
           until=None, timeout: float = 10) -> list:
    headers = {"Authorization": f"Bearer {secret}"}
    if after is not None:
        headers["Last-Event-ID"] = str(after)
    got = []
    with httpx.Client(timeout=timeout) as c, connect_sse(c, "GET", url, headers=headers) as es:
        assert es.response.status_code == 200
        for sse in es.iter_sse():
            got.append(sse)
            if (count is not None and len(got) >= count) or (until and until(got)) \
                    or sse.event == "refetch":
                break
    return got


def walk_in_from_another_process(ctx, name: str) -> None:
    """A walk-in registered through a second connection pool, as another server process on
    the same database would: its events reach this process's listeners from the log."""
    from backend.services import visits
    from backend.services.context import SYSTEM, Tx
    from backend.storage.db import Database

    other = Database(ctx.settings.database_url)
    try:
        with other.write() as s:
            visits.register_walkin(Tx(replace(ctx, db=other, listeners=[]), s, SYSTEM),
                                   "test", "mitid", name, None, None, None, 0)
    finally:
        other.dispose()


def listening(server, rec, ctx, visits: int, timeout: float
              ) -> tuple[int, list, threading.Thread]:
    """The site settled, its event sequence now, and a display's stream read from there in
    a thread until `visits` visit events came or `timeout` passed: (the sequence, what the
    stream gave, the thread). A daemon thread: a stream that never ends must not hang the
    test run."""
    settle(ctx)
    seq = rec.get("/sites/test/day").json()["seq"]
    received: list = []
    t = threading.Thread(target=lambda: received.extend(listen(
        f"{server.url}/sites/test/events", token(ctx, "display", "screen"), after=seq,
        until=lambda got: sum(e.event.startswith("visit.") for e in got) >= visits,
        timeout=timeout)), daemon=True)
    t.start()
    return seq, received, t


def test_listener_sees_every_change_in_order(rec, cw, server, ctx):
    settle(ctx)
    seq = rec.get("/sites/test/day").json()["seq"]
    secret = token(ctx, "display", "screen")
    received: list = []

    def until_planned(got: list) -> bool:  # the 12 changes, then the plan covering them
        changes = [int(e.id) for e in got if e.event.startswith("visit.")]
        return len(changes) >= 12 and any(
            e.event == "queue.plan" and json.loads(e.data)["as_of"] >= changes[11]
            for e in got)

    t = threading.Thread(target=lambda: received.extend(
        listen(f"{server.url}/sites/test/events", secret, after=seq, until=until_planned)))
    t.start()
    time.sleep(0.3)
    started = time.monotonic()
    for i in range(4):
        arrived(rec, name=f"N{i}")  # booking + check-in: two events each
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    cw.post(f"/visits/{vid}/start")
    cw.post(f"/visits/{vid}/finish", json={"outcome": "served"})
    cw.post("/sites/test/counters/1/call-next")
    t.join(timeout=15)
    assert time.monotonic() - started < 10
    # every event, in order, without a gap; the changes in the order they were made
    assert [int(e.id) for e in received] == list(range(seq + 1, seq + 1 + len(received)))
    changes = [e for e in received if e.event.startswith("visit.")]
    kinds = [e.event for e in changes]
    assert kinds[:2] == ["visit.book", "visit.check_in"]
    assert kinds[8:] == ["visit.call_next", "visit.start", "visit.finish", "visit.call_next"]
    data = [json.loads(e.data) for e in received]
    called = next(d["visit"] for d in data if d.get("visit", {}).get("state") == "called")
    assert called["counter"] == 1 and called["ticket"].startswith("B")
    assert all("citizen" not in d.get("visit", {}) and "name" not in json.dumps(d)
               for d in data)
    # the queue order comes in plan events, each saying which change it reflects
    plans = [d for e, d in zip(received, data, strict=True) if e.event == "queue.plan"]
    assert plans and all(isinstance(i, int) for p in plans for i in p["queue"])
    assert [p["as_of"] for p in plans] == sorted(p["as_of"] for p in plans)
    last_state = {d["visit"]["id"]: d["visit"]["state"] for d in data if "visit" in d}
    assert set(plans[-1]["queue"]) == {v for v, st in last_state.items() if st == "waiting"}


def test_resume_after_dropped_connection_without_gap_or_duplicate(rec, server, ctx):
    secret = token(ctx, "reception", "r2")
    seq0 = rec.get("/sites/test/day").json()["seq"]
    for i in range(5):
        rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": f"W{i}"})
    first = listen(f"{server.url}/sites/test/events", secret, after=seq0, count=3)
    last = int(first[-1].id)
    for i in range(5, 8):
        rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": f"W{i}"})
    rest = listen(f"{server.url}/sites/test/events", secret, after=last, count=5)
    ids = [int(e.id) for e in first + rest]
    assert ids == list(range(seq0 + 1, seq0 + 9))


def test_too_far_behind_is_told_to_refetch(rec, server, ctx):
    secret = token(ctx, "reception", "r3")
    for i in range(3):
        rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": f"W{i}"})
    ctx.clock.advance(hours=49)  # past the log's retention
    tick(ctx)
    got = listen(f"{server.url}/sites/test/events", secret, after=0, count=1)
    assert got[0].event == "refetch" and json.loads(got[0].data)["reason"] == "too_old"
    got = listen(f"{server.url}/sites/test/events", secret, after=10_000, count=1)
    assert got[0].event == "refetch" and json.loads(got[0].data)["reason"] == "ahead_of_log"


def test_heartbeats_keep_idle_streams_alive(tmp_path):
    ctx = make_ctx(tmp_path)
    ctx.settings = ctx.settings.model_copy(update={"sse_heartbeat_seconds": 0.2})
    secret = token(ctx, "display")
    with LiveServer(ctx) as live, httpx.Client(timeout=5) as c:
        with c.stream("GET", f"{live.url}/sites/test/events",
                      headers={"Authorization": f"Bearer {secret}"}) as r:
            lines = []
            for line in r.iter_lines():
                lines.append(line)
                if sum(1 for x in lines if x.startswith(":")) >= 2:
                    break
    assert sum(1 for x in lines if x.startswith(":")) >= 2
    ctx.db.dispose()


def test_bad_last_event_id_and_roles(server, ctx, client):
    secret = token(ctx, "display")
    r = client.get("/sites/test/events", headers={"Authorization": f"Bearer {secret}",
                                                  "Last-Event-ID": "yesterday"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_last_event_id"
    r = client.get("/sites/test/events",
                   headers={"Authorization": f"Bearer {token(ctx, 'booking')}"})
    assert r.status_code == 403


def test_event_sequence_has_no_holes_and_matches_snapshot(rec, cw, ctx):
    from sqlalchemy import select

    from backend.storage.models import EventRow

    arrived(rec)
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    cw.post(f"/visits/{vid}/start")
    settle(ctx)
    day = rec.get("/sites/test/day").json()
    with ctx.db.read() as s:
        seqs = s.scalars(select(EventRow.seq).order_by(EventRow.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == day["seq"]


def test_live_events_are_those_the_table_gives_and_other_processes_reach_them(rec, server,
                                                                              ctx):
    """A change committed here goes to the live listeners without being read back; one
    committed by another process on the same database comes from the table. Either way a
    listener resuming later from the table reads the very same events."""
    settle(ctx)
    secret = token(ctx, "display", "screen")
    seq0 = rec.get("/sites/test/day").json()["seq"]
    live: list = []
    listener = threading.Thread(target=lambda: live.extend(listen(
        f"{server.url}/sites/test/events", secret, after=seq0,
        until=lambda got: sum(g.event != "queue.plan" for g in got) >= 3)))
    listener.start()
    time.sleep(0.3)
    rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "Here One"})
    rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "Here Two"})
    walk_in_from_another_process(ctx, "Other")
    listener.join(timeout=15)
    assert not listener.is_alive()
    tickets = [json.loads(e.data)["visit"]["ticket"] for e in live if e.event != "queue.plan"]
    assert tickets[:3] == ["C001", "C002", "C003"]
    again = listen(f"{server.url}/sites/test/events", secret, after=seq0, count=len(live))
    assert [(e.id, e.event, e.data) for e in again] == [(e.id, e.event, e.data) for e in live]


def test_a_feed_whose_reads_fail_for_a_moment_goes_on(rec, server, ctx, monkeypatch, caplog):
    """The site's feed reads the log when it starts, and when woken for another process's
    commit. A read that failed (a busy or unreachable database) ended it, and its listeners
    heard nothing more while their streams stayed open, heartbeats and all. Now it tries
    again: here its first two reads fail while two walk-ins come (a listener that came
    before the feed started reads them from the log), then two reads of another process's
    change."""
    from sqlalchemy.exc import OperationalError

    from backend.services.events import EventHub

    def gone(*_):
        raise OperationalError("SELECT …", {}, Exception("the database went away"))

    real_seq, real_fetch = EventHub.current_seq, EventHub.fetch
    failing = {"seq": 2, "fetch": 0}

    def current_seq(self, site_id):
        if failing["seq"] > 0:
            failing["seq"] -= 1
            gone()
        return real_seq(self, site_id)

    def fetch(self, site_id, after, limit):
        if failing["fetch"] > 0 and limit == 1000 and after == self.feeds[site_id].last_seq:
            failing["fetch"] -= 1  # the feed's own read, not the stream's backlog
            gone()
        return real_fetch(self, site_id, after, limit)

    monkeypatch.setattr(EventHub, "current_seq", current_seq)
    monkeypatch.setattr(EventHub, "fetch", fetch)
    # without the fix the stream never ends: heartbeats keep it open
    seq, received, t = listening(server, rec, ctx, visits=3, timeout=8)
    time.sleep(0.3)
    rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "Here One"})
    rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "Here Two"})
    time.sleep(1.5)  # the feed has started (its third read): the two are sent from the log
    failing["fetch"] = 2
    walk_in_from_another_process(ctx, "Other")  # read from the log
    t.join(timeout=15)
    tickets = [json.loads(e.data)["visit"]["ticket"] for e in received
               if e.event.startswith("visit.")]
    assert tickets == ["C001", "C002", "C003"], received
    assert [int(e.id) for e in received] == list(range(seq + 1, seq + 1 + len(received)))
    assert failing == {"seq": 0, "fetch": 0}  # every failure happened
    said = [r.getMessage() for r in caplog.records if "event feed" in r.getMessage()]
    assert any("cannot read the log" in m for m in said) and said[-1].endswith("again"), said


@pytest.mark.pg_only
def test_a_process_does_not_read_the_log_for_its_own_commits(rec, server, ctx, monkeypatch):
    """On PostgreSQL every commit that wrote events is told to every process's listener,
    this one's too, which read the log for each. This process's own commits are handed to
    its feed directly, so the notes about them (they name their writer) are passed over;
    another process's commit is read from the log as before."""
    from backend.services.events import EventHub

    real_fetch, reads = EventHub.fetch, []

    def fetch(self, site_id, after, limit):
        if limit == 1000 and after == self.feeds[site_id].last_seq:
            reads.append(after)  # the feed's own read, not a stream's backlog
        return real_fetch(self, site_id, after, limit)

    monkeypatch.setattr(EventHub, "fetch", fetch)
    hub = next(h for h in ctx.listeners if isinstance(h, EventHub))
    hub.poll_seconds = 60  # no reads of the log but those the notes cause
    seq, received, t = listening(server, rec, ctx, visits=6, timeout=15)
    time.sleep(1.0)  # the feed has started and read the log once
    before = len(reads)
    for i in range(5):
        rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": f"Here {i}"})
    time.sleep(1.0)  # the notes about them have come (and the plans' notes)
    own = len(reads) - before
    walk_in_from_another_process(ctx, "Other")
    t.join(timeout=20)
    tickets = [json.loads(e.data)["visit"]["ticket"] for e in received
               if e.event.startswith("visit.")]
    assert tickets == [f"C00{i}" for i in range(1, 7)], received
    assert [int(e.id) for e in received] == list(range(seq + 1, seq + 1 + len(received)))
    assert own == 0, f"{own} reads of the log for this process's own commits"
    assert len(reads) > before + own  # the other process's commit was read


def test_a_commit_while_the_feed_starts_is_not_lost(rec, server, ctx, monkeypatch):
    """A site's feed starts by reading the log's last sequence number. A commit handed over
    while that read is under way (the read saw the log before it) was dropped, and its
    listeners heard of it only at the next poll of the log or the next change; now the
    feed reads the log again as soon as it has started."""
    from backend.services.events import EventHub

    real_seq = EventHub.current_seq
    read: dict = {}

    def current_seq(self, site_id):
        seq = real_seq(self, site_id)
        read["at"] = seq  # the log as it was, then a walk-in commits before the read ends
        time.sleep(0.8)
        return seq

    monkeypatch.setattr(EventHub, "current_seq", current_seq)
    hub = next(h for h in ctx.listeners if isinstance(h, EventHub))
    hub.poll_seconds = 60  # no poll of the log to find it
    seq, received, t = listening(server, rec, ctx, visits=1, timeout=6)
    deadline = time.monotonic() + 5
    while "at" not in read and time.monotonic() < deadline:
        time.sleep(0.01)
    rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "Early"})
    t.join(timeout=10)
    assert read["at"] == seq
    assert [json.loads(e.data)["visit"]["ticket"] for e in received
            if e.event.startswith("visit.")] == ["C001"], received
