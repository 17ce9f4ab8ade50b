"""Operations: migrations on upgrade, online backup and restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from backend.storage.db import MIGRATIONS, Database

from .helpers import database_url, db_settings, make_ctx, token


def test_upgrade_a_database_made_by_the_previous_schema(tmp_path):
    url = database_url(tmp_path, "old", migrated=False)
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO sites (id, name, event_seq) VALUES ('s', 'S', 1)"))
        conn.execute(text(
            "INSERT INTO events (site_id, seq, at, type, data) VALUES "
            "('s', 1, '2026-11-24 09:00:00', 'visit.book', '{}')"))
    engine.dispose()
    assert "ix_events_at" not in {i["name"] for i in inspect(create_engine(url))
                                  .get_indexes("events")}
    db = Database(url)
    db.migrate()
    assert db.revision() == "0007"
    insp = inspect(db.read_engine)
    assert "ix_events_at" in {i["name"] for i in insp.get_indexes("events")}
    with db.read_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    db.dispose()


def test_schema_matches_the_models(tmp_path):
    """The migrations produce exactly the tables the code expects (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from backend.storage.models import Base

    db = Database(database_url(tmp_path, "m", migrated=False))
    db.migrate()
    with db.read_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    db.dispose()


@pytest.mark.sqlite_only(reason="SQLite's online backup; PostgreSQL has pg_dump")
def test_online_backup_while_writing_then_restore(tmp_path):
    ctx = make_ctx(tmp_path)

    import httpx

    from .helpers import Api, LiveServer

    with LiveServer(ctx) as live, httpx.Client(base_url=live.url, timeout=20) as c:
        rec = Api(c, token(ctx, "reception", "rita"))
        stop = threading.Event()

        def write():
            i = 0
            while not stop.is_set():
                rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": f"W{i}"})
                i += 1

        t = threading.Thread(target=write)
        t.start()
        try:
            for i in range(3):
                while True:
                    n = len(rec.get("/sites/test/day").json()["visits"])
                    if n >= 5 * (i + 1):
                        break
                ctx.db.backup(tmp_path / f"backup{i}.db")
        finally:
            stop.set()
            t.join()
    for i in range(3):
        with sqlite3.connect(tmp_path / f"backup{i}.db") as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            visits = con.execute("SELECT count(*) FROM visits").fetchone()[0]
            seq = con.execute("SELECT event_seq FROM sites").fetchone()[0]
            events = con.execute("SELECT count(*) FROM events").fetchone()[0]
            assert visits >= 5 and seq == events  # a consistent cut
    fresh = Database(f"sqlite:///{tmp_path / 'restored.db'}")
    fresh.restore(tmp_path / "backup2.db")
    with fresh.read_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM visits")).scalar() >= 15
    fresh.dispose()
    ctx.db.dispose()


@pytest.mark.sqlite_only(reason="SQLite's online backup; PostgreSQL has pg_dump")
def test_backup_cli_refuses_to_overwrite_and_restore_refuses_junk(tmp_path):
    env_db = ["--database-url", f"sqlite:///{tmp_path / 'a.db'}"]
    run = [sys.executable, "-m", "backend.cli", *env_db]
    subprocess.run([*run, "migrate"], check=True, capture_output=True)
    ok = subprocess.run([*run, "backup", str(tmp_path / "b.db")], capture_output=True,
                        text=True)
    assert ok.returncode == 0 and "integrity ok" in ok.stdout
    again = subprocess.run([*run, "backup", str(tmp_path / "b.db")], capture_output=True,
                           text=True)
    assert again.returncode == 2 and "exists" in again.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    bad = subprocess.run([*run, "restore", str(junk)], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    good = subprocess.run([*run, "restore", str(tmp_path / "b.db")], capture_output=True,
                          text=True)
    assert good.returncode == 0, good.stderr


@pytest.mark.parametrize("table", ["visits", "events", "audit"])
def test_tables_exist_after_migrate(tmp_path, table):
    db = Database(database_url(tmp_path, "t", migrated=False))
    db.migrate()
    assert table in inspect(db.read_engine).get_table_names()
    db.dispose()


@pytest.mark.pg_only
def test_backup_and_restore_on_postgresql_say_to_use_pg_dump_and_pg_restore(tmp_path):
    where = db_settings(tmp_path)
    run = [sys.executable, "-m", "backend.cli", "--database-url", where["database_url"]]
    env = {**os.environ, "SKRANKE_KEY_FILE": where["key_file"]}
    backup = subprocess.run([*run, "backup", str(tmp_path / "b.db")], capture_output=True,
                            text=True, env=env)
    assert backup.returncode == 2 and "pg_dump" in backup.stderr
    assert "Traceback" not in backup.stderr and not (tmp_path / "b.db").exists()
    restore = subprocess.run([*run, "restore", str(tmp_path / "b.db")], capture_output=True,
                             text=True, env=env)
    assert restore.returncode == 2 and "pg_restore" in restore.stderr
    assert "Traceback" not in restore.stderr
