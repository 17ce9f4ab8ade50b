"""A soak: a demo day compressed, watched for anything that grows.

The demo site and data (`skranke-server demo-data`) served with `serve --demo --speed 20`
(the demo's simulated caseworkers at every counter but Skranke 1, a full opening day,
08:00-16:00 in a zone where it is about 08:00 now, in about 24 minutes), 10 event-stream
listeners, 20 req/s of reads and writes (half day snapshots, a quarter counters, documents
ticked and searches), walk-ins at reception (30 an hour of day time, on top of the demo's
8), and one real console (`skranke`, Skranke 1) under tmux. Every `--every` seconds it
samples the server's and the console's RSS, open file descriptors and threads, and the
database's and its WAL's size.

At the end: the rate reached, each figure after the warm-up (the first hour of day time,
3 minutes at speed 20: caches filling to their bounds, the allocator settling) and at the
end, its growth in between and over the last third (a leak still grows there; warm-up has
stopped), and a verdict line: PASS when no process figure nor the WAL grew more than 10 %
after the warm-up (the database grows with the day's rows by design). `--memory DIR`
adds where each process's memory is (Python, SQLite, the C allocator; bench/traced.py).

    .venv/bin/python bench/soak.py --memory /tmp/soak-mem   # 25 minutes: a whole day
    .venv/bin/python bench/soak.py --minutes 10             # a shortened run

Linux only (/proc). Loopback only. Exit status 1 when the verdict is not PASS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def proc_figures(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
            "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def fd_kinds(pid: int) -> dict[str, int]:
    """What a process's open files are, counted: sockets, pipes, and files by name."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kind = target.split(":")[0] if ":" in target and not target.startswith("/") \
            else Path(target).name
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def site_config(folder: Path) -> Path:
    """The demo site in a fixed-offset zone where the day (08:00-16:00) is just starting
    now, whatever the hour of the run: the whole opening day lies ahead (at speed 20, 24
    minutes). (`skranke-server demo` wraps the real hour and ends at 23:55 local time: a
    soak started in the evening got less than three hours of day.)"""
    hour = datetime.now(UTC).hour
    offset = (8 - hour + 12) % 24 - 12
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    days = ", ".join(f'{d} = "08:00-16:00"' for d in ("mon", "tue", "wed", "thu", "fri",
                                                      "sat", "sun"))
    path = folder / "soak-server.toml"
    path.write_text(
        f'database_url = "sqlite:///{(folder / "demo.db").as_posix()}"\n'
        "tick_seconds = 2\n\n[[sites]]\n"
        'id = "demo"\nname = "Borgerservice Soak"\ncounters = 6\n'
        f'timezone = "{zone}"\npublic_holidays = false\nclosed_on_customary_days = false\n'
        f"hours = {{ {days} }}\n", encoding="utf-8")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    except FileNotFoundError:
        return []
    return [int(p) for p in out.stdout.split()]


async def listener(url: str, token: str, counts: list[int], i: int, stop: asyncio.Event):
    from httpx_sse import aconnect_sse

    async with httpx.AsyncClient(timeout=httpx.Timeout(30, connect=5)) as c:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                async with aconnect_sse(c, "GET", f"{url}/sites/demo/events",
                                        headers={"Authorization": f"Bearer {token}"}) as es:
                    async for sse in es.aiter_sse():
                        if sse.data:
                            counts[i] += 1
                        if stop.is_set():
                            return
            await asyncio.sleep(1)


