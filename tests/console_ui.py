"""Helpers for the console's Pilot and snapshot tests: a hand-made day on the real backend
(loopback, fixed clock) and the app pointed at it."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

from console.app import make_app
from console.config import Config

from .helpers import T0, Api, token


def seed_day(rec: Api) -> dict[str, int]:
    """Three bookings (two checked in, one early), two walk-ins: ids by ticket."""
    ids: dict[str, int] = {}

    def book(minutes: int, errand: str, name: str, cpr: str | None, note: str | None = None,
             arrive: bool = True) -> None:
        v = rec.ok("post", "/sites/test/bookings", {
            "errand": errand, "start": (T0 + timedelta(minutes=minutes)).isoformat(),
            "name": name, "cpr": cpr, "phone": "+45 11 22 33 44", "note": note}, status=201)
        if arrive:
            v = rec.ok("post", f"/visits/{v['id']}/check-in")
        ids[v["ticket"]] = v["id"]

    book(5, "passport_adult", "Anna Jensen", "0101901234", "Jeg har mit gamle pas med")
    book(30, "driving_licence_renewal", "Bo Hansen", "0202851234")
    book(60, "passport_adult", "Carl Nielsen", None, arrive=False)
    for name, errand, cpr in (("Dorte Larsen", "health_card", "0303751234"),
                              ("Erik Madsen", "mitid", None)):
        v = rec.ok("post", "/sites/test/walk-ins", {"errand": errand, "name": name,
                                                     "cpr": cpr}, status=201)
        ids[v["ticket"]] = v["id"]
    return ids


def console(server, ctx, tmp_path: Path, *, role: str = "caseworker", person: str = "anne",
            lang: str = "da", counter: int = 1, secret: str | None = None):
    cfg = Config.model_validate({"server": {"url": server.url, "site": "test",
                                            "counter": counter},
                                 "ui": {"language": lang}})
    return make_app(cfg, secret or token(ctx, role, person),
                    outbox_path=tmp_path / f"outbox-{person}.db", now=ctx.clock.now)


async def until(pilot, predicate, timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds (workers and live events included)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise AssertionError("the screen did not get there in time")
        await pilot.pause(0.02)


def counter_screen(app):
    from screens.counter import CounterScreen

    return next((s for s in app.screen_stack if isinstance(s, CounterScreen)), None)


async def open_and_call(pilot, timeout: float = 5.0) -> None:
    """`o`, then `n` once the counter is open. The console sends each key's action as it is
    pressed, each on its own; two keys pressed in the same instant (as a Pilot presses
    them, never a person) can reach the server in either order, and a call next that
    comes first is refused: the counter is closed."""
    screen = counter_screen(pilot.app)
    await pilot.press("o")
    await until(pilot, lambda: screen.counter is not None and screen.counter.state == "open",
                timeout)
    await pilot.press("n")


async def ready(pilot) -> None:
    await until(pilot, lambda: counter_screen(pilot.app) is not None
                and pilot.app.screen is counter_screen(pilot.app)
                and pilot.app.connection == "online")


def screen_text(app) -> str:
    """Everything the terminal shows now, as plain text."""
    from textual.widgets import DataTable, Label, OptionList, Static

    from widgets.status_bar import StatusBar

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, DataTable):
            for row in widget.ordered_rows:
                parts.append(" ".join(str(c) for c in widget.get_row(row.key)))
        elif isinstance(widget, StatusBar):
            parts.append(widget.render().plain)
        elif isinstance(widget, (Static, Label)):
            parts.append(plain(widget.content))
        elif isinstance(widget, OptionList):
            parts += [str(o.prompt) for o in widget.options]
    return "\n".join(parts)


def queue_text(app) -> str:
    from widgets.queue_table import QueueTable

    table = counter_screen(app).query_one(QueueTable)
    return "\n".join(" ".join(str(c) for c in table.get_row(r.key))
                     for r in table.ordered_rows)


def plain(renderable) -> str:
    """A renderable as the terminal would show it, without styles."""
    from rich.console import Console

    if isinstance(renderable, str):
        return renderable
    c = Console(width=120, record=True, file=io.StringIO())
    c.print(renderable)
    return c.export_text()


def card_text(app) -> str:
    from rich.console import Console

    from widgets.citizen_card import CitizenCard

    card = counter_screen(app).query_one(CitizenCard)
    c = Console(width=120, record=True, file=io.StringIO())
    c.print(card.shown)
    return c.export_text()


def told(app) -> str:
    return "\n".join(app.told)
