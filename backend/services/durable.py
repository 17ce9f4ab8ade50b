"""Group commit: this process's SQLite commits made durable before their answers, several
commits to one fsync.

With `synchronous=FULL` every commit waits for its own fsync while it holds the write lock,
so the next write waits for it too; under load that was a third of the writer's time. While
the server runs, commits skip it (`synchronous=NORMAL`, storage/db.py `group_commit`) and a
write's answer waits here until an fsync of the write-ahead log that began after its commit
has finished: one fsync covers every commit that came before it. An answer still means the
change is on disk.

The fsyncs run on a thread of their own, back to back while commits wait: the next fsync
does not wait for the event loop to hear of the last one. (Handed to an executor by the
loop, each fsync waited for the loop's turn to start it: under load a write's answer
waited 10 ms for a 1 ms fsync, measured.)
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable


class GroupSync:
    def __init__(self, sync: Callable[[], None], name: str = "skranke-fsync") -> None:
        self.sync = sync
        self.name = name
        self.requested = 0  # commits asked for, in the order they asked (the loop's count)
        self.waiters: deque[tuple[int, asyncio.Future]] = deque()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wanted = 0  # the thread's copy of `requested`, under _cond
        self._stopping = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    async def durable(self) -> None:
        """Return when every commit made before this call is on disk."""
        if self._stopping:  # closed (the app is stopping): this answer's own fsync
            self.sync()
            return
        self.requested += 1
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((self.requested, future))
        if self._thread is None:
            self.loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._syncing, name=self.name, daemon=True)
            self._thread.start()
        with self._cond:
            self._wanted = self.requested
            self._cond.notify()
        await future

    def _syncing(self) -> None:
        done = 0
        while True:
            with self._cond:
                while self._wanted <= done and not self._stopping:
                    self._cond.wait()
                if self._wanted <= done:  # stopping, and nothing waits
                    return
                target = self._wanted  # every commit counted so far came before this fsync
            try:
                self.sync()
                error = None
            except Exception as exc:  # noqa: BLE001 - told to each answer waiting for it
                error = exc
            done = target
            try:
                self.loop.call_soon_threadsafe(self._settle, target, error)
            except RuntimeError:  # the loop has closed: nobody waits any more
                return

    def _settle(self, target: int, error: Exception | None) -> None:
        waiters = self.waiters
        while waiters and waiters[0][0] <= target:
            _, future = waiters.popleft()
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def close(self) -> None:
        """Finish the fsync that waiting answers need, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
