"""The write path's plain statements (storage/fast.py, repo.load_visit) store and read
exactly what SQLAlchemy would, and the log is checkpointed off the write path."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.engine import make_url

from backend.services import visits
from backend.services.context import SYSTEM, Tx
from backend.storage import crypto, repo
from backend.storage import db as dbmod
from backend.storage.fast import Fast
from backend.storage.models import AuditRow, VisitRow

from .helpers import make_ctx

_AUDIT = AuditRow.__table__
_COLUMNS = ("at", "occurred_at", "actor", "role", "action", "site_id", "visit_id", "detail")
_FAST = Fast(insert(_AUDIT).values({c: bindparam(c) for c in _COLUMNS}))
_READ = Fast(select(*(_AUDIT.c[c] for c in _COLUMNS)).where(_AUDIT.c.id == bindparam("id")))

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                       timezones=st.just(UTC))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3), max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(at=moments, occurred=st.none() | moments, actor=st.text(min_size=1, max_size=20),
       visit_id=st.none() | st.integers(1, 10**9), detail=st.none() | json_values)
def test_a_plain_insert_stores_what_sqlalchemy_stores_and_reads_it_back(
        tmp_path_factory, at, occurred, actor, visit_id, detail):
    ctx = make_ctx(tmp_path_factory.mktemp("fast"))
    row = {"at": at, "occurred_at": occurred, "actor": actor, "role": "caseworker",
           "action": "x", "site_id": "test", "visit_id": visit_id, "detail": detail}
    with ctx.db.write() as s:
        s.connection().execute(insert(_AUDIT), row)  # SQLAlchemy's Core, as before
        _FAST.run(s, row)
    with ctx.db.read() as s:
        stored = s.execute(text("SELECT at, occurred_at, actor, detail FROM audit "
                                "ORDER BY id")).all()
        assert stored[0] == stored[1]  # byte for byte the same text in the file
        read = _READ.rows(s, {"id": 2})[0]
        core = s.connection().execute(select(*(_AUDIT.c[c] for c in _COLUMNS))
                                      .where(_AUDIT.c.id == 1)).one()
    assert read == tuple(core)
    assert read[0] == at and read[-1] == detail
    ctx.db.dispose()


def test_a_visit_read_plainly_is_the_orm_load_and_its_changes_are_written(tmp_path):
    ctx = make_ctx(tmp_path)
    with ctx.db.write() as s:
        made = visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "passport_adult", "Ada Lund",
                                      "0101901234", "+45 1234", {"photo_id": "present"}, 1)
    vid = made["id"]
    with ctx.db.read() as s:
        orm = s.get(VisitRow, vid)
        expected = {c.key: getattr(orm, c.key) for c in VisitRow.__table__.c}
    with ctx.db.write() as s:
        row = repo.load_visit(s, vid)
        assert {c.key: getattr(row, c.key) for c in VisitRow.__table__.c} == expected
        assert repo.load_visit(s, vid) is row  # the session's own object once it has one
        assert isinstance(row.day, date) and row.arrived_at.tzinfo is not None
        # read from the object's dict, as the ORM would read them
        assert {k: repo.columns(row)[k] for k in expected} == expected
        row.citizen_note = "changed through the ORM"  # a change the unit of work writes
        assert repo.columns(row)["citizen_note"] == "changed through the ORM"
        Tx(ctx, s, SYSTEM).save(row, replace(repo.to_visit(row), priority=5))  # a plain UPDATE
    with ctx.db.read() as s:
        stored = s.get(VisitRow, vid)
        assert (stored.citizen_note, stored.priority) == ("changed through the ORM", 5)
    with ctx.db.write() as s:
        assert repo.load_visit(s, 10**9) is None
        s.expire(orm := repo.load_visit(s, vid), ["state"])  # not in its dict: the ORM loads it
        assert "state" not in orm.__dict__ and repo.columns(orm)["state"] == expected["state"]
    ctx.db.dispose()


def test_under_group_commit_the_log_is_checkpointed_on_its_own_thread(tmp_path, monkeypatch):
    ctx = make_ctx(tmp_path)
    monkeypatch.setattr(dbmod, "CHECKPOINT_BYTES", 512 * 1024)  # a walk-in writes ~70 KiB
    assert ctx.db.group_commit(True)
    wal = tmp_path / "skranke.db-wal"
    try:
        with ctx.db.write() as s:
            assert s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        for i in range(60):  # each walk-in writes a few pages into the log
            with ctx.db.write() as s:
                visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "passport_adult", f"W {i}",
                                       None, None, {}, 0)
        ctx.db.sync_wal()  # the log is past the limit: a checkpoint starts
        deadline = time.monotonic() + 10
        while not ctx.db._checkpointing.acquire(blocking=False):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        ctx.db._checkpointing.release()
        with sqlite3.connect(tmp_path / "skranke.db") as con:  # nothing left to copy
            busy, frames, copied = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == copied
        before = wal.stat().st_size
        with ctx.db.write() as s:  # the next write starts the log from its beginning
            visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "passport_adult", "After", None,
                                   None, {}, 0)
        ctx.db.sync_wal()
        assert wal.stat().st_size <= before
        # ... and cut the file back to the limit, so the next fsyncs start no checkpoint
        # until that much is new (before, once the file had grown, every fsync started one)
        assert wal.stat().st_size <= 512 * 1024 < before
        started = []
        monkeypatch.setattr(ctx.db, "_checkpoint", lambda: started.append(1))
        for i in range(3):
            with ctx.db.write() as s:
                visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "passport_adult",
                                       f"Later {i}", None, None, {}, 0)
            ctx.db.sync_wal()
        assert started == []
    finally:
        ctx.db.group_commit(False)
    with ctx.db.write() as s:  # off again: SQLite checkpoints by itself
        assert s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000


def _held_day(ctx, s):
    site = ctx.site("test")
    now = ctx.clock.now()
    seq = s.scalar(text("SELECT event_seq FROM sites WHERE id = 'test'"))
    return ctx.db.open_visits.state(s, "test", ctx.today(site, now), seq, site.rules, now,
                                    ctx.horizon)


def test_a_visit_inserted_plainly_is_what_the_orm_stores_and_the_held_day_has_it(tmp_path):
    ctx = make_ctx(tmp_path)
    with ctx.db.read() as s:
        _held_day(ctx, s)  # the day is held from here on
    misses = ctx.db.open_visits.misses
    with ctx.db.write() as s:
        tx = Tx(ctx, s, SYSTEM)
        made = visits.register_walkin(tx, "test", "passport_adult", "Ada Lund", "0101901234",
                                      None, {"photo_id": "present"}, 1)
        row = repo.load_visit(s, made["id"])  # the session's own object
        assert row.id == made["id"] and row.version == 1 and row.citizen_note is None
        row.citizen_note = "changed in the same transaction"  # the unit of work writes it
    with ctx.db.read() as s:
        day = _held_day(ctx, s)
    assert made["id"] in {v.id for v in day.visits}  # the held day took it in at the commit
    assert ctx.db.open_visits.misses == misses  # without reading the day again
    with ctx.db.write() as s:  # the same visit made through the unit of work, for comparison
        orm = VisitRow(**{c.key: getattr(row, c.key) for c in VisitRow.__table__.c
                          if c.key not in ("id", "ticket")}, ticket="X999")
        s.add(orm)
    with ctx.db.read() as s:
        stored = s.execute(text("SELECT * FROM visits ORDER BY id")).all()
        assert stored[0][0] == made["id"] and len(stored) == 2
        keys = list(s.execute(text("SELECT * FROM visits")).keys())
        plain, unit = (dict(zip(keys, r, strict=True)) for r in stored)
        assert {k: v for k, v in plain.items() if k not in ("id", "ticket", "cpr")} == \
            {k: v for k, v in unit.items() if k not in ("id", "ticket", "cpr")}  # byte for byte
        # the CPR is encrypted with a fresh nonce each time (storage/crypto.py): the same
        # number under the same key, not the same bytes
        assert crypto.key_id(plain["cpr"]) == crypto.key_id(unit["cpr"])
        assert crypto.decrypt(plain["cpr"]) == crypto.decrypt(unit["cpr"]) == "0101901234"
        assert plain["citizen_note"] == "changed in the same transaction"

    ctx.db.dispose()


def test_the_kept_write_connection_survives_failed_writes_and_takes_new_settings(tmp_path):
    ctx = make_ctx(tmp_path)
    db = ctx.db
    try:
        with db.write() as s:
            dbmod.lock_site(s, "test")
            s.execute(text("UPDATE sites SET name = 'changed' WHERE id = 'test'"))
            raise ValueError("a write fails half way")
    except ValueError:
        pass
    with db.write() as s:  # rolled back, and the same connection goes on
        assert s.execute(text("SELECT name FROM sites WHERE id = 'test'")).scalar() != "changed"
    kept = db._writer
    other = sqlite3.connect(make_url(ctx.settings.database_url).database,
                            isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    kept.connection.dbapi_connection.execute("PRAGMA busy_timeout = 50")
    try:
        with db.write() as s:
            dbmod.lock_site(s, "test")
        raise AssertionError("the lock was taken twice")
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's OperationalError
        assert "locked" in str(exc)
    other.execute("ROLLBACK")
    other.close()
    with db.write() as s:  # the failed BEGIN left nothing behind
        assert dbmod.lock_site(s, "test") is not None
    assert db._writer is kept
    for on, level in ((True, 1), (False, 2)):  # NORMAL under group commit, else FULL
        db.group_commit(on)
        with db.write() as s:
            assert s.execute(text("PRAGMA synchronous")).scalar() == level
    db.dispose()
    assert db._writer is None
