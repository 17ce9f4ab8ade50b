"""Engines, sessions and the write transaction.

Every write runs in one transaction that holds the site's lock: `BEGIN IMMEDIATE` on
SQLite (which serialises writers), `SELECT … FOR UPDATE` on the site row elsewhere.
Reads use a second engine with ordinary deferred transactions (WAL snapshots on SQLite).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .. import json_codec
from .dialect import engine_options
from .fast import SQLITE, Fast
from .models import SiteRow
from .open_visits import CACHE, OpenVisits, note_locked
from .repo import LockedSite
from .wal_syncer import checkpoint, fsync_wal

try:
    import fcntl
except ImportError:  # Windows: a console's embedded backend, one process
    fcntl = None

MIGRATIONS = Path(__file__).parent / "migrations"
PG_BACKUP = ("backup copies SQLite databases only. On PostgreSQL use pg_dump, e.g. "
             "pg_dump --format=custom --file=skranke.dump 'postgresql://user@host/skranke' "
             "(online: the server may keep running); docs/operations.md")
PG_RESTORE = ("restore writes SQLite databases only. On PostgreSQL use pg_restore into a new, "
              "empty database, e.g. createdb skranke2 && pg_restore --dbname=skranke2 "
              "skranke.dump, then point database_url at it; docs/operations.md")
#: Under group commit, a checkpoint starts when the write-ahead log is larger than this
#: (SQLite's own default: 1000 pages of 4 KiB).
CHECKPOINT_BYTES = 4 * 1024 * 1024
log = logging.getLogger("skranke.storage")


def _sqlite_engine(url: str, *, immediate: bool, synchronous: list[str] | None = None
                   ) -> Engine:
    engine = create_engine(url, pool_size=20, max_overflow=20, pool_timeout=60,
                           json_serializer=json_codec.dumps, json_deserializer=json_codec.loads,
                           connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous[0] if synchronous else 'FULL'}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        # Under group commit, checkpoints run on a thread of their own (Database.sync_wal):
        # SQLite's own, run by the commit that fills the log, stalled that write (and the
        # event loop it runs on) for the copy and two fsyncs: the slowest answers' time.
        grouped = bool(synchronous) and synchronous[0] == "NORMAL"
        cur.execute(f"PRAGMA wal_autocheckpoint={0 if grouped else 1000}")
        # SQLite reuses the log from its start after a checkpoint but keeps the file's
        # size; the first commit after that cuts it back to this, so the size Database.
        # sync_wal looks at grows past CHECKPOINT_BYTES again only when that much is new.
        # Without it, once the file had grown every fsync started a checkpoint (measured:
        # 2,655 checkpoints for 3,000 writes; the checkpoint thread took a fifth of the
        # time at 200 req/s, on a 2-core machine).
        cur.execute(f"PRAGMA journal_size_limit={CHECKPOINT_BYTES}")
        cur.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # on the sqlite3 connection itself: through exec_driver_sql it was about a seventh
        # of an empty write transaction's 250 µs (measured in-process, alternated)
        conn.connection.dbapi_connection.execute(begin)

    return engine


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            db = make_url(url).database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            self._synchronous = ["FULL"]
            self.write_engine = _sqlite_engine(url, immediate=True,
                                               synchronous=self._synchronous)
            self.read_engine = _sqlite_engine(url, immediate=False)
        else:
            self.write_engine = create_engine(url, **engine_options(url))
            self.read_engine = self.write_engine
        #: The write-ahead log `sync_wal` flushes while group commit is on, else None.
        self.wal: Path | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpointing = threading.Lock()
        #: Each site's open day in memory (storage/open_visits.py), for every session.
        self.open_visits = OpenVisits()
        #: [callable or None]: called with the event rows of every commit of this process,
        #: in the committing thread, right after the commit (services/events.py).
        self.event_sink: list = [None]
        self._write = sessionmaker(self.write_engine, expire_on_commit=False,
                                   info={CACHE: self.open_visits, EVENT_SINK: self.event_sink,
                                         SQLITE: self.is_sqlite})
        # SQLite's busy handler sleeps in growing steps (up to 100 ms) while another writer
        # holds the lock; writers of this process queue here instead and get it at once.
        # Other processes on the same file still meet at BEGIN IMMEDIATE.
        self._local_writer = threading.Lock()
        #: SQLite: the one write connection this process's writers take turns on (under
        #: `_local_writer`), kept open between transactions. A checkout from the pool and
        #: its return cost 30-50 µs a write (measured in-process).
        self._writer: Connection | None = None
        #: SQLite, when several server processes share the file (`take_turns`): the file
        #: they take turns on around their write transactions (`flock`, which blocks
        #: without sleeping; BEGIN IMMEDIATE alone left a process that met another's write
        #: in SQLite's busy handler, which sleeps 1, 2, 5, 10 ... ms between tries). Off for
        #: one process: the call gives up the interpreter lock, and getting it back from
        #: the fsync thread was 2 % of the server's time at 200 req/s (py-spy).
        self._turns: int | None = None
        self._turns_path: Path | None = None
        self._read = sessionmaker(self.read_engine, expire_on_commit=False,
                                  info={CACHE: self.open_visits, SQLITE: self.is_sqlite})

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (on start and on upgrade)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def revision(self) -> str | None:
        with self.read_engine.connect() as conn:
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()

    def backup(self, target: Path) -> None:
        """A consistent online copy of a SQLite database (writers may go on meanwhile)."""
        import sqlite3

        if not self.is_sqlite:
            raise RuntimeError(PG_BACKUP)
        source = make_url(self.url).database
        target = Path(target)
        if target.exists():
            raise FileExistsError(f"{target} exists; choose a new file")
        with sqlite3.connect(source, timeout=60) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        check(target)

    def restore(self, source: Path) -> None:
        """Replace this SQLite database with a backup (the server must be stopped)."""
        import sqlite3

        if not self.is_sqlite:
            raise RuntimeError(PG_RESTORE)
        check(Path(source))
        self.dispose()
        target = make_url(self.url).database
        with sqlite3.connect(source) as src, sqlite3.connect(target, timeout=60) as dst:
            src.backup(dst)
        self.migrate()

    def group_commit(self, on: bool, checkpoints: bool = True) -> bool:
        """On SQLite, while on (the server runs): commits skip their own fsync
        (synchronous=NORMAL) and `sync_wal` makes them durable, several at once, before
        their answers go out (services/durable.py). Off: every commit fsyncs (FULL).
        Returns whether it is on. A process killed meanwhile loses nothing either way:
        a commit is in the operating system's cache; the fsync is for power cuts.
        `checkpoints`: `sync_wal` starts the log's checkpoints on a thread of this process
        (not when the fsync process does, services/fsync_process.py)."""
        database = make_url(self.url).database if self.is_sqlite else None
        if not database or database == ":memory:":
            return False
        self._synchronous[0] = "NORMAL" if on else "FULL"
        self._close_writer()
        self.write_engine.dispose()  # pooled connections take the new setting
        self.wal = Path(database + "-wal") if on else None
        if on and checkpoints and self._checkpointer is None:
            self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="skranke-checkpoint")
        elif not on and self._checkpointer is not None:
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None
        return on

    def sync_wal(self) -> None:
        """Flush the write-ahead log to disk: every commit written before this call is
        durable when it returns (fsync covers the file, whichever descriptor wrote it)."""
        wal = self.wal
        if wal is None:
            return
        grown = fsync_wal(wal) > CHECKPOINT_BYTES
        checkpointer = self._checkpointer
        if grown and checkpointer is not None and self._checkpointing.acquire(blocking=False):
            try:
                checkpointer.submit(self._checkpoint)
            except RuntimeError:  # shutting down: the last connection's close checkpoints
                self._checkpointing.release()

    def _checkpoint(self) -> None:
        """Copy the log into the database file without holding up writers (PASSIVE); the
        next write then starts the log from its beginning."""
        checkpoint(make_url(self.url).database, self._checkpointing, log.warning)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction; commit on success, roll back on any error."""
        if not self.is_sqlite:
            with self._write() as session, session.begin():
                yield session
            return
        with self._local_writer:
            conn = self._writer
            if conn is None or conn.closed or conn.invalidated:
                conn = self._writer = self.write_engine.connect()
            turns = self._take_turn()
            try:
                with self._write(bind=conn) as session, session.begin():
                    yield session
            finally:
                if turns is not None:
                    fcntl.flock(turns, fcntl.LOCK_UN)

    def take_turns(self) -> None:
        """This process is one of several server processes on the database (serve
        --workers): from now on, its writes take turns with theirs."""
        database = make_url(self.url).database
        if self.is_sqlite and fcntl is not None and database not in (None, "", ":memory:"):
            self._turns_path = Path(database + "-writers")

    def _take_turn(self) -> int | None:
        """Wait for the other server processes' write transactions (under _local_writer)."""
        if self._turns_path is None:
            return None
        if self._turns is None:
            self._turns = os.open(self._turns_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._turns, fcntl.LOCK_EX)
        return self._turns

    def _close_writer(self) -> None:
        with self._local_writer:
            conn, self._writer = self._writer, None
            if self._turns is not None:
                os.close(self._turns)
                self._turns = None
        if conn is not None:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self._close_writer()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def check(path: Path) -> None:
    """Refuse a file that is not a sound Skranke SQLite database."""
    import sqlite3

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        with sqlite3.connect(f"file:{Path(path).as_posix()}?mode=ro", uri=True) as con:
            status = con.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise RuntimeError(f"{path} is not a SQLite database ({exc})") from None
    if status != "ok":
        raise RuntimeError(f"{path} fails its integrity check: {status}")
    if not {"alembic_version", "visits", "events"} <= tables:
        raise RuntimeError(f"{path} is not a Skranke database")


