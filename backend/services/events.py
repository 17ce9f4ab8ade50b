"""The event feed: rows of the event-log table, fanned out to SSE listeners.

The stream reads the table, so several server processes on one database serve the same
stream: each process has one reader per site, woken at once by its own commits and every
`poll_seconds` for the others'. Listeners get a bounded queue each; one that falls too far
behind is told to refetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from sqlalchemy import func, select

from .. import json_codec
from ..storage.models import EventRow, SiteRow

log = logging.getLogger("skranke.events")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    at: str
    data: dict[str, Any]
    #: The whole SSE frame, encoded once for every listener.
    frame: bytes = b""


@dataclass(frozen=True, slots=True)
class Refetch:
    reason: str
    seq: int


def _event(seq: int, type_: str, at: datetime, data: dict[str, Any]) -> Event:
    at_text = at.astimezone(UTC).isoformat()  # as the table hands it out: aware UTC
    payload = json_codec.dumps({"seq": seq, "at": at_text, **data})
    frame = f"id: {seq}\nevent: {type_}\ndata: {payload}\n\n".encode()
    return Event(seq=seq, type=type_, at=at_text, data=data, frame=frame)


def _row(r: EventRow) -> Event:
    return _event(r.seq, r.type, r.at, r.data)


#: Events closer together than this go out to the listeners together: each listener is
#: woken at most this often per site. Sending is the cost (about 30 µs per listener and
#: wake-up, measured: with 50 listeners and 200 changes a second, a third of a core), so
#: under load a few events share one send; an event after a quiet moment goes at once.
FLUSH_SECONDS = 0.02


class _Subscriber:
    def __init__(self, size: int) -> None:
        #: Batches of events in order; None: too slow, told to refetch.
        self.queue: asyncio.Queue[list[Event] | None] = asyncio.Queue(size)
        self.overflow = False


class _SiteFeed:
    def __init__(self, hub: EventHub, site_id: str) -> None:
        self.hub, self.site_id = hub, site_id
        self.wake = asyncio.Event()
        self.subscribers: set[_Subscriber] = set()
        self.last_seq: int | None = None
        self.task: asyncio.Task | None = None
        self.pending: list[Event] = []
        self.flush_at: asyncio.TimerHandle | None = None
        self.flushed = float("-inf")  # the loop's time of the last send
        self.failing = False  # the last read of the log failed
        #: The log's last seq when the feed started: it sends on only what comes after.
        self.start_seq: int | None = None

    async def run(self) -> None:
        """Read the log when woken (or every poll_seconds). A read that fails (a busy or
        unreachable database) is tried again after poll_seconds: the feed must not end,
        since its listeners would hear nothing more while their streams stay open."""
        while self.last_seq is None:
            self.last_seq = await self._read(self.hub.current_seq, self.site_id)
        # what was committed before this read is never sent on by the feed: a listener that
        # came earlier reads it from the table (EventHub.listen), woken here to do so
        self.start_seq = self.last_seq
        for sub in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait([])
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.hub.poll_seconds)
            self.wake.clear()
            rows = await self._read(self.hub.fetch, self.site_id, self.last_seq, 1000)
            if rows is None:
                self.wake.set()  # read again at once after the pause
                continue
            self.fan_out(rows)
            if len(rows) == 1000:
                self.wake.set()

    async def _read(self, fn, *args):
        """`fn(*args)` in a worker thread; None (after a pause) if the database failed. One
        log line when reads start failing and one when they work again."""
        try:
            value = await to_thread.run_sync(fn, *args)
        except Exception as exc:  # noqa: BLE001 - the feed outlives a bad moment
            if not self.failing:
                log.warning("event feed of site %s cannot read the log (%s); trying again "
                            "every %.1f s", self.site_id, type(exc).__name__,
                            self.hub.poll_seconds)
            self.failing = True
            await asyncio.sleep(self.hub.poll_seconds)
            return None
        if self.failing:
            log.warning("event feed of site %s reads the log again", self.site_id)
            self.failing = False
        return value

    def push(self, events: list[Event]) -> None:
        """Events this process just committed, in order: sent on at once when they follow
        the last one sent; after a gap (another process wrote) the table is read."""
        if self.last_seq is None:  # not started: its first read may have missed these
            self.wake.set()  # so it reads the log again once it has started
            return
        if events[-1].seq <= self.last_seq:
            return  # already sent
        if events[0].seq > self.last_seq + 1:
            self.wake.set()
            return
        self.fan_out([ev for ev in events if ev.seq > self.last_seq])

    def fan_out(self, rows: list[Event]) -> None:
        """Queue the events after the last one sent, to go out now or, if the last send
        was less than FLUSH_SECONDS ago, with the others that come until then."""
        for ev in rows:
            if ev.seq > self.last_seq:
                self.pending.append(ev)
                self.last_seq = ev.seq
        if not self.pending or self.flush_at is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self.flushed + FLUSH_SECONDS - loop.time()
        if wait <= 0:
            self.flush()
        else:
            self.flush_at = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        self.flush_at = None
        batch, self.pending = self.pending, []
        self.flushed = asyncio.get_running_loop().time()
        if not batch:
            return
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait(batch)
            except asyncio.QueueFull:  # too slow: drop it, it will be told to refetch
                self.subscribers.discard(sub)
                sub.overflow = True
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a worker thread
        return None


class EventHub:
    def __init__(self, ctx, poll_seconds: float = 0.5, queue_size: int = 5000) -> None:
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self.loop: asyncio.AbstractEventLoop | None = None
        self.feeds: dict[str, _SiteFeed] = {}

    # --- called from any thread after a commit -------------------------------------------
    def notify(self, site_id: str | None) -> None:
        """Read the table for new events now (a commit this process did not hand over:
        another process's, told by storage/dialect.py's listener); None: every site's."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        feeds = list(self.feeds.values()) if site_id is None else [self.feeds.get(site_id)]
        for feed in feeds:
            if feed is not None:
                loop.call_soon_threadsafe(feed.wake.set)

    def committed(self, site_ids: set[str], events: list[dict[str, Any]]) -> None:
        """The events of a commit of this process, in the committing thread (the write
        thread): framed there, and sent on without reading them back."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        by_site: dict[str, list[Event]] = {}
        for r in events:
            if r["site_id"] in self.feeds:
                by_site.setdefault(r["site_id"], []).append(
                    _event(r["seq"], r["type"], r["at"], r["data"]))
        for site_id, framed in by_site.items():
            try:
                loop.call_soon_threadsafe(self.feeds[site_id].push, framed)
            except RuntimeError:  # the loop has closed: nobody listens any more
                return

    # --- database reads (run in worker threads) -----------------------------------------------
    def current_seq(self, site_id: str) -> int:
        with self.ctx.db.read() as s:
            return s.scalar(select(SiteRow.event_seq).where(SiteRow.id == site_id)) or 0

    def bounds(self, site_id: str) -> tuple[int, int]:
        """(oldest seq still in the log, newest seq)."""
        with self.ctx.db.read() as s:
            oldest = s.scalar(select(func.min(EventRow.seq)).where(EventRow.site_id == site_id))
            newest = s.scalar(select(SiteRow.event_seq).where(SiteRow.id == site_id)) or 0
        return (oldest if oldest is not None else newest + 1), newest

    def fetch(self, site_id: str, after: int, limit: int) -> list[Event]:
        with self.ctx.db.read() as s:
            rows = s.scalars(select(EventRow).where(EventRow.site_id == site_id,
                                                    EventRow.seq > after)
                             .order_by(EventRow.seq).limit(limit))
            return [_row(r) for r in rows]

    # --- listening -------------------------------------------------------------------------
    def _feed(self, site_id: str) -> _SiteFeed:
        self.loop = asyncio.get_running_loop()
        feed = self.feeds.get(site_id)
        if feed is None or feed.task is None or feed.task.done():
            feed = self.feeds[site_id] = _SiteFeed(self, site_id)
            feed.task = asyncio.create_task(feed.run())
        return feed

    async def listen(self, site_id: str, after: int | None
                     ) -> AsyncIterator[list[Event] | Refetch]:
        """Every event after `after` in order, then live ones, in batches of what is ready;
        or a Refetch and the end."""
        feed = self._feed(site_id)
        sub = _Subscriber(self.queue_size)
        feed.subscribers.add(sub)
        try:
            oldest, newest = await to_thread.run_sync(self.bounds, site_id)
            if after is None:
                after = newest
            if after > newest:
                yield Refetch("ahead_of_log", newest)
                return
            if after < oldest - 1:
                yield Refetch("too_old", newest)
                return
            sent = after
            while True:  # the backlog, in pages
                rows = await to_thread.run_sync(self.fetch, site_id, sent, 1000)
                if rows:
                    yield rows
                    sent = rows[-1].seq
                if len(rows) < 1000:
                    break
            while True:
                ready = [await sub.queue.get()]
                while not sub.queue.empty() and len(ready) < 200:
                    ready.append(sub.queue.get_nowait())
                if None in ready or sub.overflow:
                    yield Refetch("too_slow", sent)
                    return
                batch: list[Event] = []
                start = feed.start_seq
                if start is not None and sent < start:  # came before the feed started
                    batch = await to_thread.run_sync(self.fetch, site_id, sent, start - sent)
                    sent = batch[-1].seq if batch else sent
                for ev in (ev for events in ready for ev in events):
                    if ev.seq <= sent:
                        continue
                    if ev.seq != sent + 1:  # never skip silently: fill the gap from the table
                        batch += await to_thread.run_sync(self.fetch, site_id, sent,
                                                          ev.seq - sent - 1)
                    batch.append(ev)
                    sent = ev.seq
                if batch:
                    yield batch
        finally:
            feed.subscribers.discard(sub)

    async def close(self) -> None:
        for feed in self.feeds.values():
            if feed.flush_at is not None:
                feed.flush_at.cancel()
            if feed.task:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task
