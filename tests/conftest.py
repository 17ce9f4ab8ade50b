from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from . import pg
from .helpers import Api, LiveServer, ServerProcess, make_ctx, tls, token


def pytest_configure(config):
    if pg.ENABLED:
        from backend.storage.dialect import EventListener

        # a server's PostgreSQL listener looks whether to stop after each wait for
        # notifications (0.5 s: a quarter of a second, on average, at every test server's
        # stop); in the tests' own process it looks every 0.05 s
        EventListener.TICK = 0.05
    config.addinivalue_line("markers", "sqlite_only(reason): a test of SQLite's own files or "
                            "settings, skipped in the PostgreSQL pass")
    config.addinivalue_line("markers", "pg_only: runs in the PostgreSQL pass only "
                            "(SKRANKE_TEST_DB=postgresql)")


def pytest_report_header(config):
    return f"database: {'PostgreSQL (tests/pg.py)' if pg.ENABLED else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    if pg.ENABLED and pg.binaries() is None:
        skip = pytest.mark.skip(reason=pg.MISSING)
        for item in items:
            item.add_marker(skip)
        return
    for item in items:
        if pg.ENABLED and (mark := item.get_closest_marker("sqlite_only")):
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        elif not pg.ENABLED and item.get_closest_marker("pg_only"):
            item.add_marker(pytest.mark.skip(
                reason="PostgreSQL only: runs in the PostgreSQL pass (SKRANKE_TEST_DB=postgresql)"))


def pytest_terminal_summary(terminalreporter):
    if pg.ENABLED and pg.binaries() is None:
        terminalreporter.write_line(pg.MISSING, yellow=True, bold=True)


def pytest_sessionfinish(session):
    pg.stop()  # the throwaway cluster, also when tests failed


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_in_the_working_folder():
    """Tests write under their own folders. A key file or database left in the working
    folder (the repository) means a test did not say where: on PostgreSQL the key file's
    default is ./skranke.keys."""
    before = set(Path.cwd().glob("skranke.*"))
    yield
    left = sorted(p.name for p in set(Path.cwd().glob("skranke.*")) - before)
    assert not left, f"the tests left {left} in {Path.cwd()}"


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """In the PostgreSQL pass, a test's databases are dropped when it ends."""
    yield
    cluster = pg.started()
    if cluster is not None:
        cluster.drop_created()


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
    with httpx.Client(base_url=server.url, timeout=20, verify=tls()) as c:
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
    s.migrate()
    yield s
    s.stop()
