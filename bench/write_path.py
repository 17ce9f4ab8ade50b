"""The write path in-process, without HTTP: CPU per write of each step of the counters'
cycle, a walk-in and a plan, on a bench day (20 open counters, 60 waiting, 240 booked).

Commits use `synchronous=FULL` as under the server, so wall times include an fsync; the
CPU column (thread time) is the one to compare.

    .venv/bin/python bench/write_path.py [N cycles, default 300]
    ROOT=/path/to/other/checkout .venv/bin/python bench/write_path.py   # the same on another
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = os.environ.get("ROOT", str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, ROOT)
sys.path.insert(0, str(Path(ROOT) / "bench"))  # its backend_load, which puts ROOT first

from backend_load import BENCH_ZONE, write_config  # noqa: E402

from backend.catalogue import load_catalogue  # noqa: E402
from backend.clock import SystemClock  # noqa: E402
from backend.domain import lifecycle  # noqa: E402
from backend.domain.types import DocStatus, Outcome  # noqa: E402
from backend.services import bookings, counters, visits  # noqa: E402
from backend.services.context import SYSTEM, Actor, AppContext, Tx  # noqa: E402
from backend.services.planning import Planner  # noqa: E402
from backend.settings import load_settings  # noqa: E402
from backend.storage.db import Database  # noqa: E402


def main() -> None:
    args = sys.argv[1:]
    n = int(args[0]) if args else 300
    settings = load_settings(write_config(Path(tempfile.mkdtemp(prefix="skranke-wp-"))))
    ctx = AppContext(settings=settings, catalogue=load_catalogue(),
                     db=Database(settings.database_url), clock=SystemClock())
    ctx.bootstrap()

    def w(fn, actor=SYSTEM):
        with ctx.db.write() as s:
            return fn(Tx(ctx, s, actor))

    workers = [Actor(f"t{i}", "caseworker", f"cw{i}") for i in range(1, 21)]
    for k in range(1, 21):
        w(lambda tx, k=k: counters.open_counter(tx, "bench", k), workers[k - 1])
    for i in range(60):
        w(lambda tx, i=i: visits.register_walkin(tx, "bench", "health_card", f"S{i}", None,
                                                 None, {}, 0))
    now = datetime.now(ZoneInfo(BENCH_ZONE))
    slot = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    for k in range(60):
        for i in range(4):
            w(lambda tx, k=k, i=i: bookings.create_booking(
                tx, "bench", "health_card", slot + timedelta(minutes=5 * k), f"B{k}{i}", None,
                None, None, None))
    cpu: dict[str, list[float]] = {k: [] for k in ("call next", "start", "document",
                                                   "finish", "walk-in", "plan")}
    planner = Planner(ctx)

    def timed(name, actor, fn, *args):
        c0 = time.thread_time()
        with ctx.db.write() as s:
            out = fn(Tx(ctx, s, actor), *args)
        cpu[name].append((time.thread_time() - c0) * 1000)
        return out

    def start(tx, vid):
        return visits.transition(tx, vid, "start", lambda v: lifecycle.start(v, tx.now))

    for j in range(n):
        a = workers[j % 20]
        vid = timed("call next", a, visits.call_next, "bench", j % 20 + 1)["visit"]["id"]
        timed("start", a, start, vid)
        timed("document", a, visits.set_document, vid, "photo_id", DocStatus.PRESENT, None)
        timed("finish", a, visits.finish, vid, Outcome.SERVED, None, None, None)
        timed("walk-in", SYSTEM, visits.register_walkin, "bench", "health_card", f"W{j}",
              None, None, {}, 0)
        if j % 10 == 0:
            c0 = time.thread_time()
            planner.make("bench", None, True)
            cpu["plan"].append((time.thread_time() - c0) * 1000)
    grouped = ", group commit" if "--grouped" in sys.argv else ""
    print(f"# write_path: {n} cycles{grouped}, CPU per write (median ms), code at {ROOT}")
    for name, values in cpu.items():
        print(f"{name:10} {statistics.median(values):6.2f}")


if __name__ == "__main__":
    main()
