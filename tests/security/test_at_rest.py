"""Data at rest: the database, its WAL and the key file owner-only; no CPR number in clear
in the database (read with sqlite3 on a copy, and byte by byte); the keys outside it;
rotation; a database from before encryption converted on its first start."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from backend.storage.models import Meta

from ..helpers import make_ctx

pytestmark = pytest.mark.sqlite_only(
    reason="the SQLite file's bytes, modes and backup; PostgreSQL keeps its own files")

CPRS = ["010190-1234", "311299-4321", "150575-9876"]


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _dump(db: Path) -> str:
    """Every table's content, by the sqlite3 command line (or Python's module without it)."""
    if shutil.which("sqlite3"):
        return subprocess.run(["sqlite3", str(db), ".dump"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    with sqlite3.connect(db) as c:
        return "\n".join(c.iterdump())


def _walkins(url: str, secret: str) -> list[dict]:
    h = {"Authorization": f"Bearer {secret}"}
    out = []
    for i, cpr in enumerate(CPRS):
        r = httpx.post(f"{url}/sites/test/walk-ins", headers=h, timeout=10,
                       json={"errand": "health_card", "name": f"Citizen {i}", "cpr": cpr})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_files_are_owner_only_and_hold_no_cpr_in_clear(served, tmp_path):
    srv = served()
    secret = srv.token("reception", "rita")
    _walkins(srv.url, secret)
    # while it runs: the database and its WAL
    files = [srv.db, Path(f"{srv.db}-wal")]
    keyfile = srv.db.with_suffix(".keys")
    for f in (*files, keyfile):
        assert f.exists(), f
        assert _mode(f) == 0o600, (f, oct(_mode(f)))
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in files:
        shutil.copy(f, copy / f.name)
    raw = b"".join((copy / f.name).read_bytes() for f in files)
    dump = _dump(copy / srv.db.name)
    for cpr in CPRS:
        for form in (cpr, cpr.replace("-", "")):
            assert form.encode() not in raw, form
            assert form not in dump, form
    assert "audit_hmac" not in dump  # the keys are not in the database
    ring = json.loads(keyfile.read_text())
    assert ring["audit_hmac"] not in dump
    # and the server still finds and reveals them
    h = {"Authorization": f"Bearer {secret}"}
    found = httpx.post(f"{srv.url}/sites/test/search", headers=h, json={"cpr": CPRS[1]}).json()
    assert [v["citizen"]["cpr"] for v in found] == ["311299-XXXX"]
    r = httpx.post(f"{srv.url}/visits/{found[0]['id']}/cpr", headers=h)
    assert r.json()["cpr"] == CPRS[1]


def test_keys_rotate_and_backup_names_the_key_file(served, tmp_path):
    srv = served()
    secret = srv.token("reception", "rita")
    _walkins(srv.url, secret)
    srv.stop()
    before = json.loads(srv.db.with_suffix(".keys").read_text())
    out = srv.cli("keys", "rotate")
    assert "3 stored CPR numbers" in out
    after = json.loads(srv.db.with_suffix(".keys").read_text())
    assert after["cpr_current"] != before["cpr_current"]
    assert list(after["cpr_keys"]) == [after["cpr_current"]]  # the old key is gone
    assert after["audit_hmac"] == before["audit_hmac"]
    assert _mode(srv.db.with_suffix(".keys")) == 0o600
    out = srv.cli("backup", str(tmp_path / "b.db"))
    assert str(srv.db.with_suffix(".keys")) in out
    assert _mode(tmp_path / "b.db") == 0o600
    srv.start()
    h = {"Authorization": f"Bearer {secret}"}
    for cpr in CPRS:
        found = httpx.post(f"{srv.url}/sites/test/search", headers=h, json={"cpr": cpr}).json()
        assert len(found) == 1
        assert httpx.post(f"{srv.url}/visits/{found[0]['id']}/cpr", headers=h
                          ).json()["cpr"] == cpr


def test_a_database_from_before_is_converted_on_its_first_start(tmp_path):
    """The audit key moves from the database to a new key file; clear CPRs get encrypted."""
    ctx = make_ctx(tmp_path)
    with ctx.db.write() as s:
        # a database from before records neither its encryption nor its keys' check
        s.execute(Meta.__table__.delete().where(Meta.key.in_(["cpr_at_rest", "key_check"])))
        s.add(Meta(key="audit_hmac_key", value="ab" * 32))
        s.execute(Meta.__table__.insert().values(key="x", value="y"))
    db = tmp_path / "skranke.db"
    ctx.db.dispose()
    (tmp_path / "skranke.keys").unlink()
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO visits (site_id, day, kind, ticket, ticket_seq, state, errand, "
                  "expected_minutes, priority, citizen_name, cpr, documents, call_count, "
                  "created_at, updated_at, version) VALUES ('test', '2026-11-24', 'walkin', "
                  "'W999', 999, 'waiting', 'health_card', 10, 0, 'Old', '0101901234', '{}', 0, "
                  "'2026-11-24 09:00:00', '2026-11-24 09:00:00', 1)")
    again = make_ctx(tmp_path)
    assert again.hmac_key == bytes.fromhex("ab" * 32)
    ring = json.loads((tmp_path / "skranke.keys").read_text())
    assert ring["audit_hmac"] == "ab" * 32
    assert _mode(tmp_path / "skranke.keys") == 0o600
    again.db.dispose()
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT value FROM meta WHERE key='audit_hmac_key'").fetchone() is None
        stored = c.execute("SELECT cpr FROM visits WHERE ticket='W999'").fetchone()[0]
    assert stored.startswith("v1:") and "0101901234" not in stored
