"""The open event streams of this process: counted apart (a cap of their own, 503 beyond
it), and each ended within seconds when its token is revoked or expires.

A token is checked when its stream opens (api/deps.py); a stream then lives for hours. One
watcher per process reads, every `period` seconds (the heartbeat or 2 s, whichever is
shorter), which of the open streams' tokens are revoked, expired or gone, in one query for
all of them, and ends those streams: the client reconnects and is refused."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import anyio
from anyio import to_thread
from sqlalchemy import or_, select

from ..domain.errors import DomainError
from ..storage.models import TokenRow
from .deps import forget_token

log = logging.getLogger("skranke.events")


class TooManyStreams(DomainError):
    status = 503
    code = "too_many_streams"


class Streams:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.open: dict[str, set[anyio.Event]] = {}
        self.count = 0
        self.period = min(ctx.settings.sse_heartbeat_seconds, 2.0)
        self.task: asyncio.Task | None = None

    @contextlib.contextmanager
    def admit(self, token_id: str) -> Iterator[anyio.Event]:
        """A stream's place (or TooManyStreams); its event is set when its token ends."""
        if self.count >= self.ctx.settings.max_event_streams:
            raise TooManyStreams("Too many event streams are open; try again shortly.",
                                 retry_after=5)
        stop = anyio.Event()
        self.open.setdefault(token_id, set()).add(stop)
        self.count += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch())
        try:
            yield stop
        finally:
            self.count -= 1
            held = self.open.get(token_id)
            if held is not None:
                held.discard(stop)
                if not held:
                    del self.open[token_id]

    async def _watch(self) -> None:
        while self.open:
            await asyncio.sleep(self.period)
            ids = list(self.open)
            if not ids:
                continue
            try:
                ended = await to_thread.run_sync(self._ended, ids)
            except Exception as exc:  # noqa: BLE001 - a busy database: look again later
                log.warning("token check of event streams failed: %s", type(exc).__name__)
                continue
            for token_id in ended:
                forget_token(token_id)
                for stop in self.open.pop(token_id, ()):
                    stop.set()
                log.info("event streams of token %s ended: revoked or expired", token_id)

    def _ended(self, ids: list[str]) -> set[str]:
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            alive = set(s.scalars(select(TokenRow.id).where(TokenRow.id.in_(ids))))
            dead = set(s.scalars(select(TokenRow.id).where(
                TokenRow.id.in_(ids),
                or_(TokenRow.revoked_at.is_not(None), TokenRow.expires_at <= now))))
        return dead | (set(ids) - alive)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
