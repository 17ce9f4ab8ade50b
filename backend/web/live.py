"""The waiting room's live state: one room per site, shared by every display and ticket
page of that site in this process.

A room follows the site's event stream (services/events.py) and, after each batch of
events, reads the day once and derives the display's board and every open ticket's status
(views.py); each device's stream then sends what changed for it. Every message is a whole
state, not a change, so a device that missed some (a dropped connection, a restarted
server) is right again with the next one, and nothing grows with the day's length."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from anyio import to_thread
from sqlalchemy import select

from ..services.events import Refetch
from ..storage.models import SiteRow
from . import views

log = logging.getLogger("skranke.web")

#: Without events the room is read again this often (the clock moves the estimates).
REFRESH_SECONDS = 30.0


class Room:
    def __init__(self, live: Live, site_id: str) -> None:
        self.live, self.site_id = live, site_id
        self.board: dict[str, Any] | None = None
        self.tickets: dict[int, dict[str, Any]] = {}
        self.changed = asyncio.Event()
        self.ready = asyncio.Event()
        self.tasks = [asyncio.create_task(self._follow()),
                      asyncio.create_task(self._refresh_every()),
                      asyncio.create_task(self._follow_plans())]

    def _read(self) -> int:
        ctx = self.live.ctx
        plans = ctx.plans
        with ctx.db.read() as s:
            seq = s.scalar(select(SiteRow.event_seq).where(SiteRow.id == self.site_id)) or 0
            published = plans.latest(self.site_id) if plans is not None else None
            board, tickets = views.snapshot(s, ctx, self.site_id, ctx.clock.now(), published)
        self.board, self.tickets = board, tickets
        return seq

    async def refresh(self) -> int:
        seq = await to_thread.run_sync(self._read)
        old, self.changed = self.changed, asyncio.Event()
        old.set()
        self.ready.set()
        return seq

    async def _follow(self) -> None:
        hub = self.live.hub
        while True:
            try:
                seq = await self.refresh()
                async for item in hub.listen(self.site_id, seq):
                    if isinstance(item, Refetch):
                        break  # read the day again and listen on from there
                    if all(e.type == "queue.plan" for e in item):
                        continue  # a plan changes no row read here: _follow_plans reads it
                    await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the room must outlive a bad read
                log.exception("waiting room %s: reading the day failed", self.site_id)
                await asyncio.sleep(1.0)

    async def _follow_plans(self) -> None:
        """Read the day again when this process keeps a new plan (places, expected times):
        the plan's event alone may be read before the plan is kept."""
        plans = self.live.ctx.plans
        if plans is None:
            return
        while True:
            await plans.next_plan(self.site_id)
            with contextlib.suppress(Exception):
                await self.refresh()

    async def _refresh_every(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            with contextlib.suppress(Exception):
                await self.refresh()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class Live:
    def __init__(self, ctx, hub) -> None:
        self.ctx, self.hub = ctx, hub
        self.rooms: dict[str, Room] = {}

    async def room(self, site_id: str) -> Room:
        room = self.rooms.get(site_id)
        if room is None:
            room = self.rooms[site_id] = Room(self, site_id)
        await asyncio.wait_for(room.ready.wait(), 10)
        return room

    async def close(self) -> None:
        rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            await room.close()