#: session.info keys: the event rows (dicts) a transaction wrote, for after its commit,
#: and the Database's event_sink they are handed to.
COMMITTED_EVENTS = "skranke_committed_events"
EVENT_SINK = "skranke_event_sink"


@event.listens_for(Session, "after_commit")
def _hand_over_events(session: Session) -> None:
    rows = session.info.pop(COMMITTED_EVENTS, None)
    sink = session.info.get(EVENT_SINK)
    if rows and sink is not None and sink[0] is not None:
        sink[0](rows)


#: Built once (a statement and its cache key cost more to build than to run): the site's
#: row as a LockedSite holds it, under the lock and in a read snapshot.
_SITE = select(SiteRow.event_seq, SiteRow.passed_over_minutes,
               SiteRow.duration_quantile).where(SiteRow.id == bindparam("site"))
_LOCK_SITE = Fast(_SITE.with_for_update())
_READ_SITE = Fast(_SITE)


def lock_site(session: Session, site_id: str) -> LockedSite | None:
    """Take the site's lock row for the rest of the transaction (on SQLite the write
    transaction's BEGIN IMMEDIATE holds it already; this reads the row under it)."""
    rows = _LOCK_SITE.rows(session, {"site": site_id})
    if not rows:
        return None
    row = LockedSite(site_id, *rows[0])
    note_locked(session, site_id, row)
    return row


def read_site(session: Session, site_id: str) -> LockedSite | None:
    """The site's row as this session sees it, without a lock (a read snapshot)."""
    rows = _READ_SITE.rows(session, {"site": site_id})
    return LockedSite(site_id, *rows[0]) if rows else None
