"""Shared test helpers: a site on a fixed clock, tokens, a real server on loopback."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import functools
import itertools
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from backend.api.app import create_app
from backend.catalogue import load_catalogue
from backend.clock import ManualClock
from backend.services import tokens
from backend.services.context import AppContext
from backend.settings import load_settings
from backend.storage.db import Database
from bench.bench_server import bench_zone

from . import pg

CPH = ZoneInfo("Europe/Copenhagen")
#: A Tuesday, mid-morning.
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=CPH)
EVERY_DAY = {d: "08:00-16:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_keys = itertools.count()


def site_dict(**over) -> dict:
    base = {"id": "test", "name": "Borgerservice Test", "counters": 6, "hours": EVERY_DAY,
            "public_holidays": False, "closed_on_customary_days": False,
            "booking_capacity": 4, "grace_minutes": 10, "max_calls": 3,
            "recall_min_seconds": 30}
    base.update(over)
    return base


def database_url(tmp: Path, name: str = "skranke", *, migrated: bool = True,
                 durable: bool = False) -> str:
    """A fresh database for a test: a SQLite file in `tmp`, or in the PostgreSQL pass
    (tests/pg.py) a database of its own in the session's cluster (`migrated`: with every
    migration applied; `durable`: commits wait for the disk)."""
    if pg.ENABLED:
        return pg.cluster().database(migrated=migrated, durable=durable)
    file = tmp / f"{name}.db"
    if migrated and not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), file)
    return f"sqlite:///{file.as_posix()}"


_template: Path | None = None


def _sqlite_template() -> Path:
    """A SQLite file with every migration applied, made once per test process and copied
    for each test (as tests/pg.py copies its template database): migrating a fresh file
    took ten times as long as the copy."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="skranke-sqlite-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        file = folder / "template.db"
        db = Database(f"sqlite:///{file.as_posix()}")
        try:
            db.migrate()
        finally:
            db.dispose()
        with contextlib.closing(sqlite3.connect(file)) as con:  # everything in the one file
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if Path(f"{file}-wal").exists() and Path(f"{file}-wal").stat().st_size:
            raise RuntimeError("the SQLite template kept a write-ahead log")
        _template = file
    return _template


def db_settings(tmp: Path, name: str = "skranke", **kw) -> dict[str, str]:
    """The settings that place a test's database (and, on PostgreSQL, its key file)."""
    url = database_url(tmp, name, **kw)
    return {"database_url": url} if url.startswith("sqlite") else {
        "database_url": url, "key_file": (tmp / f"{name}.keys").as_posix()}


def make_ctx(tmp: Path, *, start: datetime = T0, more_sites: tuple[dict, ...] = (),
             **site_over) -> AppContext:
    """A site "test" (its settings overridden by `site_over`) and `more_sites` beside it."""
    settings = load_settings(None, **db_settings(tmp),
                             sites=[site_dict(**site_over), *more_sites])
    ctx = AppContext(settings=settings, catalogue=load_catalogue(),
                     db=Database(settings.database_url), clock=ManualClock(start))
    ctx.bootstrap()
    return ctx


def token(ctx: AppContext, role: str, person: str | None = None, days: int = 30,
          site: str | None = None) -> str:
    """A token of `role`, bound to `site` (None: every site)."""
    with ctx.db.write() as s:
        secret, _ = tokens.create(s, role, person or f"{role}-{next(_keys)}",
                                  ctx.clock.now(), days, site_id=site)
    return secret


def settle(ctx: AppContext, timeout: float = 10) -> None:
    """Wait until every change has its plan published (services/planning.py)."""
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 3:
        if time.monotonic() > deadline:
            raise AssertionError("the planner did not settle")
        calm = calm + 1 if ctx.plans is None or ctx.plans.settled() else 0
        time.sleep(0.02)


