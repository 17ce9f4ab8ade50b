"""Today's queue kept current: a day snapshot, then every event after it (SSE).

`DayModel` is pure state: load a snapshot, apply events in order, and say what changed so
a screen can repaint only those rows. `LiveDay` runs the loop: snapshot, stream from its
sequence number, resume with Last-Event-ID after a dropped connection (backoff), take a
new snapshot when the backend says `refetch` or a gap shows. The backend's queue order
decides; nothing here sorts the queue on its own. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from . import errors
from .client import SkrankeClient
from .models import Counter, Day, Visit

log = logging.getLogger("skranke.live")


class Gap(Exception):
    """An event arrived out of sequence: the model must be reloaded."""


@dataclass
class Change:
    visits: set[int] = field(default_factory=set)
    counters: set[int] = field(default_factory=set)
    order: bool = False
    reloaded: bool = False
    #: visits the events named that the model does not know yet (fetch their details)
    unknown: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.visits or self.counters or self.order or self.reloaded)


class DayModel:
    def __init__(self) -> None:
        self.seq = -1
        self.visits: dict[int, Visit] = {}
        self.counters: dict[int, Counter] = {}
        self.queue: list[int] = []  # waiting visit ids, the backend's order
        self.opening: tuple = ()
        self._ids: list[int] = []  # every visit id, sorted (kept by ordered())

    def load(self, day: Day) -> Change:
        self.seq = day.seq
        self.opening = day.opening
        self.visits = {v.id: v for v in day.visits}
        self._ids = []
        self.counters = {c.id: c for c in day.counters}
        waiting = [v for v in day.visits if v.queue_rank is not None]
        self.queue = [v.id for v in sorted(waiting, key=lambda v: v.queue_rank)]
        return Change(reloaded=True, order=True)

    def apply(self, seq: int, data: dict[str, Any]) -> Change | None:
        """One event; None when it was already applied. Raises Gap when one is missing."""
        if seq <= self.seq:
            return None
        if seq != self.seq + 1:
            raise Gap(f"expected event {self.seq + 1}, got {seq}")
        self.seq = seq
        change = Change()
        if "counter" in data:
            counter = Counter.model_validate(data["counter"])
            self.counters[counter.id] = counter
            change.counters.add(counter.id)
        if "visit" in data:
            ev = data["visit"]
            known = self.visits.get(ev["id"])
            if known is None:
                change.unknown.add(ev["id"])
            else:
                fields = {k: v for k, v in ev.items()
                          if k in Visit.model_fields and k != "documents"}
                merged = known.model_dump() | fields
                if "documents" in ev:  # keep the names the snapshot brought
                    names = {d.code: d for d in known.documents}
                    merged["documents"] = [
                        (names[d["code"]].model_dump() | d) if d["code"] in names else d
                        for d in ev["documents"]]
                self.visits[ev["id"]] = Visit.model_validate(merged)
            change.visits.add(ev["id"])
        if "estimates" in data:  # the planner's expected call times of the waiting walk-ins
            for key, at in data["estimates"].items():
                v = self.visits.get(int(key))
                when = datetime.fromisoformat(at) if at else None
                if v is not None and v.estimated_call_at != when:
                    self.visits[v.id] = v.model_copy(update={"estimated_call_at": when})
                    change.visits.add(v.id)
        if "queue" in data:
            old = self.queue
            self.queue = list(data["queue"])
            if old != self.queue:
                change.order = True
                ranks = {vid: i for i, vid in enumerate(self.queue, start=1)}
                for vid in set(old) | set(self.queue):
                    v = self.visits.get(vid)
                    if v is not None and v.queue_rank != ranks.get(vid):
                        self.visits[vid] = v.model_copy(update={"queue_rank": ranks.get(vid)})
                        change.visits.add(vid)
        return change

    def add(self, visit: Visit) -> None:
        rank = self.queue.index(visit.id) + 1 if visit.id in self.queue else None
        self.visits[visit.id] = visit.model_copy(update={"queue_rank": rank})

    def ordered(self) -> list[Visit]:
        """Waiting visits in the backend's order, then the rest by ticket time."""
        visits = self.visits
        if len(self._ids) != len(visits):  # a visit came or the day was loaded
            self._ids = sorted(visits)
        waiting = [visits[i] for i in self.queue if i in visits]
        queued = set(self.queue)
        return waiting + [visits[i] for i in self._ids if i not in queued]


class LiveDay:
    """Keeps a DayModel current; calls `on_change(change)` after every applied change."""

    def __init__(self, client: SkrankeClient, on_change: Callable[[Change], Any],
                 on_status: Callable[[str], Any] | None = None,
                 max_backoff: float = 10.0) -> None:
        self.client = client
        self.model = DayModel()
        self.on_change = on_change
        self.on_status = on_status or (lambda status: None)
        self.max_backoff = max_backoff
        self.status = "connecting"
        self._response: httpx.Response | None = None
        self.reloads = 0

    def _set(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.on_status(status)

    async def reload(self) -> None:
        self.on_change(self.model.load(await self.client.day()))
        self.reloads += 1

    async def run(self, snapshot: bool = True) -> None:
        """Forever: snapshot (unless the model is already loaded), then the stream.

        A stream without a byte for the client's `stream_silence` (heartbeats come every
        5 s) or an answer that does not come is "silent": a frozen server or a dead
        connection. After a silence or a refused connection the day is read again before
        the stream is, so "online" means both answered; a plain drop resumes from
        Last-Event-ID."""
        backoff = 0.5
        need_snapshot = snapshot
        while True:
            try:
                if need_snapshot:
                    await self.reload()
                    need_snapshot = False
                need_snapshot = await self._stream()
                backoff = 0.5
            except (httpx.TimeoutException, errors.Offline, httpx.TransportError,
                    httpx.StreamError, httpx.HTTPStatusError) as exc:
                if isinstance(exc, httpx.TimeoutException) or \
                        (isinstance(exc, errors.Offline) and exc.code == "timeout"):
                    self._set("silent")  # connected, but nothing comes
                    need_snapshot = True
                else:
                    self._set("offline" if backoff >= self.max_backoff else "reconnecting")
                    if isinstance(exc, (httpx.ConnectError, errors.Offline)):
                        need_snapshot = True  # the server was away: read the day again
                log.info("event stream interrupted: %s", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Gap:
                need_snapshot = True
            except (ValueError, KeyError, errors.ApiError) as exc:
                # a malformed event or a refused snapshot: start again from a snapshot
                log.warning("event stream: %s; taking a new snapshot", type(exc).__name__)
                self._set("reconnecting")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                need_snapshot = True

    async def _stream(self) -> bool:
        """Listen until the stream ends; True when a new snapshot is needed."""
        async with self.client.events(self.model.seq) as source:
            source.response.raise_for_status()
            self._response = source.response
            self._set("online")
            async for sse in source.aiter_sse():
                if sse.event == "refetch":
                    return True
                if not sse.data:  # a heartbeat (httpx-sse repeats the last id on comments)
                    continue
                data = json.loads(sse.data)
                change = self.model.apply(int(sse.id), data)
                if change is None:
                    continue
                for vid in change.unknown:
                    with contextlib.suppress(errors.ApiError):
                        self.model.add(await self.client.visit(vid))
                self.on_change(change)
        return False

    async def drop(self) -> None:
        """Close the current stream (as a network failure would); run() resumes it."""
        if self._response is not None:
            await self._response.aclose()
