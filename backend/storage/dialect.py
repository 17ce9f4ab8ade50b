"""The one place that knows which database Skranke runs on.

Everything else writes portable SQLAlchemy. What differs is here, each in a small function
named for what it does: the engine's options, how a write transaction begins and takes the
site's lock within a time limit, and how to tell a busy or full database from other errors.

- SQLite: one server process on one file. WAL (readers never wait for the writer),
  `synchronous=FULL` (a commit is on disk before it is acknowledged), and `BEGIN IMMEDIATE`
  with the busy timeout set to the write's remaining time: the whole write transaction
  holds the database's one write lock, so it is also the site's lock.
- PostgreSQL: `SET LOCAL lock_timeout`, then `SELECT … FOR UPDATE` on the site's row.
  Several server processes (or servers) share the database: a write transaction that
  appends events also sends `pg_notify` with the site's id, which PostgreSQL delivers at
  commit (never for a rolled-back one); each process keeps one listening connection, in a
  thread of its own, that wakes its event streams. Reads are `REPEATABLE READ`, read-only:
  each sees one moment, as a SQLite read transaction does.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Float, bindparam, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from .. import json_codec
from ..domain.errors import DatabaseBusy, DiskFull, DomainError
from .models import SiteRow, VisitRow

log = logging.getLogger("skranke.storage")

#: The WAL file's size after a checkpoint reset it (SQLite `journal_size_limit`), bytes.
WAL_LIMIT = 4 * 1024 * 1024

#: Connection.info key: the seconds a write transaction may wait for its lock.
LOCK_TIMEOUT = "skranke_lock_timeout"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> str | None:
    """The SQLite database's file, or None (in memory, or not SQLite)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return database if database and database != ":memory:" else None


def engine_options(url: str) -> dict[str, Any]:
    """`create_engine` arguments for this database."""
    options: dict[str, Any] = dict(json_serializer=json_codec.dumps,
                                   json_deserializer=json_codec.loads)
    if is_sqlite(url):
        options.update(pool_size=20, max_overflow=20, pool_timeout=60,
                       connect_args={"check_same_thread": False, "timeout": 60})
    else:
        options.update(pool_size=20, max_overflow=20, pool_pre_ping=True)
    return options


def prepare(engine: Engine, *, writes: bool) -> None:
    """Set up every new connection of `engine` (SQLite: its pragmas and its own BEGIN)."""
    if engine.dialect.name != "sqlite":
        if writes:
            event.listen(engine, "begin", _begin_postgresql)
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # BEGIN is emitted below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        # the WAL file left after a checkpoint resets it: cut back to about what an
        # automatic checkpoint's 1,000 pages fill (it grew past that whenever a reader's
        # snapshot kept a checkpoint from finishing, and stayed at its largest: +21.6 % in
        # the 25-minute soak)
        cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        cur.close()

    event.listen(engine, "begin", _begin_sqlite_write if writes else _begin_sqlite_read)


def _ms(conn: Connection) -> int:
    return max(1, int(1000 * conn.info.get(LOCK_TIMEOUT, 60.0)))


def _begin_sqlite_write(conn: Connection) -> None:
    dbapi = conn.connection.dbapi_connection
    dbapi.execute(f"PRAGMA busy_timeout={_ms(conn)}")
    dbapi.execute("BEGIN IMMEDIATE")


def _begin_sqlite_read(conn: Connection) -> None:
    conn.connection.dbapi_connection.execute("BEGIN")


def _begin_postgresql(conn: Connection) -> None:
    # on the driver's connection: the Connection is still beginning (the driver opens the
    # transaction with this statement, and the site's FOR UPDATE waits at most this long).
    # A read waits for no row lock (only for a migration's, which is short): it is spared
    # the round trip (0.84 -> 0.72 ms a read of SELECT 1, median of 2,000, three runs each).
    if conn.get_execution_options().get("postgresql_readonly"):
        return
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = {_ms(conn)}")


def set_lock_timeout(conn: Connection, seconds: float) -> None:
    """The time the next write transaction on `conn` may wait for its lock."""
    conn.info[LOCK_TIMEOUT] = seconds


class minutes_between(FunctionElement):  # noqa: N801 - used as a SQL function
    """The minutes from one stored time to another, as a float, computed by the database
    (the day's finished visits' service times are read on every call next: parsing two
    times per row in Python cost more than the query)."""

    type = Float()
    inherit_cache = True


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 1440.0)"


@compiles(minutes_between)
def _minutes_other(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 60.0)"


_SITES, _VISITS = SiteRow.__table__, VisitRow.__table__
#: What a write needs of its site's row, read under the lock (a plain row, no ORM object).
_LOCKED = (_SITES.c.id, _SITES.c.event_seq, _SITES.c.passed_over_minutes,
           _SITES.c.duration_quantile)
#: The site's row, locked for the rest of the transaction. SQLite compiles no FOR UPDATE:
#: its BEGIN IMMEDIATE holds the lock already.
LOCK_SITE = select(*_LOCKED).where(_SITES.c.id == bindparam("site")).with_for_update()
#: The same for the site of a visit, found in the statement (a visit never changes site).
LOCK_VISITS_SITE = select(*_LOCKED).where(_SITES.c.id == select(_VISITS.c.site_id).where(
    _VISITS.c.id == bindparam("visit")).scalar_subquery()).with_for_update()