async def load(url: str, tokens: dict[str, str], rate: float, stats: dict[str, int],
               stop: asyncio.Event, worker: int) -> None:
    """`rate` requests a second: half day snapshots, a quarter the counters, and writes
    that change a visit without adding one (a document ticked present or back, on a
    waiting visit of the last snapshot: an event, an audit row, a new version) or search
    (a POST)."""
    rec = {"Authorization": f"Bearer {tokens['reception']}"}
    waiting: list[tuple[int, str]] = []  # (visit id, a document code) of the last day read
    n = 0
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        t0 = time.monotonic()
        while not stop.is_set():
            n += 1
            r = random.random()
            try:
                if r < 0.5 or (r < 0.9 and not waiting and r >= 0.75):
                    resp = await c.get("/sites/demo/day", headers=rec)
                    if resp.status_code == 200:
                        waiting = [(v["id"], v["documents"][0]["code"])
                                   for v in resp.json()["visits"]
                                   if v["state"] == "waiting" and v["documents"]]
                elif r < 0.75:
                    resp = await c.get("/sites/demo/counters", headers=rec)
                elif r < 0.9:
                    vid, code = random.choice(waiting)
                    resp = await c.put(f"/visits/{vid}/documents/{code}", headers={
                        **rec, "Idempotency-Key": f"soak-d-{os.getpid()}-{worker}-{n}"},
                        json={"status": random.choice(("present", "unknown"))})
                else:
                    resp = await c.post("/sites/demo/search", headers={
                        **rec, "Idempotency-Key": f"soak-s-{os.getpid()}-{worker}-{n}"},
                        json={"name": "Jensen"})
                stats[str(resp.status_code)] = stats.get(str(resp.status_code), 0) + 1
            except httpx.HTTPError as exc:
                stats[type(exc).__name__] = stats.get(type(exc).__name__, 0) + 1
            delay = t0 + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


async def walk_ins(url: str, tokens: dict[str, str], per_second: float, stats: dict[str, int],
                   stop: asyncio.Event) -> None:
    """Walk-ins registered at reception, on top of the demo's own (8 an hour of day time)."""
    rec = {"Authorization": f"Bearer {tokens['reception']}"}
    n = 0
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        while not stop.is_set():
            await asyncio.sleep(random.expovariate(per_second))
            n += 1
            try:
                resp = await c.post("/sites/demo/walk-ins", headers={
                    **rec, "Idempotency-Key": f"soak-w-{os.getpid()}-{n}"},
                    json={"errand": "health_card", "name": f"Soak {n}"})
                key = f"walk-in {resp.status_code}"
            except httpx.HTTPError as exc:
                key = f"walk-in {type(exc).__name__}"
            stats[key] = stats.get(key, 0) + 1


