"""The one place that knows which database Skranke runs on.

Everything else writes portable SQLAlchemy. What differs is here, each in a small function
named for what it does: the engine's options, how a write transaction begins and takes the
site's lock within a time limit, and how to tell a busy or full database from other errors.

- SQLite: one server process on one file. WAL (readers never wait for the writer),
  `synchronous=FULL` (a commit is on disk before it is acknowledged), and `BEGIN IMMEDIATE`
  with the busy timeout set to the write's remaining time: the whole write transaction
  holds the database's one write lock, so it is also the site's lock.
- PostgreSQL: `SET LOCAL lock_timeout`, then `SELECT … FOR UPDATE` on the site's row.
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.engine import make_url

from .. import json_codec
from ..domain.errors import DatabaseBusy, DiskFull, DomainError
from .models import SiteRow

log = logging.getLogger("skranke.storage")

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
    # transaction with this statement, and the site's FOR UPDATE waits at most this long)
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = {_ms(conn)}")


def set_lock_timeout(conn: Connection, seconds: float) -> None:
    """The time the next write transaction on `conn` may wait for its lock."""
    conn.info[LOCK_TIMEOUT] = seconds


#: The site's row, locked for the rest of the transaction. SQLite compiles no FOR UPDATE:
#: its BEGIN IMMEDIATE holds the lock already.
LOCK_SITE = select(SiteRow).with_for_update()


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


#: When "disk full" was last logged: one line per incident, not one per write.
_full_logged = [float("-inf")]


def unavailable(exc: BaseException) -> DomainError | None:
    """The error to answer for a write the database could not take now (busy, full),
    or None for any other error. Its transaction rolled back: nothing of it was kept."""
    if isinstance(exc, DomainError):
        return None
    if is_busy(exc):
        return DatabaseBusy()
    if is_disk_full(exc):
        now = time.monotonic()
        if now - _full_logged[0] > 60:
            _full_logged[0] = now
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
