"""The SQLite file held exclusively for 20 s (a backup, an anti-virus scan) under a real
`skranke-server`, with counters and reception writing and consoles reading (issue 26).

Another connection takes `BEGIN EXCLUSIVE` on the server's database for `--hold` seconds
while four counters run their cycle (call next, start, finish) and reception registers
walk-ins, each action with one Idempotency-Key, sent again with that key after
`Retry-After` whenever it is answered 503, until it gets a definite answer; meanwhile
probes ask `/health/live` and the day (`GET /sites/bench/day`) about 10 times a second
each, and one event stream listens. It prints, for the time the file was held:

- `/health/live` and the day read: count, median, p99, max (issue 26: p99 <= 50 ms and
  <= 200 ms);
- every write attempt's answer time (issue 26: each within `write_lock_timeout` + 1 s) and
  how many were 503 `database_busy`;
- the event stream's longest silence (heartbeats every 5 s);
- from the audit table afterwards: every acknowledged action applied exactly once, the
  503-answered ones (applied after their retry) counted apart, and nothing applied that
  was not acknowledged;

and a last line `MET` or `NOT MET` with what failed. Exit status 1 when not met.

    .venv/bin/python bench/db_lock.py                 # 20 s held, write_lock_timeout 5 s
    .venv/bin/python bench/db_lock.py --hold 8 --lock-timeout 2

Loopback only; SQLite only (the lock is SQLite's file lock).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import prepare, write_config  # noqa: E402

COUNTERS = 4
#: each endpoint's action in the audit log
AUDITED = {"call-next": "call_next", "start": "start", "finish": "finish",
           "walk-in": "register_walkin"}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


class Run:
    def __init__(self) -> None:
        self.lock_start = self.lock_end = float("inf")
        self.stop_writing = asyncio.Event()
        self.stop_all = asyncio.Event()
        self.probes: dict[str, list[tuple[float, float, int]]] = collections.defaultdict(list)
        #: every write attempt: (sent at, seconds to its answer, status, kind)
        self.attempts: list[tuple[float, float, int | str, str]] = []
        #: every action answered 2xx: (person, kind, visit id, attempts it took)
        self.done: list[tuple[str, str, int, int]] = []
        self.refused: list[tuple[str, str, int, str]] = []
        #: the walk-ins waiting at the start: (person, kind, visit id, attempts)
        self.setup: list[tuple[str, str, int, int]] = []
        self.stream_bytes: list[float] = []

    def during(self, t: float) -> bool:
        return self.lock_start <= t <= self.lock_end


async def probe(run: Run, url: str, path: str, headers: dict, every: float) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as c:
        while not run.stop_all.is_set():
            t0 = time.monotonic()
            try:
                status = (await c.get(path)).status_code
            except httpx.HTTPError:
                status = 0
            run.probes[path].append((t0, time.monotonic() - t0, status))
            await asyncio.sleep(max(0.0, every - (time.monotonic() - t0)))


async def stream(run: Run, url: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, connect=5)) as c:
        with contextlib.suppress(httpx.HTTPError, asyncio.CancelledError):
            async with c.stream("GET", "/sites/bench/events",
                                headers={"Authorization": f"Bearer {token}"}) as r:
                async for _ in r.aiter_raw():
                    run.stream_bytes.append(time.monotonic())
                    if run.stop_all.is_set():
                        return


async def action(run: Run, c: httpx.AsyncClient, person: str, kind: str, method: str,
                 path: str, body: dict | None, key: str) -> dict | None:
    """One action to its definite answer: sent again with its key after each 503."""
    tries = 0
    while True:
        tries += 1
        t0 = time.monotonic()
        try:
            r = await c.request(method, path, json=body, headers={"Idempotency-Key": key})
            status: int | str = r.status_code
        except httpx.HTTPError as exc:  # not expected on loopback: counted, sent again
            r, status = None, type(exc).__name__
        run.attempts.append((t0, time.monotonic() - t0, status, kind))
        if r is not None and r.status_code < 300:
            out = r.json()
            visit = out.get("visit", out) if kind == "call-next" else out
            if visit:
                run.done.append((person, kind, visit["id"], tries))
            return visit
        if r is not None and r.status_code < 500:
            run.refused.append((person, kind, tries, r.text[:120]))
            return None
        wait = float(r.headers.get("Retry-After", 1)) if r is not None else 1.0
        await asyncio.sleep(wait)


async def counter(run: Run, url: str, token: str, n: int) -> None:
    person = f"cw{n}"
    async with httpx.AsyncClient(base_url=url, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        i = 0
        while not run.stop_writing.is_set():
            i += 1
            key = f"lock-{n}-{i}"
            called = await action(run, c, person, "call-next", "POST",
                                  f"/sites/bench/counters/{n}/call-next", None, key + "-n")
            if called is None:
                await asyncio.sleep(0.5)
                continue
            vid = called["id"]
            await action(run, c, person, "start", "POST", f"/visits/{vid}/start", None,
                         key + "-s")
            await asyncio.sleep(0.3)  # the citizen is served
            await action(run, c, person, "finish", "POST", f"/visits/{vid}/finish",
                         {"outcome": "served"}, key + "-f")


async def reception(run: Run, url: str, token: str, every: float) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        i = 0
        while not run.stop_writing.is_set():
            i += 1
            await action(run, c, "rec", "walk-in", "POST", "/sites/bench/walk-ins",
                         {"errand": "health_card", "name": f"Lås {i}"}, f"lock-w-{i}")
            await asyncio.sleep(every)


def hold(db: Path, seconds: float, run: Run) -> None:
    """The other program: the database file held exclusively for `seconds`."""
    con = sqlite3.connect(db, timeout=30, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    run.lock_start = time.monotonic()
    time.sleep(seconds)
    con.execute("ROLLBACK")
    run.lock_end = time.monotonic()
    con.close()


async def main_async(args) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="skranke-lock-"))
    cfg = write_config(folder)
    cfg.write_text(f"write_lock_timeout = {args.lock_timeout}\n" + cfg.read_text())
    tok = prepare(cfg)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - read at the end
    server = subprocess.Popen([sys.executable, "-m", "backend.cli", "--config", str(cfg),
                               "serve", "--port", str(port)], stdout=log, stderr=log)
    for _ in range(300):
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                break
        await asyncio.sleep(0.1)
    run = Run()
    try:
        rec = {"Authorization": f"Bearer {tok['reception']}"}
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            for n in range(1, COUNTERS + 1):
                r = await c.post(f"/sites/bench/counters/{n}/open", headers={
                    "Authorization": f"Bearer {tok['workers'][n - 1]}",
                    "Idempotency-Key": f"open-{n}"})
                r.raise_for_status()
            for i in range(args.waiting):
                r = await c.post("/sites/bench/walk-ins", headers=rec,
                                 json={"errand": "health_card", "name": f"Venter {i}"})
                r.raise_for_status()
                run.setup.append(("rec", "walk-in", r.json()["id"], 1))
        cw = {"Authorization": f"Bearer {tok['workers'][-1]}"}
        tasks = [asyncio.create_task(probe(run, url, "/health/live", {}, 0.1)),
                 asyncio.create_task(probe(run, url, "/sites/bench/day", cw, 0.1)),
                 asyncio.create_task(stream(run, url, tok["workers"][-1]))]
        tasks += [asyncio.create_task(counter(run, url, tok["workers"][n - 1], n))
                  for n in range(1, COUNTERS + 1)]
        tasks.append(asyncio.create_task(reception(run, url, tok["reception"], 1.0)))
        await asyncio.sleep(args.before)
        holder = threading.Thread(target=hold, args=(folder / "bench.db", args.hold, run))
        holder.start()
        await asyncio.to_thread(holder.join)
        await asyncio.sleep(args.after)
        run.stop_writing.set()  # each writer ends its action with its definite answer
        await asyncio.wait_for(asyncio.gather(*tasks[3:]), 120)
        run.stop_all.set()
        await asyncio.sleep(0.3)
        for t in tasks[:3]:
            t.cancel()
        await asyncio.gather(*tasks[:3], return_exceptions=True)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except Exception:  # noqa: BLE001
            server.kill()
    with sqlite3.connect(folder / "bench.db") as con:
        audited = collections.Counter(con.execute(
            "SELECT actor, action, visit_id FROM audit WHERE actor IN "
            "('cw1', 'cw2', 'cw3', 'cw4', 'rec') AND visit_id IS NOT NULL "
            "AND action IN ('call_next', 'start', 'finish', 'register_walkin')").fetchall())
    log.close()
    lines = collections.Counter(
        line.split(" ", 2)[-1][:120] for line in
        (folder / "server.log").read_text(errors="replace").splitlines()
        if "ERROR" in line or "WARNING" in line)
    print("the server's log, its error and warning lines by count:",
          dict(lines.most_common(8)))
    shutil.rmtree(folder, ignore_errors=True)
    return report(run, args, audited)


def report(run: Run, args, audited: collections.Counter) -> bool:
    problems = []
    print(f"SQLite file held exclusively for {run.lock_end - run.lock_start:.1f} s; "
          f"write_lock_timeout {args.lock_timeout:g} s")
    for path, limit in (("/health/live", 0.050), ("/sites/bench/day", 0.200)):
        during = [d for t, d, s in run.probes[path] if run.during(t)]
        outside = [d for t, d, s in run.probes[path] if not run.during(t)]
        bad = [s for t, d, s in run.probes[path] if s != 200]
        p99 = pct(during, 0.99)
        print(f"{path} during the lock: {len(during)} answers, median "
              f"{statistics.median(during) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max "
              f"{max(during) * 1000:.1f} ms (target p99 <= {limit * 1000:.0f} ms); "
              f"before and after it: median {statistics.median(outside) * 1000:.1f} ms, "
              f"p99 {pct(outside, 0.99) * 1000:.1f} ms; not 200 in the whole run: {len(bad)}")
        if not during or p99 > limit or bad:
            problems.append(f"{path} p99 {p99 * 1000:.0f} ms, {len(bad)} not 200")
    gaps = [b - a for a, b in zip(run.stream_bytes, run.stream_bytes[1:], strict=False)
            if run.during(b)]
    print(f"event stream: longest silence during the lock {max(gaps, default=0):.1f} s "
          "(heartbeat every 5 s)")
    locked = [a for a in run.attempts if run.during(a[0])]
    busy = [a for a in run.attempts if a[2] == 503]
    slowest = max((a[1] for a in run.attempts), default=0.0)
    limit = args.lock_timeout + 1
    by_status = collections.Counter(str(a[2]) for a in run.attempts)
    print(f"write attempts: {len(run.attempts)} in all, {len(locked)} sent during the lock; "
          f"answers {dict(by_status)}; 503 answered after median "
          f"{statistics.median([a[1] for a in busy]) if busy else float('nan'):.2f} s, "
          f"slowest answer of any attempt {slowest:.2f} s (target <= {limit:g} s)")
    for a in sorted(run.attempts):
        if run.during(a[0]) or run.during(a[0] + a[1]) or a[1] > limit:
            print(f"  attempt sent at {a[0] - run.lock_start:+6.2f} s of the lock, answered "
                  f"{a[2]} after {a[1]:.2f} s: {a[3]}")
    if not busy:
        problems.append("no write was answered 503: the lock did not bite")
    if slowest > limit:
        problems.append(f"a write answered after {slowest:.2f} s")
    if any(not isinstance(a[2], int) for a in run.attempts):
        problems.append("a write attempt got no answer")
    expected = collections.Counter((p, AUDITED[k], v) for p, k, v, _ in run.done + run.setup)
    retried = [d for d in run.done if d[3] > 1]
    twice = {k: n for k, n in audited.items() if n > 1}
    missing = expected - audited
    extra = audited - expected
    kinds = dict(collections.Counter(k for _, k, _, _ in run.done))
    tries = dict(sorted(collections.Counter(d[3] for d in retried).items()))
    print(f"actions answered 2xx: {len(run.done)} ({kinds}); "
          f"{len(retried)} of them answered 503 first and applied after their retry "
          f"(attempts each: {tries}); "
          f"refused 4xx: {len(run.refused)} {run.refused[:3]}")
    print(f"audit log: applied twice {len(twice)}, acknowledged but not applied "
          f"{sum(missing.values())}, applied but not acknowledged {sum(extra.values())}")
    if twice or missing or extra:
        problems.append(f"not exactly once: twice {twice}, missing {dict(missing)}, "
                        f"extra {dict(extra)}")
    if not retried:
        problems.append("no 503-answered write was retried to its answer")
    print("MET" if not problems else "NOT MET: " + "; ".join(problems))
    return not problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hold", type=float, default=20, help="seconds the file is held")
    p.add_argument("--lock-timeout", type=float, default=5, help="the server's "
                   "write_lock_timeout (default: its default, 5 s)")
    p.add_argument("--before", type=float, default=3, help="seconds of load before the lock")
    p.add_argument("--after", type=float, default=5, help="seconds of load after it")
    p.add_argument("--waiting", type=int, default=60, help="walk-ins waiting at the start")
    args = p.parse_args()
    return 0 if asyncio.run(main_async(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
