"""`skranke` login/status/logout, the support log and bad configuration."""

from __future__ import annotations

import keyring
import pytest

from console import cli, credentials, logs

from .helpers import token
from .test_console_credentials import MemoryKeyring


@pytest.fixture
def cfg_file(tmp_path, server, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(f'[server]\nurl = "{server.url}"\nsite = "test"\n')
    monkeypatch.setenv("SKRANKE_CONFIG", str(path))
    monkeypatch.delenv(credentials.ENV, raising=False)
    monkeypatch.setattr(logs, "log_path", lambda: tmp_path / "logs" / "skranke.log")
    original = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield path
    keyring.set_keyring(original)


def test_login_status_logout(cfg_file, ctx, monkeypatch, capsys):
    secret = token(ctx, "caseworker", "anne")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(secret + "\n"))
    assert cli.main(["login", "--token-stdin"]) == 0
    assert "anne (caseworker)" in capsys.readouterr().out
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "anne (caseworker), site test, counter 1 (token from keyring)" in out
    assert secret not in out and secret not in cfg_file.read_text()
    assert cli.main(["logout"]) == 0
    assert cli.main(["status"]) == 1


def test_login_refuses_a_token_the_backend_does_not_know(cfg_file, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("skr_wrong\n"))
    assert cli.main(["login", "--token-stdin"]) == 1
    assert "did not accept" in capsys.readouterr().err
    assert credentials.load("x").token is None


def test_login_refuses_a_token_of_another_site(cfg_file, ctx, monkeypatch, capsys):
    """The backend would refuse it on every route (403 wrong_site): said at login instead."""
    secret = token(ctx, "caseworker", "nils", site="nord")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(secret + "\n"))
    assert cli.main(["login", "--token-stdin"]) == 1
    err = capsys.readouterr().err
    assert "for site 'nord'" in err and "'test'" in err and secret not in err
    assert cli.main(["status"]) == 1  # nothing kept
    assert "No token" in capsys.readouterr().out


def test_bad_config_exits_2(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\ncounter = 0\n")
    monkeypatch.setenv("SKRANKE_CONFIG", str(bad))
    assert cli.main(["status"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "server.counter" in err


def test_support_log_has_no_cpr_or_token(tmp_path):
    import logging

    path = logs.setup(tmp_path / "s.log")
    logging.getLogger("skranke.test").info("visit of %s with skr_abcdefghijkl123", "0101901234")
    for h in logging.getLogger("skranke").handlers:
        h.flush()
    text = path.read_text()
    assert "010190-XXXX" in text and "0101901234" not in text and "skr_abcdefghijkl" not in text
