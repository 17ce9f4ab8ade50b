"""The server killed with SIGKILL while clients write: nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .helpers import free_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

CONFIG = """
database_url = "sqlite:///{db}"
tick_seconds = 1

[[sites]]
id = "test"
name = "Borgerservice Test"
counters = 4
public_holidays = false
closed_on_customary_days = false
[sites.hours]
mon = "00:00-23:59"
tue = "00:00-23:59"
wed = "00:00-23:59"
thu = "00:00-23:59"
fri = "00:00-23:59"
sat = "00:00-23:59"
sun = "00:00-23:59"
"""


class Server:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "crash.db"
        self.config = tmp / "crash.toml"
        self.config.write_text(CONFIG.format(db=self.db.as_posix()))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        p = subprocess.run([sys.executable, "-m", "backend.cli", "--config", str(self.config),
                            *args], capture_output=True, text=True, timeout=60, check=True)
        return p.stdout.strip()

    def start(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "--config", str(self.config), "serve",
             "--port", str(self.port), *args], env={**os.environ, **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def srv(tmp_path):
    s = Server(tmp_path)
    s.cli("migrate")
    yield s
    s.stop()


def test_sigkill_loses_no_acknowledged_write(srv):
    secret = srv.cli("token", "create", "--role", "reception", "--person", "rita")
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

        with sqlite3.connect(srv.db) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
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
    with sqlite3.connect(srv.db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        seqs = [r[0] for r in con.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        assert con.execute("SELECT event_seq FROM sites").fetchone()[0] == seqs[-1]


def test_killed_between_commit_and_reply_then_retried_changes_once(srv):
    secret = srv.cli("token", "create", "--role", "reception", "--person", "rita")
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
    secret = srv.cli("token", "create", "--role", "reception", "--person", "rita")
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
