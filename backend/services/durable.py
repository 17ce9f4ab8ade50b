"""Group commit: this process's SQLite commits made durable before their answers, several
commits to one fsync.

With `synchronous=FULL` every commit waits for its own fsync while it holds the write lock,
so the next write waits for it too; under load that was a third of the writer's time. While
the server runs, commits skip it (`synchronous=NORMAL`, storage/db.py `group_commit`) and a
write's answer waits here until an fsync of the write-ahead log that began after its commit
has finished: one fsync covers every commit that came before it, and it runs on its own
thread while the next writes go on. An answer still means the change is on disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor


class GroupSync:
    def __init__(self, sync: Callable[[], None], executor: Executor) -> None:
        self.sync = sync
        self.executor = executor
        self.requested = 0  # commits asked for, in the order they asked
        self.synced = 0  # every commit up to this one is on disk
        self.waiters: list[tuple[int, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def durable(self) -> None:
        """Return when every commit made before this call is on disk."""
        self.requested += 1
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((self.requested, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.synced < self.requested:
            target = self.requested  # every commit counted so far came before this fsync
            try:
                await loop.run_in_executor(self.executor, self.sync)
            except Exception as exc:  # noqa: BLE001 - told to each waiting answer
                waiting, self.waiters = self.waiters, []
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                self.synced = target
                continue
            self.synced = target
            still = []
            for n, future in self.waiters:
                if n <= target:
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((n, future))
            self.waiters = still
