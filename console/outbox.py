"""The offline outbox: actions on a known visit made while the backend cannot be reached.

Kept in a local SQLite file with the user's time and the action's Idempotency-Key, and
replayed in order, each exactly once (the key makes a repeat harmless), when the backend
is back — also after the console was killed and restarted. A replay the backend rejects
(the visit moved meanwhile) is kept with the backend's reason and shown, never dropped.
Actions that need the backend to decide are refused offline. Synchronous: callers run
it off the event loop. No Textual here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from . import errors
from .client import SkrankeClient

#: Actions that may wait in the outbox: they act on a visit the console already knows.
OFFLINE_OK = frozenset({"finish", "no_show", "document", "note", "park"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT,
    occurred_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    code TEXT
)"""


def default_path() -> Path:
    return platformdirs.user_data_path("skranke", appauthor=False) / "outbox.db"


@dataclass(frozen=True)
class Action:
    id: int
    key: str
    kind: str
    label: str
    method: str
    path: str
    body: Any
    occurred_at: datetime
    state: str
    reason: str | None
    code: str | None


class RefusedOffline(errors.Offline):
    """An action that needs the backend to decide was tried while it cannot be reached."""


class Outbox:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or default_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one use, closed after it. (sqlite3's own `with` commits but
        does not close, and since Python 3.11 a connection is in a reference cycle with its
        statement cache: an unclosed one kept the outbox's file and its WAL open until the
        garbage collector ran. The replay every 15 s opens two, so once the day was quiet
        the console held up to 37 files; issue 26's soak.)"""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:
                yield db
        finally:
            db.close()

    def add(self, kind: str, label: str, method: str, path: str, body: Any, key: str,
            occurred_at: datetime) -> None:
        if kind not in OFFLINE_OK:
            raise RefusedOffline(f"'{label}' needs the backend to decide; it is not reachable.",
                                 code="refused_offline")
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO actions (key, kind, label, method, path, body,"
                       " occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key, kind, label, method, path, json.dumps(body),
                        occurred_at.isoformat()))

    def _rows(self, where: str, *args: Any) -> list[Action]:
        with self._db() as db:
            rows = db.execute(f"SELECT id, key, kind, label, method, path, body, occurred_at,"
                              f" state, reason, code FROM actions WHERE {where} ORDER BY id",
                              args).fetchall()
        return [Action(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]),
                       datetime.fromisoformat(r[7]), r[8], r[9], r[10]) for r in rows]

    def pending(self) -> list[Action]:
        return self._rows("state = 'pending'")

    def rejected(self) -> list[Action]:
        return self._rows("state = 'rejected'")

    def dismiss(self, action_id: int) -> None:
        """The user has read a rejected replay and let it go."""
        with self._db() as db:
            db.execute("UPDATE actions SET state = 'dismissed' WHERE id = ? AND "
                       "state = 'rejected'", (action_id,))

    def _mark(self, action_id: int, state: str, reason: str | None = None,
              code: str | None = None) -> None:
        with self._db() as db:
            db.execute("UPDATE actions SET state = ?, reason = ?, code = ? WHERE id = ?",
                       (state, reason, code, action_id))

    async def replay(self, client: SkrankeClient) -> tuple[int, int]:
        """Send what waits, in order. Returns (applied, rejected); stops while offline."""
        import asyncio

        applied = rejected = 0
        for action in await asyncio.to_thread(self.pending):
            try:
                await client.request(action.method, action.path, json=action.body,
                                     key=action.key, occurred_at=action.occurred_at)
            except (errors.Offline, errors.Unknown):
                break  # tried again later with the same key
            except errors.ApiError as exc:
                await asyncio.to_thread(self._mark, action.id, "rejected",
                                        errors.said(exc), exc.code)
                rejected += 1
                continue
            await asyncio.to_thread(self._mark, action.id, "done")
            applied += 1
        return applied, rejected


async def perform(client: SkrankeClient, outbox: Outbox, kind: str, label: str, method: str,
                  path: str, body: Any = None, key: str | None = None) -> Any:
    """Do an action now, or keep it for later if the backend cannot be reached (no attempt
    left the console; one that was sent and not answered raises errors.Unknown).

    Returns the backend's answer, or None when the action waits in the outbox. Raises
    RefusedOffline for actions that cannot wait.
    """
    import asyncio

    key = key or str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        return await client.request(method, path, json=body, key=key, occurred_at=now)
    except errors.Offline:
        await asyncio.to_thread(outbox.add, kind, label, method, path, body, key, now)
        return None
