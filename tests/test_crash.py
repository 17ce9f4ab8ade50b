"""The server killed with SIGKILL while clients write: nothing acknowledged is lost (the
server process and its `srv` fixture: tests/helpers.py ServerProcess, tests/conftest.py)."""

from __future__ import annotations

import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import select

from backend.storage.models import EventRow, SiteRow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def test_sigkill_loses_no_acknowledged_write(srv):
    secret = srv.token("reception", "rita")
    h = {"Authorization": f"Bearer {secret}"}
    srv.start()
    acked: dict[str, int] = {}  # key -> visit id
    pending: set[str] = set()
    stop = threading.Event()
    lock = threading.Lock()

    def writer(n: int) -> None:
        i = 0
        with httpx.Client(timeout=2) as c:
            while not stop.is_set():
                key = f"w{n}-{i}"
                try:
                    r = c.post(f"{srv.url}/sites/test/walk-ins", headers={**h,
                               "Idempotency-Key": key},
                               json={"errand": "health_card", "name": key})
                    if r.status_code == 201:
                        with lock:
                            acked[key] = r.json()["id"]
                            pending.discard(key)
                        i += 1
                        continue
                except httpx.TransportError:
                    pass
                with lock:
                    pending.add(key)  # unknown outcome: retry with the same key, like an outbox
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for _ in range(5):
        time.sleep(0.8)
        srv.kill()
        time.sleep(0.1)
        srv.start()

        assert srv.intact()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 20
    with httpx.Client(timeout=10) as c:
        for key in sorted(pending):  # retry every unknown outcome with its key
            r = c.post(f"{srv.url}/sites/test/walk-ins", headers={**h, "Idempotency-Key": key},
                       json={"errand": "health_card", "name": key})
            assert r.status_code == 201, r.text
            acked[key] = r.json()["id"]
        day = c.get(f"{srv.url}/sites/test/day", headers=h).json()
    srv.stop()
    names = [v["citizen"]["name"] for v in day["visits"]]
    for key, vid in acked.items():
        assert names.count(key) == 1, key  # there, and exactly once
    assert srv.intact()
    seqs = [r[0] for r in srv.rows(select(EventRow.seq).order_by(EventRow.seq))]
    assert seqs == list(range(1, len(seqs) + 1))
    assert srv.rows(select(SiteRow.event_seq))[0][0] == seqs[-1]


def test_killed_between_commit_and_reply_then_retried_changes_once(srv):
    secret = srv.token("reception", "rita")
    h = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "the-one"}
    body = {"errand": "mitid", "name": "Once Only"}
    srv.start(SKRANKE_FAULT_INJECT="after_commit:/sites/test/walk-ins")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{srv.url}/sites/test/walk-ins", headers=h, json=body, timeout=5)
    srv.proc.wait(timeout=10)
    srv.start()
    r = httpx.post(f"{srv.url}/sites/test/walk-ins", headers=h, json=body, timeout=5)
    assert r.status_code == 201 and r.headers.get("Idempotent-Replayed") == "true"
    day = httpx.get(f"{srv.url}/sites/test/day", headers=h, timeout=5).json()
    assert [v["citizen"]["name"] for v in day["visits"]] == ["Once Only"]


def test_killed_before_commit_leaves_nothing(srv):
    secret = srv.token("reception", "rita")
    h = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "k"}
    body = {"errand": "mitid", "name": "Never"}
    srv.start(SKRANKE_FAULT_INJECT="before_commit:/sites/test/walk-ins")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{srv.url}/sites/test/walk-ins", headers=h, json=body, timeout=5)
    srv.proc.wait(timeout=10)
    srv.start()
    day = httpx.get(f"{srv.url}/sites/test/day", headers=h, timeout=5).json()
    assert day["visits"] == [] and day["seq"] == 0
    r = httpx.post(f"{srv.url}/sites/test/walk-ins", headers=h, json=body, timeout=5)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
