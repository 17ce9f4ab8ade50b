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

from .conftest import Served


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


def _p99s(urls: list[str], seconds: float) -> tuple[list[float], int]:
    """/health's p99 at each server, asked in turn for `seconds` (so each sees the machine
    as the others do), and the number of requests each."""
    times: list[list[float]] = [[] for _ in urls]
    clients = [httpx.Client(base_url=url, timeout=5) for url in urls]
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < seconds:
            for c, got in zip(clients, times, strict=True):
                a = time.perf_counter()
                assert c.get("/health").status_code == 200
                got.append(time.perf_counter() - a)
    finally:
        for c in clients:
            c.close()
    return [statistics.quantiles(t, n=100)[98] for t in times], len(times[0])


def test_idle_sockets_and_a_slow_header_leave_health_fast(served, many_files, tmp_path):
    """The issue's target: /health p99 <= 50 ms while 1,000 idle sockets and a slow-header
    client are open. A control server beside it, asked in turn, says how fast /health is on
    this machine at that moment: only when the control itself is over 50 ms (a machine
    crowded by other work) may the guarded server be slower, and then no more than half
    again the control. The header deadline (5 s) falls after the measurement: closing 1,000
    sockets at once is their end, not their being idle."""
    (control_dir := tmp_path / "control").mkdir()
    control = Served(control_dir)
    control.launch()  # starting beside the other
    try:
        srv = served(header_timeout_seconds=5)
        control.ready()
        sockets = _idle(srv.port, 1000)
        slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        stop = threading.Event()

        def dribble():
            with contextlib.suppress(OSError):
                for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                    if stop.is_set():
                        return
                    slow.sendall(bytes([b]))
                    time.sleep(0.05)

        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        try:
            (p99, alone), n = _p99s([srv.url, control.url], 2.5)  # all of them open
            assert p99 <= max(0.05, 1.5 * alone), \
                f"/health p99 {p99 * 1000:.1f} ms over {n} requests (control {alone * 1000:.1f} ms)"
            # the server closes them: the idle ones after the header deadline, the slow one too
            assert all(_closed_by_server(s, 6) for s in sockets[:20])
            assert _closed_by_server(slow, 6)
        finally:
            stop.set()
            for s in sockets:
                s.close()
            slow.close()
    finally:
        control.stop()
    print(f"/health p99 {p99 * 1000:.1f} ms over {n} requests beside 1,000 idle sockets and "
          f"a slow-header client (control server at the same time: {alone * 1000:.1f} ms)")


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
