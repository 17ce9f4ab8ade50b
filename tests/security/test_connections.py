"""Connections a client cannot hold: idle sockets and half-sent headers are closed, a cap
answers 503 instead of running out of file descriptors, and /health stays fast meanwhile."""

from __future__ import annotations

import contextlib
import resource
import socket
import statistics
import threading
import time

import httpx
import pytest


@pytest.fixture
def many_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if want < 2200:
        pytest.skip(f"the hard open-file limit {hard} is too low for 1,000 sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _idle(port: int, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        out.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    return out


def _closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        return s.recv(4096) is not None  # b"" (closed) or a 408 before the close
    except TimeoutError:
        return False
    except OSError:
        return True


def _p99(url: str, seconds: float) -> tuple[float, int]:
    times = []
    t0 = time.monotonic()
    with httpx.Client(base_url=url, timeout=5) as c:
        while time.monotonic() - t0 < seconds:
            a = time.perf_counter()
            assert c.get("/health").status_code == 200
            times.append(time.perf_counter() - a)
    return statistics.quantiles(times, n=100)[98], len(times)


def test_idle_sockets_and_a_slow_header_leave_health_fast(served, many_files):
    """The issue's target: /health p99 <= 50 ms beside them. On a machine crowded by other
    work /health alone may be slower: then they must not make it more than twice as slow."""
    srv = served(header_timeout_seconds=3)
    alone, _ = _p99(srv.url, 1)
    sockets = _idle(srv.port, 1000)
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    stop = threading.Event()
    answer = []

    def dribble():
        try:
            for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                if stop.is_set():
                    return
                slow.sendall(bytes([b]))
                time.sleep(0.05)
        except OSError:
            answer.append(slow.recv(4096) if not stop.is_set() else b"")

    t = threading.Thread(target=dribble, daemon=True)
    t0 = time.monotonic()
    t.start()
    try:
        p99, n = _p99(srv.url, 2.5 - (time.monotonic() - t0))  # while all of them are open
        assert p99 <= max(0.05, 2 * alone), \
            f"/health p99 {p99 * 1000:.1f} ms over {n} requests (alone {alone * 1000:.1f} ms)"
        # the server closes them: the idle ones after the header deadline, the slow one too
        assert all(_closed_by_server(s, 5) for s in sockets[:20])
        assert _closed_by_server(slow, 5)
    finally:
        stop.set()
        for s in sockets:
            s.close()
        slow.close()
    print(f"/health p99 {p99 * 1000:.1f} ms over {n} requests beside 1,000 idle sockets and "
          f"a slow-header client (alone: {alone * 1000:.1f} ms)")


def test_a_header_block_without_end_is_cut_off(served):
    srv = served()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        got = b""
        try:
            for _ in range(2000):  # 20 MB of one header, never finished
                s.sendall(b"X-Big: " + b"a" * 10_000 + b"\r\n")
        except OSError:
            pass
        s.settimeout(5)
        with contextlib.suppress(OSError):
            got = s.recv(4096)
    assert got == b"" or got.startswith(b"HTTP/1.1 431"), got[:100]


def test_a_connection_cap_answers_503_then_heals(served, many_files):
    srv = served(max_connections=64, header_timeout_seconds=2)
    sockets = _idle(srv.port, 80)
    try:
        r = httpx.get(f"{srv.url}/health", timeout=5)
        assert r.status_code == 503
    finally:
        for s in sockets:
            s.close()
    time.sleep(0.5)
    assert httpx.get(f"{srv.url}/health", timeout=5).status_code == 200
