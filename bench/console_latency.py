"""The console under a big day: start, key to repaint, backend change to repaint, memory.

A backend process (`skranke-server serve`, SQLite, loopback) holds a day of about 2,000
visits on 20 counters. Measured, as medians and p95 over repeats:

- cold start: a fresh `python` process that imports the console, loads the day and shows
  the counter screen (process spawn to "screen ready"), and its peak memory (ru_maxrss);
- key to repaint: 200 cursor moves and 50 actions (and 12 view changes, which re-filter
  the 2,000-row table), each from the key press until the first frame that shows its
  effect goes to the terminal driver (see `Paints`);
- backend change to repaint: 50 check-ins made by another client, from sending the
  request until the first frame that shows the row in its new state.

The console runs headless (Textual's test driver) at 120×36.

    .venv/bin/python bench/console_latency.py [--visits 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.backend_load import start_server  # noqa: E402

COUNTERS = 20


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def show(name: str, ms: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(ms):7.1f} ms   p95 {pct(ms, 95):7.1f} ms"
            f"   (n={len(ms)})")


def prepare(folder: Path, visits: int) -> tuple[Path, dict]:
    """A site open all day with about `visits` visits today (demo generator), and tokens."""
    from backend.catalogue import load_catalogue
    from backend.clock import SystemClock
    from backend.demo import generate
    from backend.services import tokens
    from backend.services.context import AppContext
    from backend.settings import load_settings
    from backend.storage.db import Database

    days = ", ".join(f'{d} = "00:00-23:55"' for d in ("mon", "tue", "wed", "thu", "fri",
                                                        "sat", "sun"))
    capacity = max(1, round(visits / 105))
    cfg = folder / "bench.toml"
    cfg.write_text(f'database_url = "sqlite:///{(folder / "bench.db").as_posix()}"\n'
                   "tick_seconds = 30\n\n[[sites]]\n"
                   f'id = "bench"\nname = "Bench"\ncounters = {COUNTERS}\n'
                   f"booking_capacity = {capacity}\npublic_holidays = false\n"
                   f"closed_on_customary_days = false\nhours = {{ {days} }}\n")
    settings = load_settings(cfg)
    ctx = AppContext(settings=settings, catalogue=load_catalogue(),
                     db=Database(settings.database_url), clock=SystemClock())
    ctx.bootstrap()
    summary = generate(ctx, seed=3)
    now = ctx.clock.now()
    with ctx.db.write() as s:
        made = {"caseworker": tokens.create(s, "caseworker", "bench-cw", now, 1)[0],
                "reception": tokens.create(s, "reception", "bench-rec", now, 1)[0]}
    ctx.db.dispose()
    today = min(summary.days)
    return cfg, {"tokens": made, "today": summary.days[today]}


CHILD = r"""
import resource, sys, time, asyncio
sys.path.insert(0, {root!r})
from console.app import make_app
from console.config import Config
cfg = Config.model_validate({{"server": {{"url": {url!r}, "site": "bench", "counter": 1}},
                              "ui": {{"language": "da"}}}})
