"""The write path's hot statements, run on SQLite's own cursor.

A Core statement run through SQLAlchemy costs about 100 µs of Python around a 10 µs
SQLite call, and an ORM load of one row 250 µs (measured, bench/backend_load.py's mix makes
about nine of them per write). `Fast` takes a Core statement built once, compiles it once
for SQLite, and runs it on the transaction's DBAPI connection with SQLAlchemy's own bind
and result processors for its columns, so what is stored and read back is exactly what
SQLAlchemy would store and read. On other databases it runs the Core statement as before.

These statements bypass the ORM's autoflush like any Core statement on the session's
connection: callers flush first where a statement must see pending objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from .. import json_codec

_DIALECT = SQLiteDialect_pysqlite(paramstyle="named", json_serializer=json_codec.dumps,
                                  json_deserializer=json_codec.loads)
#: session.info keys: set (by storage/db.py) on SQLite sessions; the transaction's
#: sqlite3 connection.
SQLITE = "skranke_sqlite"
_DBAPI = "skranke_dbapi"


def _sqlite_connection(session: Session):
    conn = session.info.get(_DBAPI)
    if conn is None:  # once per transaction (a session holds one)
        conn = session.info[_DBAPI] = session.connection().connection.driver_connection
    return conn


def _impl(type_):
    return type_.dialect_impl(_DIALECT)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_connection(session: Session) -> None:
    """The transaction ended: the session's next one may get another connection."""
    session.info.pop(_DBAPI, None)


class Fast:
    """One statement with named bind parameters (`bindparam("x")`), built once."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        compiled = stmt.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        # the dialect's own type (SQLite's DATETIME formats and parses; JSON serialises)
        self.binds = {name: proc for name, bind in compiled.binds.items()
                      if (proc := _impl(bind.type).bind_processor(_DIALECT)) is not None}
        columns = getattr(stmt, "selected_columns", None) or ()
        self.results = [_impl(c.type).result_processor(_DIALECT, None) for c in columns]
        self._convert = any(p is not None for p in self.results)

    def _params(self, values: dict[str, Any]) -> dict[str, Any]:
        binds = self.binds
        return {k: (binds[k](v) if k in binds else v)
                for k, v in values.items()} if binds else values

    def _row(self, row: Sequence) -> tuple:
        return tuple(v if p is None else p(v) for p, v in zip(self.results, row, strict=True))

    def run(self, session: Session, values: dict[str, Any]) -> None:
        """Execute (an UPDATE or INSERT) with one set of values."""
        if session.info.get(SQLITE):
            _sqlite_connection(session).execute(self.sql, self._params(values))
        else:
            session.connection().execute(self.stmt, values)

    def run_many(self, session: Session, rows: list[dict[str, Any]]) -> None:
        if session.info.get(SQLITE):
            _sqlite_connection(session).executemany(self.sql, [self._params(r) for r in rows])
        else:
            session.connection().execute(self.stmt, rows)

    def rows(self, session: Session, values: dict[str, Any]) -> list[tuple]:
        """The rows a SELECT gives, each value as SQLAlchemy's column type reads it."""
        if session.info.get(SQLITE):
            cursor = _sqlite_connection(session).execute(self.sql, self._params(values))
            if self._convert:
                return [self._row(r) for r in cursor]
            return cursor.fetchall()
        return [tuple(r) for r in session.connection().execute(self.stmt, values)]
