"""Actions sent but not answered: followed with their one Idempotency-Key to the real answer.

A write whose request left but whose answer did not come (no answer in time, a cut or
reset connection, a 5xx, a 503 "databasen er optaget") may or may not have been applied:
it is *unknown*, never failed. `Unknowns.send` makes the request; on `errors.Unknown` it
keeps the action as `Pending` (the screens show it on the status bar and its row), sends
it again with the same key with backoff (the backend answers a repeated key with the
original answer when it was applied) until a definite answer — done (2xx) or refused
(4xx) — and then returns or raises exactly as if that answer had come at once. After
`warn_after` seconds the pending action is flagged `overdue` so it is shown plainly.
No Textual here.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import errors
from .client import SkrankeClient


@dataclass
class Pending:
    key: str
    kind: str
    label: str
    method: str
    path: str
    body: Any
    sent_at: datetime
    started: float = field(default_factory=time.monotonic)
    attempts: int = 1
    #: the server's own words with its last non-answer (a 503's reason), if any
    reason: str | None = None
    overdue: bool = False

    @property
    def visit_id(self) -> int | None:
        """The visit the action concerns (its row), None for counter actions."""
        parts = self.path.split("/")
        if len(parts) > 2 and parts[1] == "visits" and parts[2].isdigit():
            return int(parts[2])
        return None


class Unknowns:
    """The actions of one console that wait for their answer, and the loop that gets it."""

    def __init__(self, client: SkrankeClient, on_change: Callable[[], Any] | None = None,
                 *, warn_after: float = 120.0, first_wait: float = 0.5,
                 max_wait: float = 5.0, now: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self.on_change = on_change or (lambda: None)
        self.warn_after = warn_after
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.now = now or datetime.now
        self.pending: dict[str, Pending] = {}

    def like(self, method: str, path: str) -> Pending | None:
        """The pending action with this method and path: the same action is never sent
        twice under two keys (a second call next while the first is unknown)."""
        return next((p for p in self.pending.values()
                     if p.method == method and p.path == path), None)

    def visits(self) -> set[int]:
        return {p.visit_id for p in self.pending.values() if p.visit_id is not None}

    async def send(self, kind: str, label: str, method: str, path: str, body: Any = None,
                   key: str | None = None, first: errors.Unknown | None = None) -> Any:
        """The backend's answer to the action; raises its refusal (errors.ApiError but not
        Unknown); errors.Offline only when the request never left (nothing happened).
        `first`: the action was already sent once with `key` and ended unknown."""
        key = key or str(uuid.uuid4())
        if first is None:
            try:
                return await self.client.request(method, path, json=body, key=key)
            except errors.Unknown as exc:
                first = exc
        pending = Pending(key, kind, label, method, path, body, self.now(),
                          reason=first.reason)
        self.pending[key] = pending
        self.on_change()
        try:
            return await self._follow(pending, first)
        finally:
            del self.pending[key]
            self.on_change()

    async def _follow(self, p: Pending, last: errors.ApiError) -> Any:
        wait = self.first_wait
        while True:
            after = last.retry_after if isinstance(last, errors.Unknown) else None
            pause = min(after if after is not None else wait, self.max_wait)
            await asyncio.sleep(pause * random.uniform(0.8, 1.2))
            wait = min(wait * 2, self.max_wait)
            try:
                return await self.client.request(p.method, p.path, json=p.body, key=p.key,
                                                 attempts=1)
            except (errors.Unknown, errors.Offline) as exc:
                # Offline now (the server restarting) says nothing of the first attempt
                last = exc
                p.attempts += 1
                reason = exc.reason if isinstance(exc, errors.Unknown) else None
                overdue = time.monotonic() - p.started >= self.warn_after
                if reason != p.reason or overdue != p.overdue:
                    p.reason, p.overdue = reason, overdue
                    self.on_change()