app = make_app(cfg, {token!r}, outbox_path={outbox!r})
async def main():
    async with app.run_test(size=(120, 36)) as pilot:
        from screens.counter import CounterScreen
        while not isinstance(app.screen, CounterScreen):
            await asyncio.sleep(0.001)
        shown = time.time()
        while app.live.model.seq < 0 or app.connection != "online":
            await asyncio.sleep(0.001)
        await pilot.pause()
        print(shown, time.time(), len(app.model.visits),
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
asyncio.run(main())
"""


def cold_start(url: str, token: str, folder: Path, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"screen": [], "queue": [], "rss": []}
    for i in range(runs):
        code = CHILD.format(root=str(ROOT), url=url, token=token,
                            outbox=str(folder / f"outbox-{i}.db"))
        t0 = time.time()
        line = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=ROOT).stdout.split()
        out["screen"].append((float(line[0]) - t0) * 1000)
        out["queue"].append((float(line[1]) - t0) * 1000)
        out["rss"].append(int(line[3]) / 1024)
    return out


class Watch:
    """One awaited change: shown once a frame has taken the repaint of a widget whose
    `done()` held (any of the (widget, done) pairs)."""

    def __init__(self, paints: Paints, pairs) -> None:
        self.paints, self.pairs = paints, pairs
        self.taken = False  # a frame being composed took such a repaint
        self.painted: float | None = None  # when that frame went to the terminal driver

    async def after(self, t0: float, timeout: float = 10.0) -> float:
        """ms from t0 to the first frame that shows the change."""
        deadline = time.perf_counter() + timeout
        try:
            while self.painted is None:
                if time.perf_counter() > deadline:
                    raise TimeoutError("the change never showed")
                await asyncio.sleep(0.0002)
        finally:
            self.paints.watches.remove(self)
        return (self.painted - t0) * 1000


class Paints:
    """Which frames show a change. A frame goes to the terminal driver in `App._display`;
    the widgets it repaints are handed to `Compositor.update_widgets` just before (a bench may
    look at these private hooks, the console itself does not). A change is shown by the first
    frame whose composition took the repaint of the widget it is on (or of the whole screen)
    once the change was on that widget: not a frame composed before the widget asked for its
    repaint, and not one that merely followed the moment the bench noticed the change (the
    frame that showed it may already have gone out by then)."""

    def __init__(self, app, screen) -> None:
        self.watches: list[Watch] = []
        display, compositor = app._display, screen._compositor
        update_widgets = compositor.update_widgets

        def composing(widgets):
            for w in self.watches:
                if not w.taken and any((widget in widgets or screen in widgets) and done()
                                       for widget, done in w.pairs):
                    w.taken = True
            return update_widgets(widgets)

        def displayed(target, renderable):
            if renderable is not None:
                now = time.perf_counter()
                for w in self.watches:
                    if w.taken and w.painted is None:
                        w.painted = now
            return display(target, renderable)

        compositor.update_widgets = composing
        app._display = displayed

    def expect(self, *pairs) -> Watch:
        """Watch for a change, as (widget, done) pairs, before making it (its frame may go
        out before anyone polls)."""
        watch = Watch(self, pairs)
        self.watches.append(watch)
        return watch


async def interactive(url: str, tokens: dict, folder: Path, changes: int) -> dict:
    from textual.events import Key

    from console.app import make_app
    from console.config import Config
    from screens.counter import CounterScreen
    from widgets.queue_table import QueueTable
    from widgets.status_bar import StatusBar

    cfg = Config.model_validate({"server": {"url": url, "site": "bench", "counter": 1},
                                 "ui": {"language": "da"}})
    app = make_app(cfg, tokens["caseworker"], outbox_path=folder / "outbox.db")
    out: dict[str, list[float]] = {"cursor": [], "action": [], "answer": [], "view": [],
                                   "change": []}
    async with app.run_test(size=(120, 36)) as pilot:
        while not isinstance(app.screen, CounterScreen) or app.connection != "online" \
                or app.live.model.seq < 0:
            await pilot.pause(0.005)
        await pilot.pause()
        screen = app.screen
        paints = Paints(app, screen)
        table = screen.query_one(QueueTable)

        async def key(name: str, done) -> float:
            watch = paints.expect((table, done))
            t0 = time.perf_counter()
            app.post_message(Key(name, None))
            return await watch.after(t0)

        await pilot.press("3")  # all of today's visits
        await pilot.pause()
        print(f"console shows {table.row_count} rows of {len(app.model.visits)} visits")
        for i in range(200):
            name = "down" if (i // 50) % 2 == 0 else "up"
            before = table.cursor_row
            out["cursor"].append(await key(name, lambda b=before: table.cursor_row != b))
            await asyncio.sleep(0.01)  # a caseworker's key repeat is slower than this
        await pilot.press("o")
        while screen.counter.state != "open":
            await pilot.pause(0.01)
        bar = screen.query_one(StatusBar)
        for _ in range(25):  # actions: call next, then back in the queue (backend round trip)
            await asyncio.sleep(0.3)  # a caseworker's next key comes later than this

            def called() -> bool:
                return screen.mine is not None and str(
                    table.get_cell(str(screen.mine.id), "state")).startswith("→")

            # the key is answered by the pending action, or by the answer if that came first
            busy = paints.expect((bar, lambda: bool(bar.busy)), (table, called))
            answer = paints.expect((table, called))
            t0 = time.perf_counter()
            app.post_message(Key("n", None))
            out["action"].append(await busy.after(t0))
            out["answer"].append(await answer.after(t0))
            mine = screen.mine.id
            await asyncio.sleep(0.3)

            def back(m: int = mine) -> bool:
                return screen.mine is None and str(
                    table.get_cell(str(m), "state")).startswith("●")

            busy = paints.expect((bar, lambda: bool(bar.busy)), (table, back))
            answer = paints.expect((table, back))
            t0 = time.perf_counter()
            app.post_message(Key("k", None))
            out["action"].append(await busy.after(t0))
            out["answer"].append(await answer.after(t0))
        for _ in range(12):  # view changes: mine, waiting, all, done, …
            await asyncio.sleep(0.3)
            before = screen.filter
            out["view"].append(await key("v", lambda b=before: screen.filter != b))
        await pilot.press("3")
        await pilot.pause()
        booked = [v for v in app.model.visits.values() if v.state == "booked"][:changes]
        sent: dict[int, float] = {}
        go = threading.Event()

        def other_client() -> None:  # reception's PC checks citizens in, one at a time
            with httpx.Client(base_url=url, timeout=10, headers={
                    "Authorization": f"Bearer {tokens['reception']}"}) as c:
                for v in booked:
                    go.wait(30)
                    go.clear()
                    sent[v.id] = time.perf_counter()
                    c.post(f"/visits/{v.id}/check-in",
                           headers={"Idempotency-Key": f"bench-{v.id}"}).raise_for_status()

        threading.Thread(target=other_client, daemon=True).start()
        for v in booked:
            shown = paints.expect((table, lambda i=v.id: "venter" in str(
                table.get_cell(str(i), "state"))))
            go.set()
            while v.id not in sent:
                await asyncio.sleep(0.0002)
            out["change"].append(await shown.after(sent[v.id]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=2000)
    ap.add_argument("--starts", type=int, default=5)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="skranke-bench-console-"))
    cfg, info = prepare(folder, args.visits)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_server(cfg, port)
    url = f"http://127.0.0.1:{port}"
    try:
        print(f"day: {info['today']} visits today on {COUNTERS} counters; backend pid "
              f"{server.pid}, console in this process (pid {os.getpid()})")
        start = cold_start(url, info["tokens"]["caseworker"], folder, args.starts)
        print(show("cold start to counter screen", start["screen"]))
        print(show("cold start to queue shown", start["queue"]))
        print(f"{'peak memory, day loaded':<34} max {max(start['rss']):7.1f} MB")
        res = asyncio.run(interactive(url, info["tokens"], folder, 50))
        print(show("key to repaint: cursor move", res["cursor"]))
        print(show("key to repaint: call next/requeue", res["action"]))
        print(show("key to answer shown: same actions", res["answer"]))
        print(show("key to repaint: view change", res["view"]))
        print(show("backend change to repainted row", res["change"]))
        both = res["cursor"] + res["action"]
        print(show("key to repaint: 200 moves + 50 actions", both))
        print(json.dumps({"start_screen_ms": statistics.median(start["screen"]),
                          "start_queue_ms": statistics.median(start["queue"]),
                          "rss_mb": max(start["rss"]), "key_p95": pct(both, 95),
                          "view_p95": pct(res["view"], 95),
                          "answer_p95": pct(res["answer"], 95),
                          "change_p95": pct(res["change"], 95)}))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
