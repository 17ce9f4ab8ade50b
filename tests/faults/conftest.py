from __future__ import annotations

import contextlib
import signal

import pytest


@pytest.fixture
def srv(srv):
    """The server process of tests/conftest.py, woken before it is stopped (a test that
    fails while the server is frozen must not leave it stopped)."""
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            srv.proc.send_signal(signal.SIGCONT)
