"""Group commit's fsyncs in a process of their own (services/fsync_process.py): answers
wait for the child's fsync; a failed fsync fails them; a child that dies is replaced
without losing a waiting answer; the child ends with the server, even a killed one; and
it checkpoints the log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backend.services import visits
from backend.services.context import SYSTEM, Tx

from .helpers import make_ctx

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the fsync process is POSIX's")


def _sync(tmp_path: Path, limit: int = 4 * 1024 * 1024):
    from backend.services.fsync_process import ProcessSync

    wal = tmp_path / "x.db-wal"
    if not wal.exists():
        wal.write_bytes(b"\0" * 4096)
    return ProcessSync(wal, limit)


def _gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a child of this process: reaped by its Popen; a grandchild: by init
        time.sleep(0.02)
    return False


def test_answers_go_on_after_the_childs_fsync_and_close_ends_it(tmp_path):
    async def main():
        g = _sync(tmp_path)
        await asyncio.wait_for(g.durable(), 10)  # an idle loop: woken by the answer pipe
        child = g._child
        assert child is not None and child.poll() is None and g.synced >= 1
        answers = [asyncio.create_task(g.durable()) for _ in range(50)]
        await asyncio.wait_for(asyncio.gather(*answers), 10)
        assert g.synced >= 51 and g.started == 1
        g.close()
        return child

    child = asyncio.run(main())
    assert child.poll() == 0  # ended by the closed pipe, after its last fsync


def test_a_failed_fsync_fails_the_answers_it_covered_and_the_next_one_is_synced(tmp_path):
    wal = tmp_path / "x.db-wal"
    wal.mkdir()  # opening a directory for writing fails: EISDIR, like a disk gone bad

    async def main():
        g = _sync(tmp_path)
        with pytest.raises(OSError, match="fsync of the write-ahead log failed"):
            await asyncio.wait_for(g.durable(), 10)
        wal.rmdir()
        wal.write_bytes(b"\0" * 4096)
        await asyncio.wait_for(g.durable(), 10)  # synced again
        g.close()

    asyncio.run(main())


def test_a_child_that_dies_is_replaced_and_the_waiting_answers_go_on(tmp_path):
    async def main():
        g = _sync(tmp_path)
        await asyncio.wait_for(g.durable(), 10)
        first = g._child
        first.send_signal(signal.SIGSTOP)  # stuck: the next answers wait
        waiting = [asyncio.create_task(g.durable()) for _ in range(5)]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in waiting)
        first.kill()
        await asyncio.wait_for(asyncio.gather(*waiting), 10)
        assert g.started == 2 and g._child is not first and g._child.poll() is None
        g.close()

    asyncio.run(main())


def test_the_child_ends_when_the_server_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import asyncio, os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from pathlib import Path
        from backend.services.fsync_process import ProcessSync
        async def main():
            wal = Path({str(tmp_path)!r}) / "x.db-wal"
            wal.write_bytes(b"0" * 4096)
            g = ProcessSync(wal, 1 << 22)
            await g.durable()
            print(g._child.pid, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # no close, no exit handlers
        asyncio.run(main())
    """)
    server = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert server.returncode == -signal.SIGKILL, server.stderr
    assert _gone(int(server.stdout.split()[0]))


def test_the_child_checkpoints_the_log_once_it_is_past_its_limit(tmp_path):
    ctx = make_ctx(tmp_path)
    assert ctx.db.group_commit(True, checkpoints=False)
    from backend.services.fsync_process import ProcessSync

    g = ProcessSync(ctx.db.wal, 256 * 1024)

    async def main():
        for i in range(30):  # a walk-in writes ~70 KiB into the log: 2 MiB unchecked
            with ctx.db.write() as s:
                visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "passport_adult",
                                       f"W {i}", None, None, {}, 0)
            await asyncio.wait_for(g.durable(), 10)
            await asyncio.sleep(0.02)  # the child's checkpoint runs beside the fsyncs
        g.close()

    try:
        asyncio.run(main())
        assert ctx.db._checkpointer is None  # the child's job, not a thread's here
        # checkpointed, each next write started the log from its beginning again
        assert ctx.db.wal.stat().st_size < 1024 * 1024
    finally:
        ctx.db.group_commit(False)


def test_without_an_interpreter_to_run_the_child_the_fsyncs_run_on_a_thread(tmp_path,
                                                                            monkeypatch,
                                                                            caplog):
    from backend.services import fsync_process

    monkeypatch.setattr(fsync_process.sys, "executable", str(tmp_path / "no-python"))

    async def main():
        g = _sync(tmp_path)
        await asyncio.wait_for(g.durable(), 10)
        await asyncio.wait_for(asyncio.gather(*(g.durable() for _ in range(20))), 10)
        assert g._fallen_back and g._thread.is_alive() and g.synced >= 21
        g.close()
        return g

    g = asyncio.run(main())
    assert not g._thread.is_alive()
    assert "fsyncs run on a thread instead" in caplog.text


def test_a_child_that_keeps_ending_at_once_gives_way_to_the_thread(tmp_path, monkeypatch,
                                                                   caplog):
    from backend.storage import wal_syncer

    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(wal_syncer, "__file__", str(broken))

    async def main():
        g = _sync(tmp_path)
        await asyncio.wait_for(g.durable(), 30)  # answered all the same
        assert g._fallen_back and g.started == 3
        g.close()

    asyncio.run(main())
    assert "ended 3 times in a row" in caplog.text


def test_closing_with_a_stuck_child_kills_it_and_answers_the_waiting_with_its_own_fsync(
        tmp_path, monkeypatch):
    from backend.services import fsync_process

    monkeypatch.setattr(fsync_process, "CLOSE_SECONDS", 0.3)

    async def main():
        g = _sync(tmp_path)
        await asyncio.wait_for(g.durable(), 10)
        child = g._child
        child.send_signal(signal.SIGSTOP)
        waiting = asyncio.create_task(g.durable())
        await asyncio.sleep(0.1)
        assert not waiting.done()
        g.close()
        await asyncio.wait_for(waiting, 5)
        return child

    child = asyncio.run(main())
    assert child.returncode == -signal.SIGKILL
