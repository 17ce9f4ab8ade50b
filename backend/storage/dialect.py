"""The one place that knows which database Skranke runs on.

Everything else writes portable SQLAlchemy. What differs is here, in small functions named
for what they do:

- SQLite: one file; a process's event streams are woken by its own commits.
- PostgreSQL (several server processes, or servers, on one database): every write
  transaction that appends events also sends `pg_notify` on one channel with the site's
  id; PostgreSQL delivers it at commit (never for a rolled-back transaction). Each server
  process keeps one listening connection, in a thread of its own, that wakes its streams:
  a change made through another process reaches this one's listeners within milliseconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .. import json_codec

log = logging.getLogger("skranke.storage")

#: The channel on which commits that appended events name their site (PostgreSQL).
EVENTS_CHANNEL = "skranke_events"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def engine_options(url: str) -> dict[str, Any]:
    """`create_engine` arguments for a PostgreSQL database."""
    return dict(pool_size=20, max_overflow=20, pool_pre_ping=True,
                json_serializer=json_codec.dumps, json_deserializer=json_codec.loads)


_NOTIFY = text(f"SELECT pg_notify('{EVENTS_CHANNEL}', :site)").bindparams(
    bindparam("site"))


def notify_events(session: Session, site_ids: Iterable[str]) -> None:
    """Inside a write transaction that appended events: tell every server process's
    listener (PostgreSQL delivers it when the transaction commits). Nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for site_id in site_ids:
        session.execute(_NOTIFY, {"site": site_id})


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (no `+psycopg`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class EventListener:
    """One connection that LISTENs for `notify_events`, in a daemon thread: `wake(site_id)`
    for each notification, `wake(None)` after (re)connecting, when notifications may have
    been missed. It reconnects on its own after the database went away."""

    #: How long a wait for notifications lasts before the thread looks whether to stop.
    TICK = 0.5

    def __init__(self, url: str, wake: Callable[[str | None], None]) -> None:
        self.conninfo = libpq_url(url)
        self.wake = wake
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
                            self.wake(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("event listener lost its database connection (%s); "
                                "streams fall back to polling until it is back",
                                type(exc).__name__)
                self._stop.wait(min(5.0, 0.2 * failures))


def event_listener(url: str, wake: Callable[[str | None], None]) -> EventListener | None:
    """A started listener where the database can tell other processes' commits (PostgreSQL);
    None where it cannot (SQLite: its streams poll the table)."""
    if is_sqlite(url):
        return None
    return EventListener(url, wake).start()
