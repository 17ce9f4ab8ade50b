"""Group commit's fsyncs in a process of their own (POSIX), so they never wait for the
interpreter lock and the event loop never waits for them.

In a thread (services/durable.py `GroupSync`) each fsync had to take the interpreter lock
from the event loop to report, and the loop waited to get it back: at 200 req/s the loop's
thread went to sleep 3.3 times a request and the fsync thread 9.3 times (voluntary context
switches in /proc, measured); with the process, the loop's thread 0.9 times. The child
(storage/wal_syncer.py) runs the fsyncs back to back and the log's checkpoints:

- the loop writes each commit's number to the request pipe (8 bytes, one `write`);
- the child reads every number that has arrived, fsyncs the log once, and stores the last
  number it covered in a page both processes map (an aligned 8-byte store) before it
  writes a byte to the answer pipe;
- a waiting answer reads that page at each turn of the loop, as it read the thread's
  count; an answer that stopped looking is woken by the answer pipe's reader.

A child that ends while the server runs is started again and asked for every commit so
far; a commit it had not synced is covered by the new child's first fsync.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import mmap
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..storage import wal_syncer
from .durable import GroupSync

log = logging.getLogger("skranke.storage")
#: A child that ends this soon after it started, QUICK_DEATHS times in a row, cannot run
#: here (a broken interpreter, no memory): the fsyncs then run on a thread.
QUICK_SECONDS = 5.0
QUICK_DEATHS = 3
#: How long closing waits for the child's last fsync before it kills the child and does
#: that fsync itself.
CLOSE_SECONDS = 30.0


class ProcessSync(GroupSync):
    def __init__(self, wal: Path, checkpoint_bytes: int, name: str = "skranke-fsync") -> None:
        """`wal`: the database's write-ahead log (its name and `-wal`)."""
        self.wal = Path(os.path.abspath(wal))
        self.database = self.wal.with_name(self.wal.name.removesuffix("-wal"))
        self.checkpoint_bytes = checkpoint_bytes
        # the shared page's file: no name, gone when both processes have closed it
        self._page_file = tempfile.TemporaryFile(prefix="skranke-fsync-")  # noqa: SIM115
        self._page_file.truncate(wal_syncer.PAGE_SIZE)
        self._page = mmap.mmap(self._page_file.fileno(), wal_syncer.PAGE_SIZE)
        self._synced, self._failed_upto, self._failed_errno = wal_syncer.words(self._page)
        self._failure: tuple[int, Exception | None] = (0, None)
        self._child: subprocess.Popen | None = None
        self._request = self._answer = -1
        self._unsent = False
        #: How many times a child was started (1 while the first one lives).
        self.started = 0
        self._started_at = 0.0
        self._quick = 0  # children in a row that ended soon after they started
        self._fallen_back = False  # the fsyncs run on GroupSync's thread instead
        self._checkpointing = threading.Lock()  # after a fall back
        super().__init__(self._sync_here, name)

    # --- what the waiting answers read (services/durable.py) ----------------------------
    @property
    def synced(self) -> int:
        return self._synced.value

    @synced.setter
    def synced(self, value: int) -> None:
        self._synced.value = value

    @property
    def failed(self) -> tuple[int, Exception | None]:
        upto = self._failed_upto.value
        if upto != self._failure[0]:
            code = self._failed_errno.value or errno.EIO
            self._failure = (upto, OSError(code, "the fsync of the write-ahead log failed: "
                                                 + os.strerror(code)))
        return self._failure

    @failed.setter
    def failed(self, value: tuple[int, Exception | None]) -> None:  # the thread's (fallback)
        upto, error = value
        self._failed_errno.value = getattr(error, "errno", None) or errno.EIO
        self._failure = value
        self._failed_upto.value = upto

    # --- the loop's side ----------------------------------------------------------------
    def _ask(self, mine: int, loop: asyncio.AbstractEventLoop) -> None:
        if self._fallen_back:
            return super()._ask(mine, loop)
        if self._child is None:
            self.loop = loop
            try:
                self._start()
            except OSError as exc:  # no interpreter to run it (a frozen build, say)
                return self._fall_back(f"it could not start ({exc})", mine)
        self._send()

    def _fall_back(self, why: str, mine: int) -> None:
        """From now on the fsyncs run on a thread of this process (services/durable.py)."""
        log.error("the fsync process is not used: %s; fsyncs run on a thread instead", why)
        self._close_pipes()
        self._child = None
        self._fallen_back = True
        super()._ask(mine, self.loop)

    def _send(self) -> None:
        try:
            os.write(self._request, wal_syncer.NUMBER.pack(self.requested))
        except BlockingIOError:  # 8,192 requests unread (a stalled disk): when it reads
            if not self._unsent:
                self._unsent = True
                self.loop.add_writer(self._request, self._resend)

    def _resend(self) -> None:
        self.loop.remove_writer(self._request)
        self._unsent = False
        self._send()

    def _start(self) -> None:
        request_r, request_w = os.pipe()
        answer_r, answer_w = os.pipe()
        page = self._page_file.fileno()
        try:  # isolated and without site-packages: the child needs the standard library
            self._child = subprocess.Popen(  # noqa: S603 - our own interpreter and file
                [sys.executable, "-I", "-S", wal_syncer.__file__, str(self.wal),
                 str(self.database), str(self.checkpoint_bytes), str(request_r),
                 str(answer_w), str(page)],
                pass_fds=(request_r, answer_w, page), stdin=subprocess.DEVNULL)
        except BaseException:
            for fd in (request_w, answer_r):
                os.close(fd)
            raise
        finally:
            os.close(request_r)
            os.close(answer_w)
        self.started += 1
        self._started_at = time.monotonic()
        os.set_blocking(request_w, False)
        os.set_blocking(answer_r, False)
        self._request, self._answer = request_w, answer_r
        self.loop.add_reader(answer_r, self._heard)

    def _heard(self) -> None:
        """The child finished an fsync, or ended."""
        try:
            data = os.read(self._answer, 4096)
        except BlockingIOError:
            return
        if not data:
            return self._lost()
        self._settle_all()

    def _settle_all(self) -> None:
        upto, error = self.failed
        if error is not None:
            self._settle(upto, error)
        self._settle(self.synced, None)

    def _lost(self) -> None:
        """The child ended while the server runs: another, asked for every commit so far;
        after QUICK_DEATHS children that each ended within QUICK_SECONDS, the thread."""
        code = self._child.wait() if self._child is not None else None
        self._quick = self._quick + 1 if time.monotonic() - self._started_at < QUICK_SECONDS \
            else 0
        if self._quick >= QUICK_DEATHS:
            return self._fall_back(f"it ended {self._quick} times in a row at once "
                                   f"(exit code {code})", self.requested)
        log.warning("the fsync process ended (exit code %s); starting another", code)
        self._close_pipes()
        try:
            self._start()
        except OSError as exc:
            return self._fall_back(f"it could not start again ({exc})", self.requested)
        self._send()

    def _close_pipes(self) -> None:
        if self._answer >= 0:
            if self.loop is not None and not self.loop.is_closed():
                self.loop.remove_reader(self._answer)
            os.close(self._answer)
        if self._request >= 0:
            if self._unsent and self.loop is not None and not self.loop.is_closed():
                self.loop.remove_writer(self._request)
            os.close(self._request)
        self._unsent = False
        self._request = self._answer = -1

    def _sync_here(self) -> None:
        """An fsync on the caller's thread (the thread's, after a fall back; or the app is
        stopping), and the log's checkpoint when it has grown, as the child would."""
        if wal_syncer.fsync_wal(self.wal) > self.checkpoint_bytes \
                and self._checkpointing.acquire(blocking=False):
            threading.Thread(target=wal_syncer.checkpoint, daemon=True,
                             args=(str(self.database), self._checkpointing, log.warning)
                             ).start()

    def close(self) -> None:
        """Let the child finish the fsync that waiting answers need, then end it."""
        if self._fallen_back:
            return super().close()
        self._stopping = True
        child, self._child = self._child, None
        if child is None:
            return
        if self._request >= 0:
            os.close(self._request)  # the child fsyncs once more and ends
            self._request = -1
        try:
            child.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:  # stuck: killed, its last fsync is done here
            child.kill()
            child.wait()
        self._close_pipes()
        if self.synced < self.requested and self.failed[0] < self.requested:
            try:
                self._sync_here()
            except OSError as exc:
                self.failed = (self.requested, exc)
            else:
                self.synced = self.requested
        if self.waiters and self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._settle_all)
