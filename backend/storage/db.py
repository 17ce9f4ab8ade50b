"""Engines, sessions and the write transaction.

Every write runs in one transaction that holds the site's lock: `BEGIN IMMEDIATE` on
SQLite (which serialises writers), `SELECT … FOR UPDATE` on the site row elsewhere.
Reads see one moment each: on SQLite a second engine with ordinary deferred transactions
(WAL snapshots), on PostgreSQL the write engine's pool at `REPEATABLE READ`, read-only.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ..domain.errors import DatabaseBusy, DomainError
from . import dialect

MIGRATIONS = Path(__file__).parent / "migrations"
PG_BACKUP = ("backup copies SQLite databases only. On PostgreSQL use pg_dump, e.g. "
             "pg_dump --format=custom --file=skranke.dump 'postgresql://user@host/skranke' "
             "(online: the server may keep running); docs/operations.md")
PG_RESTORE = ("restore writes SQLite databases only. On PostgreSQL use pg_restore into a new, "
              "empty database, e.g. createdb skranke2 && pg_restore --dbname=skranke2 "
              "skranke.dump, then point database_url at it; docs/operations.md")


class Batch:
    """The write thread's shared transaction (Database.batched)."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.unlock: Callable[[], None] = lambda: None
        #: A write failed past its savepoint (not a rule's refusal): the batch is rolled
        #: back whole and its writes run again, one transaction each.
        self.broken = False
        #: A write of the batch could not get the lock in time: the batch's later writes
        #: are refused busy at once. (The write thread answers a batch's writes after the
        #: whole batch: had each waited its own time, the first one's 503 came after the
        #: sum of their waits, 15 s for a 5 s write_lock_timeout under a 20 s lock;
        #: bench/db_lock.py.)
        self.busy = False
        self.callbacks: list[Callable[[], None]] = []


class _Current(threading.local):
    current: Batch | None = None


