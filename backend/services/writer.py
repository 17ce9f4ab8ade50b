"""The one thread that runs the server's write transactions.

The event loop never waits on a database lock, an fsync or a busy timeout: it hands a
write (a plain function that opens its own transaction, storage/db.py `write`) to this
thread and awaits its future, answering reads, streams and /health meanwhile. Writes run
one after another in the order they came, which is the order the database would take them
in anyway (SQLite has one write lock; on PostgreSQL they meet at the site's row).

On SQLite the writes waiting when the thread turns to them run together in one
transaction, a SAVEPOINT each (a refused write rolls back only its own), with one COMMIT:
with synchronous=FULL each COMMIT is an fsync (about 4 ms here), and one per write capped
the server below the 100 req/s the benchmark offers (measured: docs/performance.md). A
write that fails past its savepoint (a database error, not a rule's refusal) has the batch
rolled back and its writes run again, one transaction each. Answers go out after the
COMMIT. On PostgreSQL every write commits alone (storage/db.py `Database.batch` says why).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from ..domain.errors import DomainError

log = logging.getLogger("skranke.writer")
T = TypeVar("T")
_STOP = object()


#: At most this many writes share a transaction.
MAX_BATCH = 64


class WriteThread:
    def __init__(self, batch: Callable[[], AbstractContextManager[Any]] | None = None,
                 name: str = "skranke-write") -> None:
        #: Database.batch (on SQLite), or None: every write alone.
        self._batch = batch
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run `fn(*args)` on the write thread; its result or exception in the future."""
        future: Future[T] = Future()
        self._jobs.put((fn, args, future))
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the write thread, awaited without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            jobs, stop = [job], False
            while len(jobs) < MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                jobs.append(more)
            jobs = [j for j in jobs if j[2].set_running_or_notify_cancel()]
            if not (len(jobs) > 1 and self._batch is not None and self._together(jobs)):
                for fn, args, future in jobs:
                    _settle(future, *_call(fn, args))
            if stop:
                return

    def _together(self, jobs: list) -> bool:
        """Run `jobs` in one batch; False (nothing kept, nothing answered) if it broke."""
        outcomes = []
        try:
            with self._batch() as batch:
                for fn, args, future in jobs:
                    ok, value = _call(fn, args)
                    if batch.broken or not (ok or isinstance(value, DomainError)):
                        batch.broken = True  # rolled back whole
                        return False
                    outcomes.append((future, ok, value))
            if batch.broken:
                return False
        except Exception:  # noqa: BLE001 - the COMMIT failed: each alone tells its own
            log.warning("a batch of %d writes failed; running them one by one", len(jobs))
            return False
        for future, ok, value in outcomes:
            _settle(future, ok, value)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Finish the writes already handed over, then end the thread."""
        self._jobs.put(_STOP)
        self._thread.join(timeout)


def _call(fn: Callable[..., Any], args: tuple) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the one who asked
        return False, exc


def _settle(future: Future, ok: bool, value: Any) -> None:
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
