from __future__ import annotations

import httpx
import pytest

from .helpers import Api, LiveServer, ServerProcess, make_ctx, token


@pytest.fixture
def ctx(tmp_path):
    c = make_ctx(tmp_path)
    yield c
    c.db.dispose()


@pytest.fixture
def server(ctx):
    """The real app under uvicorn on loopback (no background tick: tests drive the clock)."""
    with LiveServer(ctx) as live:
        yield live


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=20) as c:
        yield c


@pytest.fixture
def as_role(ctx, client):
    """as_role('caseworker', person='anne') -> Api for a fresh token of that role."""

    def make(role: str, person: str | None = None) -> Api:
        return Api(client, token(ctx, role, person))

    return make


@pytest.fixture
def rec(as_role):
    return as_role("reception", "rita")


@pytest.fixture
def sup(as_role):
    return as_role("supervisor", "sven")


@pytest.fixture
def cw(as_role):
    """A caseworker who has opened Skranke 1."""
    api = as_role("caseworker", "anne")
    r = api.post("/sites/test/counters/1/open")
    assert r.status_code == 200, r.text
    return api


@pytest.fixture
def srv(tmp_path):
    """A migrated database and a server process for it, started by the test."""
    s = ServerProcess(tmp_path)
    s.cli("migrate")
    yield s
    s.stop()