class Database:
    def __init__(self, url: str, lock_timeout: float = 5.0) -> None:
        self.url = url
        #: How long a write may wait for the database's lock before it is refused.
        self.lock_timeout = lock_timeout
        #: Names this process's commits in the notes to the event listeners (PostgreSQL):
        #: its own streams get its commits handed over and pass its notes over.
        self.tag = secrets.token_hex(4)
        self.is_sqlite = dialect.is_sqlite(url)
        file = dialect.sqlite_file(url)
        if file:
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        self.write_engine = create_engine(url, **dialect.engine_options(url))
        dialect.prepare(self.write_engine, writes=True)
        if self.is_sqlite:  # reads: ordinary deferred transactions, WAL snapshots
            self.read_engine = create_engine(url, **dialect.engine_options(url))
            dialect.prepare(self.read_engine, writes=False)
        else:  # reads: one snapshot each, as on SQLite (the write engine's pool)
            self.read_engine = self.write_engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite has one write lock per file: this process's writers (the write thread, a
        # command, a test) queue for it here rather than in SQLite's busy handler, which
        # sleeps in growing steps between tries.
        self._writing = threading.Lock() if self.is_sqlite else None
        #: The batch of the thread running one (the write thread), per thread.
        self._batch = _Current()

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (on start and on upgrade)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def setting_up(self, timeout: float = 60) -> AbstractContextManager[None]:
        """Set the database up alone: another process starting at once waits its turn."""
        return dialect.setting_up(self.write_engine, timeout)

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

    @contextmanager
    def write(self, timeout: float | None = None) -> Iterator[Session]:
        """One write transaction holding the lock (storage/dialect.py); commit on success,
        roll back on any error. Waits at most `timeout` seconds (default: lock_timeout)
        for the lock, else raises DatabaseBusy with nothing written. Inside `batch` (the
        write thread's), a SAVEPOINT of the batch's transaction instead."""
        timeout = self.lock_timeout if timeout is None else timeout
        batch = self._batch.current
        try:
            if batch is not None:
                with self._savepoint(batch, timeout) as session:
                    yield session
                return
            deadline = time.monotonic() + timeout
            with self._locked(timeout), self.write_engine.connect() as conn:
                dialect.set_lock_timeout(conn, max(0.001, deadline - time.monotonic()))
                with Session(bind=conn, expire_on_commit=False) as session, \
                        session.begin():
                    yield session
        except Exception as exc:
            if batch is not None and batch.conn is not None \
                    and not isinstance(exc, DomainError):
                batch.broken = True
            error = dialect.unavailable(exc)
            if error is None:
                raise
            raise error from exc

    @contextmanager
    def _locked(self, timeout: float) -> Iterator[None]:
        local = self._writing
        if local is not None and not local.acquire(timeout=max(0.0, timeout)):
            raise DatabaseBusy()
        try:
            yield
        finally:
            if local is not None:
                local.release()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Call `fn` once the current write is committed: now, or after the batch's COMMIT."""
        batch = self._batch.current
        if batch is None:
            fn()
        else:
            batch.callbacks.append(fn)

    @property
    def batch(self) -> Callable[[], AbstractContextManager[Batch]] | None:
        """How the write thread lets the writes waiting together share one transaction
        (`batched`), where that pays: on SQLite, one process, where each COMMIT is an
        fsync. None on PostgreSQL: every write commits alone, so a site's row lock is held
        for one write, never for a batch of up to 64 (a round trip per statement) while
        the other processes' writes wait for it, and a write that cannot get the lock in
        time is refused alone, not with the batch behind it (docs/performance.md)."""
        return self.batched if self.is_sqlite else None

    @contextmanager
    def batched(self) -> Iterator[Batch]:
        """The writes of this thread in the block share one transaction, a SAVEPOINT each
        (a failing write rolls back only its own), and one COMMIT: one fsync for all. The
        transaction begins at the first write, with that write's lock timeout. When the
        block ends without error and nothing `broken` it, COMMIT, then the writes'
        after_commit calls; otherwise everything rolls back."""
        batch = Batch()
        self._batch.current = batch
        try:
            yield batch
            if batch.conn is not None and not batch.broken:
                batch.conn.commit()
        finally:
            self._batch.current = None
            if batch.conn is not None:
                if batch.conn.in_transaction():
                    batch.conn.rollback()
                batch.conn.close()
                batch.unlock()
        if not batch.broken:
            for fn in batch.callbacks:
                fn()

    @contextmanager
    def _savepoint(self, batch: Batch, timeout: float) -> Iterator[Session]:
        if batch.conn is None:  # the batch's first write: take the lock, with its timeout
            if batch.busy:
                raise DatabaseBusy()
            deadline = time.monotonic() + timeout
            lock = self._locked(timeout)
            try:
                lock.__enter__()
            except DatabaseBusy:
                batch.busy = True
                raise
            conn = None
            try:
                conn = self.write_engine.connect()
                dialect.set_lock_timeout(conn, max(0.001, deadline - time.monotonic()))
                conn.begin()
            except BaseException as exc:
                if conn is not None:
                    conn.close()
                lock.__exit__(None, None, None)
                batch.busy = dialect.is_busy(exc)
                raise
            batch.conn, batch.unlock = conn, lambda: lock.__exit__(None, None, None)
        with Session(bind=batch.conn, expire_on_commit=False,
                     join_transaction_mode="create_savepoint") as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def ready(self, timeout: float) -> None:
        """Raise unless the database answers a read and would take a write within `timeout`
        (the write lock taken and given back at once, past this process's writers)."""
        with self.read() as session:
            session.execute(text("SELECT 1"))
        with self.write_engine.connect() as conn:
            dialect.set_lock_timeout(conn, timeout)
            dialect.check_writable(conn)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.is_sqlite:  # on PostgreSQL reads share the write engine's pool
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


@dataclass(slots=True)
class LockedSite:
    """A site's row as a write transaction read it under the site's lock: the event
    sequence its events go on from (kept up to date by the transaction) and the planner
    settings in force. Read as a plain row: an ORM object cost three times as much."""

    id: str
    event_seq: int
    passed_over_minutes: int | None
    duration_quantile: float | None


def lock_site(session: Session, site_id: str) -> LockedSite | None:
    """Take the site's lock for the rest of the transaction (storage/dialect.py) and read
    its row under it."""
    row = session.connection().execute(dialect.LOCK_SITE, {"site": site_id}).first()
    return LockedSite(*row) if row is not None else None


def lock_visits_site(session: Session, visit_id: int) -> LockedSite | None:
    """Take the lock of the site a visit belongs to and read the site's row, in one
    statement (the visit's site found in it); None when there is no such visit."""
    row = session.connection().execute(dialect.LOCK_VISITS_SITE, {"visit": visit_id}).first()
    return LockedSite(*row) if row is not None else None
