"""The memory of a long-running server: the collector and the C allocator (glibc only;
elsewhere the allocator's part does nothing).

glibc gives each thread that allocates while another holds the main arena an arena of its
own (up to 8 per core) and keeps what is freed in each for reuse. The server has an event
loop, a write thread, a plan thread, a thread pool for reads and listeners: over a day the
free memory its arenas hold grew (issue 26's soak: 7.5 -> 12.3 MB held free). Two arenas,
and the free pages handed back to the system now and then, hold less of it (3-5 MB less
RSS in two A/B soaks). Before each hand-back a full garbage collection (`trim`): `serve`
collects seldom, for latency, and the soak found its older generations never collected
all day, the garbage of a day's requests pinning Python's object arenas
(docs/reliability.md has the figures).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import platform
import time

#: glibc's malloc.h
M_ARENA_MAX = -8
ARENAS = 2
#: how often the server hands free memory back (seconds)
TRIM_SECONDS = 60.0


def _libc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` malloc arenas for the threads started from now on; True if set.
    Call it first, before the server starts its threads. (The environment's
    MALLOC_ARENA_MAX, when set, wins: the operator chose.)"""
    import os

    libc = _libc()
    if libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def trim() -> float:
    """Collect the garbage, then hand the free pages the allocator holds back to the system
    (malloc_trim(0): the top of each arena and the whole free pages inside them). Returns
    the collection's seconds. Run it off the loop.

    The full collection first: `serve` collects young objects seldom (backend/cli.py
    `_tune_gc`, for latency), and in the soak its older generations were never collected
    all day (the collector's counts: 8 young and no older collection in 25 minutes), so
    reference cycles left by requests (a request's scope, its response, SQLAlchemy's
    statements) waited all day: 47,000 objects after the first hour, 98,000 at the end,
    where a full collection left 38,000-42,600. Each held a place in one of Python's object
    arenas, which are handed back only when empty. What exists at start is frozen
    (`gc.freeze`) and not scanned: a collection walks what the day made, a few ms."""
    started = time.perf_counter()
    gc.collect()
    took = time.perf_counter() - started
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    return took
