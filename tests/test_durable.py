"""Group commit (services/durable.py): an answer waits for an fsync that began after its
commit; one fsync serves many commits; a failed fsync fails the answers waiting for it."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest
from sqlalchemy import text

from backend.services.durable import GroupSync


def test_an_answer_waits_for_an_fsync_that_began_after_it_and_many_share_one():
    started: list[int] = []
    gate = threading.Event()
    calls = 0

    def fsync():
        nonlocal calls
        calls += 1
        started.append(calls)
        if calls == 1:
            gate.wait(5)  # the first fsync is slow; writes go on meanwhile

    async def main():
        g = GroupSync(fsync)
        first = asyncio.create_task(g.durable())
        await asyncio.sleep(0.05)  # the first fsync is running
        later = [asyncio.create_task(g.durable()) for _ in range(20)]
        await asyncio.sleep(0.05)
        assert not first.done() and not any(t.done() for t in later)
        gate.set()
        await asyncio.wait_for(asyncio.gather(first, *later), 5)
        g.close()
        return calls

    # the 20 commits made while the first fsync ran share the second one
    assert asyncio.run(main()) == 2


def test_a_failed_fsync_fails_the_answers_that_waited_for_it():
    fail = [True]

    def fsync():
        if fail[0]:
            fail[0] = False
            raise OSError("disk gone")

    async def main():
        g = GroupSync(fsync)
        with pytest.raises(OSError):
            await g.durable()
        await asyncio.wait_for(g.durable(), 5)  # the next one is synced again
        g.close()

    asyncio.run(main())


def test_a_slow_failed_fsync_fails_the_answers_that_stopped_looking_for_it():
    from backend.services.durable import SPIN_SECONDS

    calls = 0

    def fsync():
        nonlocal calls
        calls += 1
        if calls == 1:
            time.sleep(SPIN_SECONDS * 3)  # the answer gives up looking and waits to be woken
            raise OSError("disk gone")

    async def main():
        g = GroupSync(fsync)
        with pytest.raises(OSError):
            await asyncio.wait_for(g.durable(), 5)
        await asyncio.wait_for(g.durable(), 5)
        g.close()

    asyncio.run(main())


def test_an_answer_goes_on_in_the_first_turn_of_a_busy_loop_after_its_fsync():
    """Each turn of the loop takes 20 ms (a busy server); the fsync ends early in one turn
    and the answer must go on when that turn ends, not a whole turn later (a wake-up from
    the thread ran in the next turn, and the answer only in the one after)."""
    synced_at: list[float] = []

    def fsync():
        time.sleep(0.002)
        synced_at.append(time.perf_counter())

    async def busy():
        while True:
            time.sleep(0.02)  # a long turn: the loop runs nothing else meanwhile
            await asyncio.sleep(0)

    async def main():
        g = GroupSync(fsync)
        worker = asyncio.create_task(busy())
        await asyncio.sleep(0)
        waits = []
        for _ in range(10):
            await g.durable()
            waits.append(time.perf_counter() - synced_at[-1])
        worker.cancel()
        g.close()
        return waits

    waits = sorted(asyncio.run(main()))
    assert waits[len(waits) // 2] < 0.03, waits  # the rest of one turn, not two


def test_commits_skip_their_own_fsync_only_while_the_server_runs(ctx):
    def synchronous() -> int:
        with ctx.db.write() as s:
            return s.execute(text("PRAGMA synchronous")).scalar()

    assert synchronous() == 2  # FULL: a command-line write is on disk when it returns
    assert ctx.db.group_commit(True)
    try:
        assert synchronous() == 1  # NORMAL: the app's GroupSync does the fsync
        t0 = time.perf_counter()
        ctx.db.sync_wal()
        assert time.perf_counter() - t0 < 5
    finally:
        ctx.db.group_commit(False)
    assert synchronous() == 2


def test_the_next_fsync_does_not_wait_for_a_busy_event_loop():
    starts: list[float] = []
    gate = threading.Event()

    def fsync():
        starts.append(time.monotonic())
        if len(starts) == 1:
            gate.wait(5)

    async def main():
        g = GroupSync(fsync)
        first = asyncio.create_task(g.durable())
        await asyncio.sleep(0.05)  # the first fsync is running
        second = asyncio.create_task(g.durable())
        await asyncio.sleep(0.01)  # its commit is counted
        gate.set()
        time.sleep(0.3)  # the event loop is busy with a long write meanwhile
        busy_until = time.monotonic()
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        g.close()
        return busy_until

    busy_until = asyncio.run(main())
    assert len(starts) == 2 and starts[1] < busy_until - 0.2


def test_close_finishes_the_fsync_an_answer_waits_for_and_ends_the_thread():
    synced = []

    def fsync():
        time.sleep(0.05)
        synced.append(1)

    async def main():
        g = GroupSync(fsync)
        waiting = asyncio.create_task(g.durable())
        await asyncio.sleep(0.01)  # the fsync has begun
        g.close()
        await asyncio.wait_for(waiting, 5)  # answered, not dropped
        await asyncio.wait_for(g.durable(), 5)  # a late answer gets an fsync of its own
        return g

    g = asyncio.run(main())
    assert len(synced) == 2 and not g._thread.is_alive()


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_server_processes_take_turns_on_writes_and_one_alone_takes_none(tmp_path):
    import fcntl
    import os

    from backend.storage.db import Database

    url = f"sqlite:///{(tmp_path / 'turns.db').as_posix()}"
    alone, a, b = Database(url), Database(url), Database(url)
    a.migrate()
    for db in (a, b):
        db.take_turns()  # what each worker of serve --workers does
    turns = tmp_path / "turns.db-writers"

    def taken() -> bool:
        fd = os.open(turns, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    try:
        with alone.write() as s:
            s.execute(text("SELECT 1"))
            assert not taken()
        with a.write() as s:
            s.execute(text("SELECT 1"))
            assert taken()  # b's writes wait here, in the kernel, not in SQLite's sleeps
        assert not taken()
        with b.write() as s:
            s.execute(text("SELECT 1"))
            assert taken()
    finally:
        for db in (alone, a, b):
            db.dispose()
