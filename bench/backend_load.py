"""The backend under load: a paced mix at a stated offered rate, then saturation.

The server runs in its own process (`skranke-server serve` on loopback, SQLite), the load
generator in this one and 50 SSE listeners in a third. Load and listeners use aiohttp, not
httpx: on this 2-core machine an httpx request cost the client 3.7 ms of CPU against 0.32 ms
for aiohttp (21 clients on /health), so at 200 req/s httpx alone took most of a core from the
server it was measuring. The console itself talks httpx: it sends a request per keystroke.
Printed: the server's CPU per request, p50/p99 per endpoint and the change-to-listener
latency at the offered rate, then the saturation throughput of the same mix (and what it
sent) and, in the same run, the bare /health throughput, so the figures stand as ratios on
a noisy machine. Double calls are counted from the audit log afterwards.

    .venv/bin/python bench/backend_load.py [--rate 200] [--seconds 30]
    .venv/bin/python bench/backend_load.py --database-url throwaway --workers 2  # PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_server import (  # noqa: E402 - after ROOT is on the path
    BENCH_ZONE,
    COUNTERS,
    bench_zone,
    cpu_seconds,
    prepare,
    start_server,
    write_config,
)

__all__ = ["BENCH_ZONE", "bench_zone", "cpu_seconds", "prepare", "start_server",
           "write_config"]  # the benchmarks beside this one use them from here
CYCLE = ("call-next", "start", "document", "finish")
#: The waiting room saturation starts from (the paced phase's arrivals drain it).
SATURATION_WAITING = 100


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def busy_loop() -> None:
    """A neighbour on the shared machine (--busy): takes a core whenever it can."""
    while True:
        pass


# --- SSE listeners, in their own process -------------------------------------------------------
def listeners_main(url: str, secrets: list[str], since: int, seconds: float, out) -> None:
    """50 consoles' streams on one process: every byte of every event is read on every
    connection, but parsed lean (the frame split and the `at` field, not a full JSON and
    SSE parse), so the listeners take less of the machine the server shares with them."""
    lat: list[float] = []
    plan_lat: list[float] = []  # a change to the plan event that covers it
    changed: dict[int, float] = {}
    counts = [0] * len(secrets)
    plan_events = [0]  # queue.plan events at that listener
    at_key = b'"at":"'

    async def one(i: int, secret: str) -> None:
        headers = {"Authorization": f"Bearer {secret}", "Last-Event-ID": str(since)}
        buf = b""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as c, \
                c.get(f"{url}/sites/bench/events", headers=headers) as r:
            async for chunk in r.content.iter_any():
                now = time.time()
                buf += chunk
                *frames, buf = buf.split(b"\n\n")
                for frame in frames:
                    if b"event: refetch" in frame:
                        return
                    k = frame.find(at_key)
                    if k < 0:  # a heartbeat comment
                        continue
                    at = datetime.fromisoformat(
                        frame[k + 6:frame.index(b'"', k + 6)].decode()).timestamp()
                    lat.append((now - at) * 1000)
                    counts[i] += 1
                    if i == 0:  # one listener also times change -> the plan covering it
                        a = frame.find(b'"as_of":')
                        if a < 0:
                            k = frame.index(b"id: ") + 4  # after any heartbeat lines
                            seq = int(frame[k:frame.index(b"\n", k)])
                            changed[seq] = at
                        else:
                            as_of = int(frame[a + 8:frame.index(b",", a)])
                            plan_events[0] += 1
                            for covered in [q for q in changed if q <= as_of]:
                                plan_lat.append((now - changed.pop(covered)) * 1000)

    async def main() -> None:
        tasks = [asyncio.create_task(one(i, s)) for i, s in enumerate(secrets)]
        await asyncio.sleep(seconds)
        for t in tasks:
            t.cancel()
        ended = await asyncio.gather(*tasks, return_exceptions=True)
        for e in ended:
            if isinstance(e, Exception) and not isinstance(e, asyncio.CancelledError):
                errors.append(f"{type(e).__name__}: {e}"[:120])

    errors: list[str] = []
    asyncio.run(main())
    out.put({"latencies": lat, "counts": counts, "plans": plan_lat, "errors": errors,
             "plan_events": plan_events[0]})


# --- the load ----------------------------------------------------------------------------------
def session(url: str) -> aiohttp.ClientSession:
    """Connections without a limit: each counter PC and each kiosk is its own client (a
    shared pool of 64 made counters queue behind walk-ins waiting for their estimate)."""
    return aiohttp.ClientSession(base_url=url, timeout=aiohttp.ClientTimeout(total=30),
                                 connector=aiohttp.TCPConnector(limit=0))


async def send(c: aiohttp.ClientSession, method: str, path: str, secret: str,
               body: dict | None = None) -> tuple[int, bytes]:
    async with c.request(method, path, headers={"Authorization": f"Bearer {secret}"},
                         json=body) as r:
        return r.status, await r.read()


class Load:
    def __init__(self, url: str, secrets: dict) -> None:
        self.url = url
        self.s = secrets
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.refs: list[str] = []
        self.n = 0
        self.nobody = 0  # call nexts that found nobody waiting
        #: Saturation: each finished visit is put here, and a new walk-in takes its place.
        self.served: asyncio.Queue | None = None

    async def timed(self, name: str, t0: float, c, method: str, path: str, secret: str,
                    body: dict | None = None) -> tuple[int, bytes]:
        status, data = await send(c, method, path, secret, body)
        self.lat[name].append((time.perf_counter() - t0) * 1000)
        self.status[name][status] += 1
        return status, data

    async def seed(self, c: aiohttp.ClientSession) -> None:
        for n, secret in enumerate(self.s["workers"], start=1):
            await send(c, "POST", f"/sites/bench/counters/{n}/open", secret)
        rec = self.s["reception"]
        for i in range(40):  # a busy morning's waiting room
            await send(c, "POST", "/sites/bench/walk-ins", rec,
                       {"errand": "health_card", "name": f"Seed {i}"})
        now = datetime.now(ZoneInfo(BENCH_ZONE))
        slot = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
        for k in range(60):
            for i in range(4):
                status, data = await send(c, "POST", "/sites/bench/bookings", rec, {
                    "errand": "health_card", "name": f"Booked {k}-{i}",
                    "start": (slot + timedelta(minutes=5 * k)).isoformat()})
                if status == 201:
                    self.refs.append(json.loads(data)["booking_ref"])

    async def counter(self, c: aiohttp.ClientSession, number: int, rate: float, until: float
                      ) -> None:
        secret = self.s["workers"][number - 1]
        step, vid = 0, None
        # counters are not in step with each other: spread their phases over one period
        start = time.perf_counter() + (number - 1) / COUNTERS / rate
        k = 0
        while True:
            due = start + k / rate
            if due > until or time.perf_counter() > until:
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            k += 1
            name = CYCLE[step]
            # latency from the intended send time: no coordinated omission
            if name == "call-next":
                status, data = await self.timed(
                    name, due, c, "POST", f"/sites/bench/counters/{number}/call-next", secret)
                answer = json.loads(data)
                visit = answer["visit"] if status == 200 else None
                if visit:
                    vid, step = visit["id"], 1
                elif status == 409 and answer.get("code") == "counter_busy":
                    # a phase before ended mid-cycle: go on with the citizen held here
                    # (without this, saturation measured a stream of these refusals)
                    vid, step = answer["visit_id"], 1 if answer["state"] == "called" else 2
                elif status == 200:
                    self.nobody += 1
                    if self.served is not None:  # saturation: not a busy loop
                        await asyncio.sleep(0.02)
            elif name == "start":
                await self.timed(name, due, c, "POST", f"/visits/{vid}/start", secret)
                step = 2
            elif name == "document":
                await self.timed(name, due, c, "PUT", f"/visits/{vid}/documents/photo_id",
                                 secret, {"status": "present"})
                step = 3
            else:
                await self.timed(name, due, c, "POST", f"/visits/{vid}/finish", secret,
                                 {"outcome": "served"})
                step = 0
                if self.served is not None:
                    self.served.put_nowait(vid)

    async def kiosk(self, c: aiohttp.ClientSession, rate: float, until: float, checkins: bool
                    ) -> None:
        secret = self.s["kiosk"]
        start = time.perf_counter()
        k = 0
        pending: set[asyncio.Future] = set()
        while True:
            due = start + k / rate
            if due > until:
                await asyncio.gather(*pending)
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            k += 1
            # kiosks are many independent citizens: send on time, never wait for the last
            if checkins:
                if not self.refs:
                    return
                task = self.timed("check-in", due, c, "POST", "/sites/bench/check-in", secret,
                                  {"booking_ref": self.refs.pop(0)})
            else:
                self.n += 1
                task = self.timed("walk-in", due, c, "POST", "/sites/bench/walk-ins", secret,
                                  {"errand": "health_card", "name": f"Walk {self.n}"})
            pending.add(asyncio.ensure_future(task))
            pending = {t for t in pending if not t.done()}

    async def paced(self, c: aiohttp.ClientSession, rate: float, seconds: float,
                    load: float) -> None:
        """The counters' cycle (4 requests per citizen served) and the kiosks' arrivals
        (4 walk-ins to 1 check-in) at `load` times the rate the counters serve."""
        until = time.perf_counter() + seconds
        counters, arrivals = shares(load)
        await asyncio.gather(
            *(self.counter(c, n, rate * counters / COUNTERS, until)
              for n in range(1, COUNTERS + 1)),
            self.kiosk(c, rate * arrivals * 0.8, until, checkins=False),
            self.kiosk(c, rate * arrivals * 0.2, until, checkins=True))


def shares(load: float) -> tuple[float, float]:
    """(counters', arrivals') share of the requests, when citizens arrive at `load` times
    the rate the counters serve them (a cycle of 4 requests serves one)."""
    counters = 1 / (1 + load / 4)
    return counters, 1 - counters


async def saturate(url: str, secrets: dict, seconds: float) -> tuple[float, dict]:
    """Every counter pressing its cycle as fast as the server answers, from a waiting room
    topped up to SATURATION_WAITING walk-ins and kept there by a new walk-in for each citizen
    served. Returns the rate and the count of each request (refusals and a call next that
    finds nobody are counted apart: they are the cheapest requests, and until session 7 the
    figure was mostly a rate of refusals)."""
    load = Load(url, secrets)
    load.served = asyncio.Queue()
    async with session(url) as c:
        _, day = await send(c, "GET", "/sites/bench/day", secrets["reception"])
        waiting = sum(v["state"] == "waiting" for v in json.loads(day)["visits"])
        for i in range(0, max(0, SATURATION_WAITING - waiting), COUNTERS):  # not timed
            await asyncio.gather(*(send(c, "POST", "/sites/bench/walk-ins", secrets["kiosk"],
                                        {"errand": "health_card", "name": f"Top-up {i + j}"})
                                   for j in range(COUNTERS)))
        t0 = time.perf_counter()

        async def kiosk_loop(k: int) -> None:
            i = 0
            while True:
                await load.served.get()
                i += 1
                await load.timed("walk-in", time.perf_counter(), c, "POST",
                                 "/sites/bench/walk-ins", secrets["kiosk"],
                                 {"errand": "health_card", "name": f"Sat {k}-{i}"})

        # many kiosks: a walk-in's answer waits for the plan that places it (a few tenths
        # of a second under this load), and the waiting room must not drain meanwhile
        kiosks = [asyncio.create_task(kiosk_loop(k)) for k in range(4 * COUNTERS)]
        await asyncio.gather(
            *(load.counter(c, n, 10_000, t0 + seconds) for n in range(1, COUNTERS + 1)))
        took = time.perf_counter() - t0
        for k in kiosks:
            k.cancel()
        await asyncio.gather(*kiosks, return_exceptions=True)
    counts = {}
    for name, statuses in load.status.items():
        for status, n in statuses.items():
            ok = n - load.nobody if name == "call-next" and status == 200 else n
            counts[name if status < 300 else f"{name} ({status})"] = ok
    if load.nobody:
        counts["call-next (nobody)"] = load.nobody
    return sum(len(v) for v in load.lat.values()) / took, counts


async def health(url: str, seconds: float, workers: int = 21) -> float:
    n = 0
    async with session(url) as c:
        t0 = time.perf_counter()

        async def one() -> None:
            nonlocal n
            while time.perf_counter() - t0 < seconds:
                async with c.get("/health") as r:
                    await r.read()
                n += 1

        await asyncio.gather(*(one() for _ in range(workers)))
        return n / (time.perf_counter() - t0)


def double_calls(database_url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as con:
        doubles = con.execute(text(
            "SELECT count(*) FROM (SELECT visit_id FROM audit WHERE action IN "
            "('call_next', 'call') GROUP BY visit_id HAVING count(*) > 1) AS d")).scalar()
        holding: dict[int, int] = {}
        two = 0
        for (data,) in con.execute(text("SELECT data FROM events ORDER BY seq")):
            v = (json.loads(data) if isinstance(data, str) else data).get("visit")
            if not v:
                continue
            if v["state"] in ("called", "serving"):
                if holding.get(v["counter_id"], v["id"]) != v["id"]:
                    two += 1
                holding[v["counter_id"]] = v["id"]
            elif holding.get(v["counter_id"]) == v["id"]:
                del holding[v["counter_id"]]
    engine.dispose()
    return doubles, two


def throwaway_postgresql() -> str:
    """A fresh database in a throwaway cluster (tests/pg.py: initdb and pg_ctl from Debian's
    `postgresql` package, a free loopback port, stopped when this process ends). That
    cluster runs with fsync=off: its commits do not wait for the disk, as SQLite's do."""
    from tests import pg

    return pg.cluster().database(migrated=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--listeners", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1,
                    help="server processes on the one database (serve --workers; "
                         "PostgreSQL only)")
    ap.add_argument("--database-url", default=None,
                    help="an empty PostgreSQL database (postgresql+psycopg://…), or "
                         "'throwaway' for one in a throwaway cluster started for the run "
                         "(tests/pg.py); default: a SQLite file in a temporary folder")
    ap.add_argument("--load", type=float, default=0.9,
                    help="citizens arrive at this times the rate the counters serve them "
                         "(1: exactly as fast, and the waiting room drifts; default 0.9)")
    ap.add_argument("--busy", type=int, default=0,
                    help="busy-loop processes beside the run, at the same priority, from the "
                         "paced phase to the end: a noisy neighbour (default 0)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="skranke-bench-"))
    database_url = args.database_url
    if database_url == "throwaway":
        database_url = throwaway_postgresql()
    cfg = write_config(folder, database_url)
    database_url = database_url or f"sqlite:///{(folder / 'bench.db').as_posix()}"
    secrets = prepare(cfg)
    port = 18470 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    server = start_server(cfg, port, args.workers)
    busy = [mp.Process(target=busy_loop, daemon=True) for _ in range(args.busy)]
    try:
        load = Load(url, secrets)

        async def paced_run() -> int:
            async with session(url) as c:
                await load.seed(c)
                _, day = await send(c, "GET", "/sites/bench/day", secrets["reception"])
                return json.loads(day)["seq"]

        since = asyncio.run(paced_run())
        out: mp.Queue = mp.Queue()
        lproc = mp.Process(target=listeners_main, args=(url, secrets["display"][:args.listeners],
                                                        since, args.seconds + 4, out))
        lproc.start()
        time.sleep(1.5)  # listeners connected
        for b in busy:
            b.start()

        async def go() -> None:
            async with session(url) as c:
                await load.paced(c, args.rate, args.seconds, args.load)

        t0, cpu0, all0 = time.perf_counter(), cpu_seconds(server.pid), cpu_seconds(server.pid, True)
        asyncio.run(go())
        took, cpu = time.perf_counter() - t0, cpu_seconds(server.pid) - cpu0
        cpu_all = cpu_seconds(server.pid, True) - all0
        listened = out.get(timeout=120)
        lproc.join(timeout=30)
        sent = sum(len(v) for v in load.lat.values())
        counters, arrivals = shares(args.load)
        print(f"# backend_load: offered {args.rate:.0f} req/s for {args.seconds:.0f} s, "
              f"{COUNTERS} counters, {args.listeners} SSE listeners, "
              f"{args.workers} server process{'es' if args.workers > 1 else ''}, "
              f"{database_url.split(':', 1)[0]}"
              + (f", {args.busy} busy loop{'s' * (args.busy > 1)} beside it" if args.busy else ""))
        print(f"mix: counters {counters:.1%} (call next, start, document, finish), "
              f"walk-ins {0.8 * arrivals:.1%}, check-ins {0.2 * arrivals:.1%}: citizens "
              f"arrive at {args.load:.2f} x the rate served")
        print(f"achieved {sent / took:.1f} req/s ({sent} requests)")
        if cpu0 >= 0:  # from /proc: less noisy than the latencies
            if args.workers == 1:
                print(f"server CPU: {cpu / took:.0%} of a core, {1000 * cpu / sent:.2f} ms a "
                      "request (its process, all threads)")
            print(f"server CPU with its plan processes{' and workers' * (args.workers > 1)}: "
                  f"{cpu_all / took:.0%} of a core, {1000 * cpu_all / sent:.2f} ms a request")
        print(f"{'endpoint':<10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for name in ("call-next", "start", "document", "finish", "walk-in", "check-in"):
            v = load.lat.get(name, [])
            print(f"{name:<10} {len(v):>6} {pct(v, 50):>8.1f} {pct(v, 99):>8.1f}  "
                  f"{dict(load.status[name])}")
        lat = listened["latencies"]
        print(f"{'event':<10} {len(lat):>6} {pct(lat, 50):>8.1f} {pct(lat, 99):>8.1f}  "
              f"(change to listener, {min(listened['counts'])}–{max(listened['counts'])} "
              "events per listener)")
        if listened["errors"]:
            print(f"listeners that failed: {len(listened['errors'])}: {listened['errors'][0]}")
        plans = listened["plans"]
        print(f"{'to plan':<10} {len(plans):>6} {pct(plans, 50):>8.1f} {pct(plans, 99):>8.1f}  "
              "(a change to the queue.plan event covering it, at one listener)")
        print(f"plans: {listened['plan_events']} queue.plan events for {len(plans)} changes "
              "(changes close together share one plan)")
        sat, sat_counts = asyncio.run(saturate(url, secrets, 10))
        hp = asyncio.run(health(url, 5))
        print(f"saturation (mix, closed loop, a walk-in per citizen served): {sat:.0f} req/s")
        print("  of which: " + ", ".join(f"{k} {v}" for k, v in sorted(sat_counts.items())))
        print(f"bare /health (closed loop):    {hp:.0f} req/s")
        print(f"ratio mix/health:              {sat / hp:.2f}")
    finally:
        for b in busy:
            if b.is_alive():
                b.kill()
        server.terminate()
        server.wait(timeout=20)
    doubles, two = double_calls(database_url)
    print(f"double calls: {doubles}; a counter holding two: {two}")
    verdict(args.rate, pct(load.lat.get("call-next", []), 99), pct(lat, 99), doubles + two)


#: The issue's targets at 200 req/s offered (docs/performance.md, "Against the targets").
TARGETS = {"call next p99": 25.0, "event p99": 50.0}


def verdict(rate: float, call_p99: float, event_p99: float, doubles: int) -> None:
    """One line against the targets, so a run says at once whether it met them; `doubles`
    counts citizens called twice and counters seen holding two (both must be none)."""
    seen = {"call next p99": call_p99, "event p99": event_p99}
    parts = [f"{k} {seen[k]:.1f} ms (<= {v:.0f}: {'met' if seen[k] <= v else 'NOT met'})"
             for k, v in TARGETS.items()]
    parts.append(f"double calls or counters holding two {doubles} "
                 f"({'met' if doubles == 0 else 'NOT met'})")
    print(f"targets at {rate:.0f} req/s offered (set for 200): " + "; ".join(parts))


if __name__ == "__main__":
    main()
