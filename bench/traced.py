"""Run a program and write what it holds every few seconds, to find what grows
(bench/soak.py --trace / --memory). Not for production.

    python bench/traced.py [--light] [--collect] OUT_DIR SECONDS module:function [arg ...]

Every SECONDS it writes one line of OUT_DIR/objects.jsonl: the process's RSS and where
its memory is (Python's objects as tracemalloc counts them, SQLite's own allocations
(page caches), the C allocator's bytes in use and held free, memory-mapped blocks), the
collector's counts and the 40 commonest object types (under --light only with --collect,
see _watch); and, unless --light,
OUT_DIR/snap-NNN.pickle, a tracemalloc snapshot (tracing doubles the memory and slows
every allocation: --light leaves it off and measures the program as it runs; --collect
runs a full collection before each line, to tell garbage waiting for the collector from
memory held). The program
itself runs as its console script would (`backend.cli:main`, `console.cli:main`).
`python bench/traced.py --diff OUT_DIR [FIRST]` prints the 25 places whose memory grew
most from snapshot FIRST (default: the second) to the last, and the object types that grew.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import importlib
import json
import sys
import threading
import time
import tracemalloc
from pathlib import Path


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _memory() -> dict[str, float]:
    """Where the memory is, in MB (Linux with glibc; what cannot be read is left out)."""
    mb = 2**20
    status = Path("/proc/self/status").read_text()
    out = {"rss": int(status.split("VmRSS:")[1].split()[0]) / 1024}
    if tracemalloc.is_tracing():
        out["python_traced"] = tracemalloc.get_traced_memory()[0] / mb
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        out |= {"malloc_used": info.uordblks / mb, "malloc_free": info.fordblks / mb,
                "malloc_mmapped": info.hblkhd / mb}
    except (OSError, AttributeError):
        pass
    try:  # the library Python's sqlite3 module loaded (linked dynamically on Debian)
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
        current, high = ctypes.c_int64(), ctypes.c_int64()
        if lib.sqlite3_status64(0, ctypes.byref(current), ctypes.byref(high), 0) == 0:
            out["sqlite"] = current.value / mb  # SQLITE_STATUS_MEMORY_USED
    except (OSError, AttributeError, TypeError):
        pass
    return {k: round(v, 2) for k, v in out.items()}


def _sql_caches(objects: list) -> list[dict]:
    """SQLAlchemy's compiled-statement caches (one per engine, 500 entries): how full, and
    the statements most often in them under different keys (a statement built anew with
    each call fills its cache with copies of itself)."""
    out = []
    for o in objects:
        if type(o).__name__ == "LRUCache" and type(o).__module__.startswith("sqlalchemy"):
            texts = collections.Counter(
                " ".join(str(getattr(v, "string", "?")).split())[:100]
                for v in list(o.values()))
            out.append({"size": len(o), "top": texts.most_common(3)})
    return out


def _objects() -> dict:
    objects = gc.get_objects()
    counts = collections.Counter(type(o).__qualname__ for o in objects)
    return {"t": round(time.monotonic()), "memory": _memory(),
            "sql_caches": _sql_caches(objects), "gc_count": gc.get_count(),
            "gc_stats": [s["collections"] for s in gc.get_stats()],
            "objects": sum(counts.values()), "types": dict(counts.most_common(40))}


def _watch(out: Path, every: float, collect: bool, census: bool) -> None:
    n = 0
    with (out / "objects.jsonl").open("a") as log:
        while True:
            time.sleep(every)
            if collect:  # an experiment: is what grows garbage the collector has not seen?
                gc.collect()
            if tracemalloc.is_tracing():
                gc.collect()  # what is held, not the garbage the collector has yet to see
                tracemalloc.take_snapshot().dump(str(out / f"snap-{n:03d}.pickle"))
            log.write(json.dumps(_objects() if census else {
                "t": round(time.monotonic()), "memory": _memory(),
                "gc_count": gc.get_count()}) + "\n")
            log.flush()
            n += 1


def diff(out: Path, first: int = 1) -> None:
    lines = [json.loads(x) for x in (out / "objects.jsonl").read_text().splitlines()]
    if len(lines) > first:
        print(f"{out}: memory (MB)", lines[first].get("memory"), "->", lines[-1].get("memory"))
    if len(lines) > first and "types" in lines[first]:
        old, new = lines[first]["types"], lines[-1]["types"]
        grown = sorted(((new[k] - old.get(k, 0), k) for k in new), reverse=True)[:15]
        print("objects:", lines[first]["objects"], "->", lines[-1]["objects"])
        print("types grown:", ", ".join(f"{k} {d:+d}" for d, k in grown if d > 0))
    snaps = sorted(out.glob("snap-*.pickle"))
    if len(snaps) <= first + 1:
        return
    filters = [tracemalloc.Filter(False, tracemalloc.__file__),
               tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]
    a = tracemalloc.Snapshot.load(str(snaps[first])).filter_traces(filters)
    b = tracemalloc.Snapshot.load(str(snaps[-1])).filter_traces(filters)
    total = sum(s.size for s in b.statistics("filename")) - sum(
        s.size for s in a.statistics("filename"))
    print(f"{out}: {snaps[first].name} -> {snaps[-1].name}, traced memory "
          f"{total / 2**20:+.2f} MB")
    grown = sorted((s for s in b.compare_to(a, "traceback") if s.size_diff > 0),
                   key=lambda s: -s.size_diff)
    for stat in grown[:25]:
        print(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format(limit=6):
            print("      " + line.strip())


def main() -> int:
    if sys.argv[1] == "--diff":
        diff(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
        return 0
    args = sys.argv[1:]
    light, collect = "--light" in args[:2], "--collect" in args[:2]
    out, every, target, *rest = args[light + collect:]
    Path(out).mkdir(parents=True, exist_ok=True)
    if not light:
        tracemalloc.start(8)
    # The census of objects (gc.get_objects from this thread) only when asked for it: a
    # tuple another thread is building from a generator (`tuple(x for x in rows)`) may be
    # in the list it returns, and CPython then refuses to grow it ("SystemError:
    # Objects/tupleobject.c: bad argument to internal function", python/cpython#39117): the
    # soak's server answered a 500 about once a minute under --light with the census.
    census = not light or collect
    threading.Thread(target=_watch, args=(Path(out), float(every), collect, census),
                     daemon=True).start()
    module, function = target.split(":")
    sys.argv = [target, *rest]
    return getattr(importlib.import_module(module), function)()


if __name__ == "__main__":
    sys.exit(main())
