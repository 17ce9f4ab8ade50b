"""The server the load benchmarks run against: its site and settings (a bench day at about
10:00 local time, whatever the hour), its tokens, the process on loopback, and its CPU from
/proc. Used by bench/backend_load.py (which re-exports it), write_path.py and
console_latency.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 20


def bench_zone(at: datetime | None = None) -> str:
    """A fixed-offset zone in which it is about 10:00 now: the bench site's day, and the 240
    bookings of the next five hours, are then the same whatever the hour of the run (in
    Copenhagen's time a late run had fewer bookings before the site's closing, none after
    23:00)."""
    hour = (at or datetime.now(UTC)).astimezone(UTC).hour
    offset = (10 - hour + 12) % 24 - 12  # -12 .. 11 hours from UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


BENCH_ZONE = bench_zone()


def write_config(folder: Path, database_url: str | None = None) -> Path:
    """The bench site's settings in `folder`: its SQLite file there, or `database_url` (an
    empty PostgreSQL database), and the key file there."""
    hours = "00:00-23:55"
    days = ", ".join(f'{d} = "{hours}"' for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                   "sun"))
    cfg = folder / "bench.toml"
    url = database_url or f"sqlite:///{(folder / 'bench.db').as_posix()}"
    cfg.write_text(
        f'database_url = "{url}"\nkey_file = "{(folder / "bench.keys").as_posix()}"\n'
        "tick_seconds = 5\n\n[[sites]]\n"
        f'id = "bench"\nname = "Bench"\ncounters = {COUNTERS}\nbooking_capacity = 20\n'
        f'timezone = "{BENCH_ZONE}"\n'
        "public_holidays = false\nclosed_on_customary_days = false\n"
        f"hours = {{ {days} }}\n")
    return cfg


def prepare(cfg: Path) -> dict:
    """Migrate and issue tokens directly (setup, not measured)."""
    from backend.catalogue import load_catalogue
    from backend.clock import SystemClock
    from backend.services import tokens
    from backend.services.context import AppContext
    from backend.settings import load_settings
    from backend.storage.db import Database

    settings = load_settings(cfg)
    ctx = AppContext(settings=settings, catalogue=load_catalogue(),
                     db=Database(settings.database_url), clock=SystemClock())
    ctx.bootstrap()
    now = ctx.clock.now()
    with ctx.db.write() as s:
        out = {"workers": [tokens.create(s, "caseworker", f"cw{i}", now, 1)[0]
                           for i in range(1, COUNTERS + 1)],
               "kiosk": tokens.create(s, "kiosk", "kiosk", now, 1)[0],
               "reception": tokens.create(s, "reception", "rec", now, 1)[0],
               "display": [tokens.create(s, "display", f"d{i}", now, 1)[0] for i in range(50)]}
    ctx.db.dispose()
    return out


def cpu_seconds(pid: int, tree: bool = False) -> float:
    """User + system CPU so far of a process, from /proc (Linux; else -1); with `tree`, of it
    and every process under it too (the server's workers and plan processes)."""
    def own(p: int) -> tuple[int, float]:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    try:
        total = own(pid)[1]
    except OSError:
        return -1.0
    if not tree:
        return total
    children: dict[int, list[int]] = defaultdict(list)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                children[own(int(name))[0]].append(int(name))
            except OSError:
                continue
    todo = list(children[pid])
    while todo:
        p = todo.pop()
        todo.extend(children[p])
        try:
            total += own(p)[1]
        except OSError:
            continue
    return total


def start_server(cfg: Path, port: int, workers: int = 1) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "--config", str(cfg), "serve",
                             "--port", str(port), "--workers", str(workers)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")