def hold_sqlite(file) -> sqlite3.Connection:
    """Another program holding the SQLite file (`BEGIN EXCLUSIVE`) until its ROLLBACK. Like a
    real one it waits, up to 10 s, for the write the server is making at that moment (the
    tick, a plan, a heartbeat) to end: it must not fail for having come in the middle."""
    holder = sqlite3.connect(file, timeout=10, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def key() -> str:
    return f"test-{next(_keys)}"


class Api:
    """An httpx client for one token; every write gets a fresh Idempotency-Key."""

    def __init__(self, client: httpx.Client, secret: str) -> None:
        self.c = client
        self.h = {"Authorization": f"Bearer {secret}"}

    def get(self, path: str, **kw) -> httpx.Response:
        return self.c.get(path, headers=self.h, **kw)

    def post(self, path: str, json=None, headers=None, **kw) -> httpx.Response:
        h = {**self.h, "Idempotency-Key": key(), **(headers or {})}
        return self.c.post(path, json=json, headers=h, **kw)

    def put(self, path: str, json=None, headers=None) -> httpx.Response:
        return self.c.put(path, json=json, headers={**self.h, **(headers or {})})

    def patch(self, path: str, json=None, headers=None) -> httpx.Response:
        return self.c.patch(path, json=json, headers={**self.h, **(headers or {})})

    def delete(self, path: str, headers=None) -> httpx.Response:
        return self.c.request("DELETE", path, headers={**self.h, **(headers or {})})

    def ok(self, method: str, path: str, json=None, status: int | None = None) -> dict:
        r = getattr(self, method)(path, json=json) if json is not None or method != "get" \
            else self.get(path)
        assert r.status_code == (status or r.status_code) and r.status_code < 300, r.text
        return r.json()


@functools.cache
def tls() -> ssl.SSLContext:
    """One TLS context for the tests' HTTP clients (`verify=tls()`): httpx makes a new one for
    every client it opens, reading the whole CA bundle (0.05-0.3 s a client), and the tests'
    clients speak plain HTTP to loopback."""
    return httpx.create_ssl_context()


def wait_healthy(url: str, seconds: float = 30, alive=lambda: True) -> bool:
    """Poll `url`/health, with one client, until it answers 200 (True), `alive()` turns
    false or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=0.5, verify=tls()) as c:
        while time.monotonic() < deadline and alive():
            try:
                if c.get(f"{url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.05)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving the app on loopback in a thread: real HTTP, real sockets."""

    def __init__(self, ctx: AppContext, run_ticks: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(ctx, run_ticks=run_ticks), host="127.0.0.1",
                                port=self.port, log_level="warning", limit_concurrency=1000,
                                backlog=2048)
        self.server = ThreadServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
        self.thread.join(timeout=10)


class ThreadServer(uvicorn.Server):
    """uvicorn's Server, its main loop woken at once by `stop()` (uvicorn's own looks at
    `should_exit` every 0.1 s: a tenth of a second for every test's server). Its shutdown
    is uvicorn's, less the tenth of a second it gives open connections to close when none
    is open (the tests' clients have closed theirs)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets=None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        if not self.force_exit:
            await self.lifespan.shutdown()

    def stop(self) -> None:
        """From another thread: stop serving now."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(wake.set)


SERVER_CONFIG = """
database_url = "{url}"
key_file = "{keys}"
tick_seconds = 1

[[sites]]
id = "test"
name = "Borgerservice Test"
counters = 4
timezone = "{zone}"
public_holidays = false
closed_on_customary_days = false
[sites.hours]
mon = "00:00-23:59"
tue = "00:00-23:59"
wed = "00:00-23:59"
thu = "00:00-23:59"
fri = "00:00-23:59"
sat = "00:00-23:59"
sun = "00:00-23:59"
"""


_server_databases: dict[Path, str] = {}


class ServerProcess:
    """`skranke-server serve` as a process of its own on loopback (the crash tests kill it)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "crash.db"
        # server processes of one test folder share one database, as on SQLite's one file
        if tmp not in _server_databases:
            _server_databases[tmp] = database_url(tmp, "crash", migrated=False, durable=True)
        self.database_url = _server_databases[tmp]
        self.config = tmp / "crash.toml"
        # a zone in which it is about 10:00 now: a booking half an hour ahead is today's and
        # within the site's hours at any hour of the run (in Copenhagen's time, a run after
        # 23:15 had none: a CI failure)
        self.config.write_text(SERVER_CONFIG.format(
            url=self.database_url, keys=(tmp / "crash.keys").as_posix(), zone=bench_zone()))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def rows(self, statement) -> list:
        """The rows of a SQLAlchemy statement, read from the server's database directly."""
        db = Database(self.database_url)
        try:
            with db.read() as s:
                return list(s.execute(statement))
        finally:
            db.dispose()

    def intact(self) -> bool:
        """The database passes its integrity check (SQLite's; PostgreSQL, which guards its
        own files, answers a query)."""
        if not self.database_url.startswith("sqlite"):
            from sqlalchemy import text

            return self.rows(text("SELECT 1")) == [(1,)]
        import sqlite3

        with sqlite3.connect(self.db) as con:
            return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def migrate(self) -> None:
        """What `cli("migrate")` does (backend/cli.py cmd_migrate: the migrations, the key
        file, the sites), in this process: a second and a half less than starting one. The
        command itself is tested in test_cli.py and test_operations.py."""
        from backend.cli import build_context

        build_context(argparse.Namespace(config=str(self.config))).db.dispose()

    def token(self, role: str, person: str = "p", *extra: str) -> str:
        """What `cli("token", "create", "--role", role, "--person", person, *extra)` prints
        (backend/token_cli.py: the secret, or a device's pairing URL), made in this process
        as `migrate()` is: a process start less. The command itself is tested in
        test_cli.py and, with --bearer, in security/test_tokens.py and test_workers.py."""
        from backend.cli import build_context, parser, public_url
        from backend.services import tokens
        from backend.token_cli import token_site
        from backend.web import pairing

        args = parser().parse_args(["--config", str(self.config), "token", "create",
                                    "--role", role, "--person", person, *extra])
        ctx = build_context(args)
        try:
            site, refusal = token_site(args.role, args.site,
                                       [s.id for s in ctx.settings.sites])
            assert not refusal, refusal
            now, days = ctx.clock.now(), args.days or ctx.settings.token_days
            with ctx.db.write() as s:
                if args.role in pairing.DEVICE_ROLES and not args.bearer:
                    code, _ = pairing.create(s, args.role, args.person, site, now, days,
                                             ctx.settings.pairing_hours, args.label or "")
                    return pairing.url(public_url(ctx.settings), code)
                secret, _ = tokens.create(s, args.role, args.person, now, days,
                                          args.label or "", site_id=site)
                return secret
        finally:
            ctx.db.dispose()

    def cli(self, *args: str) -> str:
        p = subprocess.run([sys.executable, "-m", "backend.cli", "--config", str(self.config),
                            *args], capture_output=True, text=True, timeout=60, check=True)
        return p.stdout.strip()

    def start(self, *args: str, **env: str) -> None:
        self.launch(*args, **env)
        self.ready()

    def launch(self, *args: str, **env: str) -> None:
        """Start the process without waiting for it (`ready` waits)."""
        with open(self.tmp / f"server-{self.port}.log", "ab") as out:  # read when one fails
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "--config", str(self.config), "serve",
                 "--port", str(self.port), *args], env={**os.environ, **env},
                stdout=out, stderr=out)

    def ready(self) -> None:
        if not wait_healthy(self.url, alive=lambda: self.proc.poll() is None):
            log = (self.tmp / f"server-{self.port}.log").read_text(errors="replace")
            raise RuntimeError(f"server did not start:\n{log[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
