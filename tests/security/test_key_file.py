"""The key file belongs to its database. A server started without it (another working
folder on PostgreSQL, a database moved without its keys) or with another database's must
not make new keys and go on: the CPR numbers stored so far could not be read, searches by
CPR would miss them, and a second server of the same database would encrypt with keys the
first does not have. It says so and stops; with its own key file it starts as before."""

from __future__ import annotations

import subprocess
import sys

import httpx

from backend.keys import KeyRing, write_owner_only

CPR = "010190-1234"


def _serve_fails(srv) -> str:
    """Start `serve` and expect it to stop at once with exit status 2: its error output."""
    p = subprocess.run([sys.executable, "-m", "backend.cli", "--config", str(srv.config),
                        "serve", "--port", str(srv.port)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2, p.stderr[-2000:]
    return p.stderr


def test_a_server_without_its_key_file_or_with_another_stops_and_makes_no_keys(served):
    srv = served()
    h = {"Authorization": f"Bearer {srv.token('reception', 'rita')}"}
    r = httpx.post(f"{srv.url}/sites/test/walk-ins", headers=h, timeout=10,
                   json={"errand": "health_card", "name": "Citizen", "cpr": CPR})
    assert r.status_code == 201, r.text
    srv.stop()
    keys = srv.tmp / "crash.keys"
    own = keys.read_text()

    keys.unlink()
    err = _serve_fails(srv)
    assert f"there is no key file at {keys}" in err and "No new keys were made" in err
    assert not keys.exists()  # not made anew

    other = KeyRing(audit_hmac=b"\x01" * 32)
    other.add_cpr_key()
    write_owner_only(keys, other.dumps())
    err = _serve_fails(srv)
    assert "holds other keys than this database was set up with" in err
    assert keys.read_text() == other.dumps()  # left as it was

    # the same audit key, but not the CPR key the stored numbers name (a copy from before
    # a `keys rotate`, say)
    mine = KeyRing.loads(own, "own")
    stale = KeyRing(audit_hmac=mine.audit_hmac)
    stale.add_cpr_key()
    write_owner_only(keys, stale.dumps(), replace=True)
    err = _serve_fails(srv)
    assert f"lacks the CPR key(s) {mine.cpr_current}" in err

    write_owner_only(keys, own, replace=True)
    srv.start()
    found = httpx.post(f"{srv.url}/sites/test/search", headers=h, json={"cpr": CPR},
                       timeout=10).json()
    assert len(found) == 1
    assert httpx.post(f"{srv.url}/visits/{found[0]['id']}/cpr", headers=h,
                      timeout=10).json()["cpr"] == CPR


def test_a_new_database_gets_new_keys_once(served):
    """Nothing made with keys yet: the first start makes the key file; a start after it
    reads the same file."""
    srv = served()
    keys = srv.tmp / "crash.keys"
    made = keys.read_text()
    srv.stop()
    srv.start()
    assert keys.read_text() == made
