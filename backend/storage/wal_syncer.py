"""The write-ahead log's fsync, and the small process that runs it for the server.

Run as a program (by services/fsync_process.py, with the standard library only, so it
starts in a few tens of milliseconds): it reads commit numbers from a pipe, fsyncs the
log once for all that have arrived, stores the last number covered in a page shared with
the server, writes a byte to the answer pipe, and starts a checkpoint when the log has
grown past its limit. It ends when the request pipe closes (the server closed it, or died),
after one last fsync.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import struct
import sys
import threading
from pathlib import Path

NUMBER = struct.Struct("<Q")
#: The shared page: the last commit an fsync covered; the last commit a failed fsync
#: covered; that failure's errno. Each an aligned 8-byte word, stored in one move.
PAGE_SIZE = 24
SYNCED, FAILED_UPTO, FAILED_ERRNO = 0, 8, 16


def fsync_wal(wal: Path) -> int:
    """Flush the log to disk (an fsync covers the file, whichever descriptor or process
    wrote it); its size. 0 when there is no log: every commit is in the database file."""
    try:
        fd = os.open(wal, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def words(page: mmap.mmap) -> tuple[ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64]:
    return tuple(ctypes.c_uint64.from_buffer(page, at)  # type: ignore[return-value]
                 for at in (SYNCED, FAILED_UPTO, FAILED_ERRNO))


def checkpoint(database: str, running: threading.Lock, warn=None) -> None:
    """Copy the log into the database without holding up writers (PASSIVE); the server's
    next write then starts the log from its beginning. Releases `running` when done."""
    import sqlite3

    try:
        con = sqlite3.connect(database, timeout=60)
        try:
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            con.close()
    except sqlite3.Error as exc:  # the next fsync tries again
        if warn is None:
            print(f"skranke-fsync: checkpoint failed: {exc}", file=sys.stderr, flush=True)
        else:
            warn("checkpoint failed: %s", exc)
    finally:
        running.release()


def serve(wal: Path, database: str, limit: int, request: int, answer: int, page_fd: int
          ) -> None:
    page = mmap.mmap(page_fd, PAGE_SIZE)
    synced, failed_upto, failed_errno = words(page)
    checkpointing = threading.Lock()
    rest, target = b"", 0
    while True:
        data = os.read(request, 65536)
        if not data:  # the server closed its end, or died: one last fsync
            try:
                fsync_wal(wal)
            except OSError as exc:
                failed_errno.value = exc.errno or errno.EIO
                failed_upto.value = target
            else:
                synced.value = target
            return
        rest += data
        whole = len(rest) - len(rest) % NUMBER.size
        if not whole:
            continue
        target = NUMBER.unpack_from(rest, whole - NUMBER.size)[0]  # the last: the highest
        rest = rest[whole:]
        size = 0
        try:
            size = fsync_wal(wal)
        except OSError as exc:  # those commits may be lost: the server fails their answers
            failed_errno.value = exc.errno or errno.EIO
            failed_upto.value = target  # after its errno: the server reads them in turn
        else:
            synced.value = target
        with contextlib.suppress(BrokenPipeError):  # the server is gone (its pipe closes)
            os.write(answer, b"\0")
        if size > limit and checkpointing.acquire(blocking=False):
            threading.Thread(target=checkpoint, args=(database, checkpointing),
                             daemon=True).start()


if __name__ == "__main__":
    _wal, _database, _limit, _request, _answer, _page = sys.argv[1:7]
    serve(Path(_wal), _database, int(_limit), int(_request), int(_answer), int(_page))