async def soak(args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="skranke-soak-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = site_config(folder)
    server_cli = [str(BIN / "skranke-server"), "--config", str(config)]
    server_run, console_run = [str(BIN / "skranke-server")], [str(BIN / "skranke")]
    watch = args.trace or args.memory
    if watch:  # bench/traced.py: where the memory is, every sample (and what holds it)
        traced = [sys.executable, str(ROOT / "bench" / "traced.py"),
                  *([] if args.trace else ["--light"]), *(["--collect"] if args.collect else [])]
        server_run = [*traced, f"{watch}/server", str(args.every), "backend.cli:main"]
        console_run = [*traced, f"{watch}/console", str(args.every), "console.cli:main"]
    for step in (["migrate"], ["demo-data", "--seed", "1"]):
        subprocess.run([*server_cli, *step], check=True, capture_output=True, timeout=300)
    tokens = {role: subprocess.run(
        [*server_cli, "token", "create", "--role", role, "--person", f"soak-{role}"],
        check=True, capture_output=True, text=True, timeout=120).stdout.strip()
        for role in ("caseworker", "reception", "supervisor")}
    server = subprocess.Popen(
        [*server_run, "--config", str(config), "serve", "--port", str(port), "--demo",
         "--speed", str(args.speed)],
        stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "w"))  # noqa: SIM115
    session = f"skranke-soak-{os.getpid()}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the demo server did not start")
            await asyncio.sleep(0.5)
        cfg = folder / "console.toml"
        cfg.write_text(f'[server]\nurl = "{url}"\nsite = "demo"\ncounter = 1\n')
        console_pid = None
        # tmux starts the console with its server's environment, not this one's: what
        # chooses the code (another checkout's, to compare) and the allocator goes along
        passed = [f"{k}={os.environ[k]}" for k in ("PYTHONPATH", "MALLOC_ARENA_MAX")
                  if k in os.environ]
        if shutil.which("tmux"):
            subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "130", "-y",
                            "40", "env", *passed, f"SKRANKE_CONFIG={cfg}",
                            f"SKRANKE_TOKEN={tokens['caseworker']}",
                            f"XDG_DATA_HOME={folder}", *console_run], check=True)
            await asyncio.sleep(3)
            out = subprocess.run(["tmux", "list-panes", "-t", session, "-F",
                                  "#{pane_pid}"], capture_output=True, text=True)
            console_pid = int(out.stdout.split()[0]) if out.stdout.strip() else None
        stop = asyncio.Event()
        counts = [0] * args.listeners
        stats: dict[str, int] = {}
        tasks = [asyncio.create_task(listener(url, tokens["supervisor"], counts, i, stop))
                 for i in range(args.listeners)]
        tasks += [asyncio.create_task(load(url, tokens, args.rate / 4, stats, stop, w))
                  for w in range(4)]  # four clients: one waiting answer does not slow the rate
        tasks.append(asyncio.create_task(walk_ins(
            url, tokens, args.walkins_per_hour * args.speed / 3600, stats, stop)))
        samples = []
        t0 = time.monotonic()
        db = folder / "demo.db"
        wal = folder / "demo.db-wal"
        while time.monotonic() - t0 < args.minutes * 60:
            sample = {"t": round(time.monotonic() - t0), "mono": time.monotonic(),
                      "day_minutes":
                      round((time.monotonic() - t0) * args.speed / 60)}
            for name, pid in (("server", server.pid), ("console", console_pid)):
                if pid is not None:
                    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                        sample.update({f"{name}_{k}": v for k, v in proc_figures(pid).items()})
                        sample[f"{name}_fd_kinds"] = fd_kinds(pid)
            sample["db_mb"] = db.stat().st_size / 2**20 if db.exists() else 0
            sample["wal_mb"] = wal.stat().st_size / 2**20 if wal.exists() else 0
            sample["events"] = sum(counts)
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            await asyncio.sleep(args.every)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        screen = ""
        if console_pid is not None:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
        if args.json:  # the server's whole log, kept beside the result
            with contextlib.suppress(OSError):
                shutil.copy(folder / "server.log", f"{args.json}.server.log")
        errors: dict[str, int] = {}  # the server's own complaints, counted by line
        with contextlib.suppress(OSError):
            for line in (folder / "server.log").read_text(errors="replace").splitlines():
                if any(w in line for w in ("ERROR", "error", "failed", "Traceback")):
                    text = line.split(" - ")[-1][:160]
                    errors[text] = errors.get(text, 0) + 1
        return {"samples": samples, "requests": stats, "screen": screen,
                "server_errors": errors,
                "console_alive": console_pid is not None and Path(f"/proc/{console_pid}")
                .exists()}
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def growth(samples: list[dict], after_minutes: float, share: float = 1.0
           ) -> dict[str, float]:
    """Each figure's growth in % over the samples after `after_minutes` of day time (share
    1), or over the last `share` of them (the last third: 1/3; a leak still grows there,
    a cache filling up to its bound or the allocator settling, warm-up, has stopped).
    Memory and sizes: first sample to last. Open files and threads come and go with
    connections (a console's pool of HTTP connections: 10 or 17 files), so for them the
    peak of the first third of the span against the peak of its last third: a leak raises
    the peak, a pool that opens and closes does not."""
    after = [s for s in samples if s["day_minutes"] >= after_minutes]
    span = after[-max(2, round(len(after) * share)):]
    if len(span) < 2:
        return {}
    third = max(1, len(span) // 3)
    out = {}
    for key, value in span[0].items():
        if key in ("t", "mono", "day_minutes", "events") or key not in span[-1] \
                or key.endswith("_fd_kinds"):
            continue
        if key.endswith(("_fds", "_threads")):
            value = max(s.get(key, 0) for s in span[:third])
            last = max(s.get(key, 0) for s in span[-third:])
        else:
            last = span[-1][key]
        out[key] = round(100 * (last - value) / value, 1) if value else 0.0
    return out


#: The database grows with the day's rows (visits, events, audit, idempotency keys) by
#: design; the verdict is on what must not grow: the processes and the write-ahead log.
JUDGED = ("server_rss_mb", "server_fds", "server_threads", "console_rss_mb", "console_fds",
          "console_threads", "wal_mb")


def memory_at(folder: Path, mono: float) -> dict | None:
    """A process's memory breakdown (bench/traced.py) nearest to monotonic time `mono`."""
    path = folder / "objects.jsonl"
    if not path.exists():
        return None
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return min(lines, key=lambda x: abs(x["t"] - mono))["memory"] if lines else None


def report(result: dict, args) -> bool:
    """Print the figures and the verdict; True when nothing judged grew over the limit."""
    samples = result["samples"]
    result["growth"] = growth(samples, args.warmup)
    result["growth_last_third"] = growth(samples, args.warmup, 1 / 3)
    answered = sum(v for k, v in result["requests"].items() if k[-3:].isdigit())
    seconds = samples[-1]["t"] + args.every if samples else 0
    print(f"requests: {answered} answered in {seconds} s = {answered / max(seconds, 1):.1f} "
          f"req/s (asked: {args.rate:g} and walk-ins), by answer:",
          json.dumps(result["requests"]))
    base = next((s for s in samples if s["day_minutes"] >= args.warmup), None)
    if base is not None:
        print(f"after warm-up (day minute {base['day_minutes']}):", json.dumps(
            {k: round(v, 1) for k, v in base.items() if k in JUDGED or k == "db_mb"}))
        print(f"at the end (day minute {samples[-1]['day_minutes']}):", json.dumps(
            {k: round(v, 1) for k, v in samples[-1].items() if k in JUDGED or k == "db_mb"}))
    watch = args.memory or args.trace
    if watch and base is not None:
        for name in ("server", "console"):
            a, b = (memory_at(Path(watch) / name, s["mono"]) for s in (base, samples[-1]))
            if a and b:
                print(f"{name} memory (MB) after warm-up -> end: " + ", ".join(
                    f"{k} {a[k]} -> {b[k]}" for k in b if k in a))
    print("growth after warm-up (%):", json.dumps(result["growth"]))
    print("growth over the last third (%):", json.dumps(result["growth_last_third"]))
    print("the server's log, lines of errors by count:",
          json.dumps(result.get("server_errors", {}), ensure_ascii=False))
    print("console alive at the end:", result["console_alive"])
    print("the console's screen at the end:\n" + result["screen"])
    grown = {k: v for k, v in result["growth"].items() if k in JUDGED and v > args.limit}
    if not result["growth"]:
        print(f"VERDICT: NOT MEASURED - the run ended before {args.warmup:g} minutes of "
              "day time had passed")
        return False
    if not result["console_alive"]:
        grown["console_alive"] = 0
    print(f"VERDICT: {'FAIL' if grown else 'PASS'} - "
          + (f"grew more than {args.limit:g} % after warm-up: {grown}" if grown else
             f"nothing grew more than {args.limit:g} % after the warm-up "
             f"({args.warmup:g} minutes of day time)"))
    return not grown


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=25)
    p.add_argument("--speed", type=float, default=20)
    p.add_argument("--listeners", type=int, default=10)
    p.add_argument("--rate", type=float, default=20, help="requests a second")
    p.add_argument("--every", type=float, default=30, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=60,
                   help="minutes of day time before growth is counted (default: the first "
                   "hour, as issue 26 asks)")
    p.add_argument("--limit", type=float, default=10, help="growth allowed after it, in %%")
    p.add_argument("--json", help="write the result here")
    p.add_argument("--walkins-per-hour", type=float, default=30,
                   help="walk-ins registered by the load, an hour of day time (the demo's "
                   "own life adds 8)")
    p.add_argument("--memory", help="sample where each process's memory is (Python, "
                   "SQLite, the C allocator) into this folder (bench/traced.py --light)")
    p.add_argument("--collect", action="store_true", help="with --memory: a full garbage "
                   "collection in both processes before each sample (an experiment)")
    p.add_argument("--trace", help="as --memory, under tracemalloc, with snapshots "
                   "(bench/traced.py --diff FOLDER/server shows what grew)")
    args = p.parse_args()
    result = asyncio.run(soak(args))
    ok = report(result, args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
