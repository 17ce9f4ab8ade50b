"""The console's heartbeat to the backend, and the floor's view of every console.

Every `PRESENCE_SECONDS`, and at once when its actions waiting for an answer change, a
console tells the backend it is there, at which counter, and which of its actions were
sent and not yet answered (console/unknown.py): kind, time sent, visit id and ticket;
never a citizen's name or CPR number. The backend keeps it in memory (backend/api/
presence.py), so it gets through while the database is held or its disk is full. The
supervisor's floor reads all consoles and shows per counter what waits for an answer and
which console has not been heard from. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import errors
from .client import SkrankeClient
from .i18n import N_, _

log = logging.getLogger("skranke.console")

#: Seconds between heartbeats (the backend says "not heard" after 20 s: four missed).
PRESENCE_SECONDS = 5.0
#: A heartbeat's own time limit: a slow one must not delay the next.
HEARTBEAT_TIMEOUT = 4.0

#: An action's name on the floor, in the floor's language (the sender's label is in the
#: sender's): the same words as the keys' (console/commands.py).
KINDS = {"call_next": N_("Call next"), "open": N_("Open counter"), "close": N_("Close counter"),
         "pause": N_("Pause counter"), "check_in": N_("Check in"), "finish": N_("Finish"),
         "no_show": N_("No-show"), "walk_out": N_("Left"), "move": N_("Move"),
         "call": N_("Call to"), "priority": N_("Priority"), "document": N_("Document"),
         "walkin": N_("Walk-in"), "undo": N_("Undo"), "start": N_("Arrived"),
         "recall": N_("Recall"), "requeue": N_("Requeue"), "park": N_("Park"),
         "resume": N_("Resume")}


class Heartbeat:
    """One console's heartbeat: `run` forever, `poke` when its waiting actions change."""

    def __init__(self, client: SkrankeClient, site: str, counter: int | None,
                 pending: Callable[[], list[dict[str, Any]]],
                 every: float = PRESENCE_SECONDS) -> None:
        self.client, self.site, self.counter = client, site, counter
        self.pending, self.every = pending, every
        self._poked = asyncio.Event()

    def poke(self) -> None:
        self._poked.set()

    async def beat(self) -> bool:
        """Say it once; True when the backend heard it."""
        body = {"counter": self.counter, "pending": self.pending()[:20]}
        try:
            await asyncio.wait_for(self.client.request(
                "PUT", f"/sites/{self.site}/consoles/presence", json=body, attempts=1),
                HEARTBEAT_TIMEOUT)
        except (errors.ApiError, TimeoutError, ValueError) as exc:
            log.debug("heartbeat not heard: %r", exc)
            return False
        return True

    async def run(self) -> None:
        while True:
            self._poked.clear()
            await self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.every)

    async def goodbye(self) -> None:
        """The console closes: the floor forgets it rather than call it silent."""
        params = {"counter": self.counter} if self.counter is not None else None
        with contextlib.suppress(errors.ApiError, TimeoutError):
            await asyncio.wait_for(self.client.request(
                "DELETE", f"/sites/{self.site}/consoles/presence", params=params, attempts=1),
                1.0)


def pending_of(unknowns: Any, ticket: Callable[[int], str | None]) -> list[dict[str, Any]]:
    """The heartbeat's list of actions waiting for their answer (console/unknown.py)."""
    if unknowns is None:
        return []
    return [{"kind": p.kind, "label": p.label[:60], "sent_at": p.sent_at.isoformat(),
             "visit_id": p.visit_id,
             "ticket": ticket(p.visit_id) if p.visit_id is not None else None,
             "reason": (p.reason or "")[:120] or None, "overdue": p.overdue}
            for p in unknowns.pending.values()]


def floor_lines(answer: dict[str, Any], counter_name: Callable[[int], str]) -> list[str]:
    """The floor's lines for the consoles' answer (`GET /sites/{site}/consoles`): per
    counter, each action waiting for its answer, and a console not heard from lately."""
    from .present import hhmm

    lines: list[tuple[int, str]] = []
    stale = answer.get("stale_after", 20)
    for c in answer.get("consoles", []):
        number = c.get("counter")
        if number is None:
            continue
        name = counter_name(number)
        for p in c.get("pending", []):
            known = KINDS.get(p["kind"])
            action = _(known) if known else p["label"]
            try:
                sent = hhmm(datetime.fromisoformat(p["sent_at"]))
            except ValueError:
                sent = "?"
            text = _("{counter}: ⧗ {action} sent {time} — no answer yet").format(
                counter=name, action=action, time=sent)
            if p.get("ticket"):
                text += f" ({p['ticket']})"
            lines.append((number, text))
        if answer.get("complete", True) and c.get("silent_seconds", 0) > stale:
            lines.append((number, _("{counter}: the console not heard for {n} s").format(
                counter=name, n=int(c["silent_seconds"]))))
    return [text for _n, text in sorted(lines, key=lambda x: x[0])]