def _codes(exc: BaseException) -> tuple[str, str, int | None]:
    """(message, SQLSTATE or SQLite error name, errno) of a driver error, as far as known."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None) or ""
    return str(orig).lower(), state, getattr(orig, "errno", None)


def is_busy(exc: BaseException) -> bool:
    """The write waited for its lock longer than it may (SQLITE_BUSY / lock_not_available)."""
    text, state, _ = _codes(exc)
    return state in ("SQLITE_BUSY", "55P03") or "database is locked" in text


def is_disk_full(exc: BaseException) -> bool:
    """The disk (or the database's size limit) is full: SQLITE_FULL, ENOSPC, disk_full."""
    text, state, number = _codes(exc)
    return (state in ("SQLITE_FULL", "53100") or number == errno.ENOSPC
            or "database or disk is full" in text)


#: When a write was last refused for a full disk: one line per incident (refusals with no
#: minute without one between them), not one per write nor one a minute.
_full_logged = [float("-inf")]


def unavailable(exc: BaseException) -> DomainError | None:
    """The error to answer for a write the database could not take now (busy, full),
    or None for any other error. Its transaction rolled back: nothing of it was kept."""
    if isinstance(exc, DomainError):
        return None
    if is_busy(exc):
        return DatabaseBusy()
    if is_disk_full(exc):
        now, last = time.monotonic(), _full_logged[0]
        _full_logged[0] = now
        if now - last > 60:
            log.error("the database's disk is full: writes answer 503 disk_full until "
                      "there is space")
        return DiskFull()
    return None


def check_writable(conn: Connection) -> None:
    """Take and give back the write lock (or check the server takes writes): /health/ready."""
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        dbapi.execute(f"PRAGMA busy_timeout={_ms(conn)}")
        dbapi.execute("BEGIN IMMEDIATE")
        dbapi.execute("ROLLBACK")
    else:
        if conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
            raise RuntimeError("the database is read-only")


#: The advisory lock a process holds while it sets a PostgreSQL database up ("skranke").
SETUP_LOCK = 0x736B72616E6B65


@contextmanager
def setting_up(engine: Engine, seconds: float) -> Iterator[None]:
    """Hold the database's set-up lock for the migrations, the sites and the keys: two
    processes started at once on a new PostgreSQL database take turns (the second finds it
    set up). On SQLite the migrations and the set-up each take its one write lock already."""
    if engine.dialect.name == "sqlite":
        yield
        return
    with engine.connect() as conn:
        set_lock_timeout(conn, seconds)
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({SETUP_LOCK})")
        conn.commit()  # the lock is the connection's, held past the transaction
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({SETUP_LOCK})")
            conn.commit()


# --- other processes' commits (PostgreSQL) ------------------------------------------------
#: The channel on which commits that appended events name their site.
EVENTS_CHANNEL = "skranke_events"
_NOTIFY = text(f"SELECT pg_notify('{EVENTS_CHANNEL}', :note)").bindparams(bindparam("note"))


def notify_events(session: Session, site_id: str, tag: str) -> None:
    """In a write transaction that appends events for the site: tell every server process's
    listener, when it commits (PostgreSQL). The note names the site and the writer (`tag`,
    storage/db.py `Database.tag`): the writer's own listener passes it over, since its
    own streams get its commits handed over. Nothing on SQLite (one process)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY, {"note": f"{site_id} {tag}"})


def _note(payload: str) -> tuple[str, str | None]:
    """(site, writer's tag) of a note; a bare site id (an older server's) with no tag."""
    site, _, tag = payload.rpartition(" ")
    return (site, tag) if site else (payload, None)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (no `+psycopg`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class EventListener:
    """One connection that LISTENs for `notify_events`, in a daemon thread: `wake(site_id)`
    for each notification of another writer than `own` (this process's `Database.tag`),
    `wake(None)` after (re)connecting, when some may have been missed. It reconnects by
    itself after the database went away; meanwhile the streams poll the table
    (services/events.py)."""

    #: How long one wait for notifications lasts before the thread looks whether to stop.
    TICK = 0.5

    def __init__(self, url: str, wake: Callable[[str | None], None], own: str) -> None:
        self.conninfo = libpq_url(url)
        self.wake = wake
        self.own = own
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="skranke-listen", daemon=True)

    def start(self) -> EventListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True,
                                     connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    self.listening.set()
                    failures = 0
                    self.wake(None)  # what was committed while this was not listening
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.TICK):
                            site, tag = _note(note.payload)
                            if tag != self.own:
                                self.wake(site)
            except psycopg.Error as exc:
                self.listening.clear()
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("event listener lost its database connection (%s); streams "
                                "poll the table until it is back", type(exc).__name__)
                self._stop.wait(min(5.0, 0.2 * failures))


def event_listener(url: str, wake: Callable[[str | None], None], own: str
                   ) -> EventListener | None:
    """A started listener where the database tells of other processes' commits
    (PostgreSQL; `own`: this process's writer tag, whose commits it hands over itself);
    None on SQLite, whose one process hands its commits over itself."""
    if is_sqlite(url):
        return None
    return EventListener(url, wake, own).start()
