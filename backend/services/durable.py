"""Group commit: this process's SQLite commits made durable before their answers, several
commits to one fsync.

With `synchronous=FULL` every commit waits for its own fsync while it holds the write lock,
so the next write waits for it too; under load that was a third of the writer's time. While
the server runs, commits skip it (`synchronous=NORMAL`, storage/db.py `group_commit`) and a
write's answer waits here until an fsync of the write-ahead log that began after its commit
has finished: one fsync covers every commit that came before it. An answer still means the
change is on disk.

This module's `GroupSync` runs the fsyncs on a thread (Windows); on POSIX its subclass
services/fsync_process.py runs them in a process of their own. Either way they run back
to back while commits wait: the next fsync does not wait for the event loop to hear of
the last one. (Handed to an executor by the loop, each fsync waited for the loop's turn
to start it: under load a write's answer waited 10 ms for a 1 ms fsync, measured.)

While the event loop is busy, the waiting answer looks for its fsync once per turn of it
(for up to SPIN_SECONDS), and only then asks the thread to wake it. A wake-up from the
thread runs in the loop's next turn and the answer in the turn after that: under load each
turn is long, and that second turn was half the wait (p50 2-8 ms, p99 33-47 ms at 200
req/s, measured). Looking for it itself, the answer goes on in the first turn after the
fsync. On an idle loop (a turn shorter than BUSY_TURN_SECONDS) it asks to be woken at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable

#: How long a waiting answer looks for its fsync at each turn of the event loop before it
#: asks the fsync thread to wake it (a slow disk: the loop then sleeps when idle).
SPIN_SECONDS = 0.05
#: A turn of the loop shorter than this means it had nothing else to do: the answer then
#: asks to be woken at once, rather than keep the loop spinning until the fsync ends (the
#: two hand-offs of a wake-up cost little on an idle loop).
BUSY_TURN_SECONDS = 0.0002


class GroupSync:
    def __init__(self, sync: Callable[[], None], name: str = "skranke-fsync") -> None:
        self.sync = sync
        self.name = name
        self.requested = 0  # commits asked for, in the order they asked (the loop's count)
        #: Answers that stopped looking for their fsync and wait to be woken.
        self.waiters: deque[tuple[int, asyncio.Future]] = deque()
        #: The last commit an fsync has made durable, and the last one a failed fsync
        #: covered with its error (set by the thread, read by the waiting answers).
        self.synced = 0
        self.failed: tuple[int, Exception | None] = (0, None)
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
        mine = self.requested
        loop = asyncio.get_running_loop()
        self._ask(mine, loop)
        now = time.perf_counter()  # the loop's own clock may count whole milliseconds (uvloop)
        give_up, turn = now + SPIN_SECONDS, BUSY_TURN_SECONDS
        while self.synced < mine and mine > self.failed[0]:
            if turn < BUSY_TURN_SECONDS or now >= give_up:  # an idle loop, or a slow disk
                future = loop.create_future()
                self.waiters.append((mine, future))
                # the thread marks an fsync done before it looks for waiters to wake
                if self.synced < mine and mine > self.failed[0]:
                    await future
                else:  # done meanwhile: nobody will look at this one
                    future.cancel()
                return self._check(mine)
            await asyncio.sleep(0)  # one turn of the loop: the others go on meanwhile
            turn, now = time.perf_counter() - now, time.perf_counter()
        self._check(mine)

    def _ask(self, mine: int, loop: asyncio.AbstractEventLoop) -> None:
        """Have an fsync begin after this moment (the thread's, started on first use)."""
        if self._thread is None:
            self.loop = loop
            self._thread = threading.Thread(target=self._syncing, name=self.name, daemon=True)
            self._thread.start()
        with self._cond:
            self._wanted = mine
            self._cond.notify()

    def _check(self, mine: int) -> None:
        upto, error = self.failed
        if mine <= upto and error is not None:
            raise error

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
            if error is None:
                self.synced = target
            else:  # these commits may be lost (a later fsync does not vouch for them)
                self.failed = (target, error)
            if not self.waiters:
                continue
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
