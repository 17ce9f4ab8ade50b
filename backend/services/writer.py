"""The one thread that runs the server's write transactions.

The event loop never waits on a database lock, an fsync or a busy timeout: it hands a
write (a plain function that opens its own transaction, storage/db.py `write`) to this
thread and awaits its future, answering reads, streams and /health meanwhile. Writes run
one after another in the order they came, which is the order the database would take them
in anyway (SQLite has one write lock; on PostgreSQL they meet at the site's row).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

log = logging.getLogger("skranke.writer")
T = TypeVar("T")
_STOP = object()


class WriteThread:
    def __init__(self, name: str = "skranke-write") -> None:
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
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the one who asked
                future.set_exception(exc)
            else:
                future.set_result(result)

    def close(self, timeout: float = 30.0) -> None:
        """Finish the writes already handed over, then end the thread."""
        self._jobs.put(_STOP)
        self._thread.join(timeout)
