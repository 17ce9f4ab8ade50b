"""`skranke-server` as an operator runs it: tokens, demo data, migrations, serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .helpers import db_settings, free_port

BIN = [sys.executable, "-m", "backend.cli"]
_databases: dict[Path, dict[str, str]] = {}


def run(tmp: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`skranke-server ARGS` on the test's database (one per test folder)."""
    if tmp not in _databases:
        _databases[tmp] = db_settings(tmp, "cli", migrated=False)
    env = {**os.environ, **{f"SKRANKE_{k.upper()}": v for k, v in _databases[tmp].items()}}
    p = subprocess.run([*BIN, *args], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_token_create_list_revoke(tmp_path):
    p = run(tmp_path, "token", "create", "--role", "caseworker", "--person", "anne",
            "--days", "7")
    secret = p.stdout.strip()
    assert secret.startswith("skr_") and "Shown once" in p.stderr
    listed = json.loads(run(tmp_path, "token", "list", "--json").stdout)
    assert listed[0]["person"] == "anne" and secret not in json.dumps(listed)
    table = run(tmp_path, "token", "list").stdout.splitlines()  # a table for people
    assert table[0].split() == ["ID", "ROLE", "PERSON", "SITE", "LABEL", "EXPIRES", "STATE"]
    assert table[1].split()[:3] == [listed[0]["id"], "caseworker", "anne"]
    assert table[1].split()[-1] == "active" and secret not in "\n".join(table)
    run(tmp_path, "token", "revoke", listed[0]["id"])
    assert json.loads(run(tmp_path, "token", "list", "--json").stdout)[0]["revoked"] is True
    assert run(tmp_path, "token", "list").stdout.splitlines()[1].split()[-1] == "revoked"


def test_serve_help_says_where_the_database_is(tmp_path):
    text = run(tmp_path, "serve", "--help").stdout
    assert "--database-url" in text and "SKRANKE_DATABASE_URL" in text
    assert "sqlite:///skranke.db" in text
    bad = run(tmp_path, "token", "create", "--role", "king", "--person", "x", check=False)
    assert bad.returncode == 2


def test_bad_config_exits_2_with_a_readable_error(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("port = 'x'\n")
    p = run(tmp_path, "--config", str(cfg), "migrate", check=False)
    assert p.returncode == 2 and "port" in p.stderr and str(cfg) in p.stderr
    assert "Traceback" not in p.stderr


def test_demo_data_is_reproducible_and_realistic(tmp_path):
    # at a fixed time: the walk-ins and served visits "so far today" depend on the time, so
    # two runs a few seconds apart on the clock could differ by a walk-in
    a = run(tmp_path, "demo-data", "--seed", "3", "--at", "2026-12-08T11:00").stdout
    b = run(tmp_path, "demo-data", "--seed", "3", "--at", "2026-12-08T11:00").stdout
    assert a == b and a.startswith("2026-12-08: "), a
    assert "walk-ins so far today: 0" not in a
    bad = run(tmp_path, "demo-data", "--at", "tuesday", check=False)
    assert bad.returncode == 2 and "2026-12-08T10:30" in bad.stderr
    counts = [int(line.split(": ")[1].split()[0]) for line in a.splitlines()
              if "visits" in line]
    # 70-90 % of a day's capacity: Friday's four hours (09-13) hold fewer than a long Thursday
    assert len(counts) == 4 and all(50 <= n <= 260 for n in counts), counts
    assert sum(counts) >= 350, counts


def test_serve_answers_health_and_openapi(tmp_path):
    port = free_port()
    where = db_settings(tmp_path, "srv", migrated=False)  # a new, empty database: migrated
    env = {**os.environ, "SKRANKE_KEY_FILE": where.get("key_file", "")}
    proc = subprocess.Popen([*BIN, "serve", "--database-url", where["database_url"],
                             "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("server did not come up")
                time.sleep(0.2)
        assert r.json() == {"status": "ok"}
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert "/sites/{site_id}/counters/{number}/call-next" in spec["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_workers_it_cannot_run(tmp_path):
    p = run(tmp_path, "serve", "--workers", "0", check=False)
    assert p.returncode == 2 and "--workers" in p.stderr and "Traceback" not in p.stderr
    p = run(tmp_path, "serve", "--demo", "--speed", "10", "--workers", "2", check=False)
    assert p.returncode == 2 and "real clock" in p.stderr
