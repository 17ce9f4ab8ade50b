"""The console's settings: defaults, the user's file over them, readable errors, saving."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from console import config as cfg
from console.config import Config, ConfigError, load_config, save_settings, user_config_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    """SKRANKE_CONFIG points into tmp_path (not created): the real user folders stay untouched."""
    path = tmp_path / "user" / "config.toml"
    monkeypatch.setenv("SKRANKE_CONFIG", str(path))
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_user_config_path_follows_the_environment(user_file):
    assert user_config_path() == user_file


def test_defaults_load_and_equal_the_repository_file(user_file):
    assert cfg.DEFAULTS_FILE == ROOT / "config.toml"
    with open(ROOT / "config.toml", "rb") as fh:
        shipped = tomllib.load(fh)
    keys = [*shipped, *(key for table in shipped.values() for key in table)]
    assert not [key for key in keys if "token" in key.lower()]
    loaded = load_config()
    assert loaded.model_dump() == shipped
    assert loaded == Config()  # the model defaults equal the file
    assert loaded.keymap == {}


def test_model_defaults_are_used_without_the_repository_file(user_file, tmp_path, monkeypatch):
    monkeypatch.setattr(cfg, "DEFAULTS_FILE", tmp_path / "absent.toml")
    assert load_config() == Config()


def test_a_user_file_overrides_one_key_and_keeps_the_rest(user_file):
    write(user_file, '[server]\ncounter = 7\n\n[keymap]\ncall_next = "n"\n')
    loaded = load_config()
    assert loaded.server.counter == 7
    assert loaded.server.url == "http://127.0.0.1:8470"
    assert loaded.server.site == "borgerservice"
    assert loaded.ui == Config().ui
    assert loaded.keymap == {"call_next": "n"}


def test_an_explicit_path_wins_over_the_environment(user_file, tmp_path):
    other = write(tmp_path / "other.toml", "[ui]\nlanguage = \"en\"\n")
    assert load_config(other).ui.language == "en"


def test_a_ca_bundle_that_exists_is_made_absolute(user_file):
    write(user_file.parent / "ca.pem", "-----BEGIN CERTIFICATE-----\n")
    write(user_file, '[server]\nca_bundle = "ca.pem"\n')
    assert load_config().server.ca_bundle == str((user_file.parent / "ca.pem").resolve())


@pytest.mark.parametrize(("toml", "key", "allowed"), [
    ('[server]\nurl = "ftp://example.dk"\n', "server.url", "http:// or https://"),
    ("[server]\ncounter = 0\n", "server.counter", "1 to 999"),
    ('[server]\ncounter = "one"\n', "server.counter", "1 to 999"),
    ('[ui]\nlanguage = "de"\n', "ui.language", '"da" or "en"'),
    ("[server]\nread_timeout = -1\n", "server.read_timeout", "more than 0"),
    ('[server]\ncolour = "red"\n', "server.colour", "allowed: url, site, counter"),
    ('[colours]\nbackground = "red"\n', "colours", "allowed: server, ui, keymap"),
    ('[server]\nca_bundle = "missing.pem"\n', "server.ca_bundle", "existing PEM file"),
], ids=["url-scheme", "counter-0", "counter-one", "language-de", "timeout-negative",
        "unknown-key", "unknown-section", "ca-bundle-missing"])
def test_a_bad_value_names_the_file_the_key_and_what_is_allowed(user_file, toml, key, allowed):
    write(user_file, toml)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert message.startswith(f"{user_file}: {key}: ")
    assert allowed in message
    assert "Traceback" not in message and "pydantic" not in message
    assert len(message.splitlines()) == 1


def test_every_problem_gets_its_own_line(user_file):
    write(user_file, '[server]\ncounter = 0\n[ui]\nlanguage = "de"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["server.counter", "ui.language"]
    assert all(line.startswith(str(user_file)) for line in lines)


def test_invalid_toml_names_the_file_and_the_line(user_file):
    write(user_file, '[server]\ncounter = 2\nurl = "http://x\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value).startswith(f"{user_file}: line 3")
    assert "not valid TOML" in str(caught.value)


def test_a_token_in_the_file_is_refused_with_a_hint(user_file):
    write(user_file, '[server]\ntoken = "secret"\n')
    with pytest.raises(ConfigError, match="server.token: unknown key.*keyring") as caught:
        load_config()
    assert "secret" not in str(caught.value)


USER_TEXT = """\
# my desk at the front
[server]
counter = 4  # the one by the window
site = "aarhus"

[ui]
theme = "textual-light"
"""


def test_save_keeps_comments_and_other_keys(user_file):
    write(user_file, USER_TEXT)
    assert save_settings({"server": {"counter": 5}, "ui": {"language": "en"}}) == user_file
    text = user_file.read_text(encoding="utf-8")
    assert "# my desk at the front" in text
    assert "counter = 5  # the one by the window" in text
    loaded = load_config()
    assert (loaded.server.counter, loaded.server.site) == (5, "aarhus")
    assert (loaded.ui.language, loaded.ui.theme) == ("en", "textual-light")


def test_save_creates_the_file_and_its_folders(user_file):
    assert not user_file.parent.exists()
    save_settings({"keymap": {"call_next": "n"}})
    assert load_config().keymap == {"call_next": "n"}
    assert list(user_file.parent.iterdir()) == [user_file]  # no temporary file left


@pytest.mark.parametrize("updates", [{"server": {"token": "abc"}}, {"server": {"api_Token": "x"}},
                                     {"token": {"value": "abc"}}])
def test_save_refuses_a_token(user_file, updates):
    write(user_file, USER_TEXT)
    with pytest.raises(ValueError, match="keyring"):
        save_settings(updates)
    assert user_file.read_text(encoding="utf-8") == USER_TEXT


@pytest.mark.parametrize("updates", [{"server": {"counter": 0}}, {"ui": {"language": "de"}},
                                     {"server": {"colour": "red"}}, {"colours": {"a": "b"}}])
def test_save_refuses_an_invalid_value_and_leaves_the_file_alone(user_file, updates):
    write(user_file, USER_TEXT)
    with pytest.raises(ConfigError) as caught:
        save_settings(updates)
    assert str(caught.value).startswith(f"{user_file}: ")
    assert user_file.read_text(encoding="utf-8") == USER_TEXT
    assert list(user_file.parent.iterdir()) == [user_file]


def test_save_refuses_without_creating_a_missing_file(user_file):
    with pytest.raises(ConfigError):
        save_settings({"server": {"url": "gopher://x"}})
    assert not user_file.parent.exists()


def test_importing_the_config_pulls_in_no_ui():
    code = ("import sys, console.config; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'textual' "
            "or m.startswith(('console.screens', 'console.widgets'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_skranke_lang_wins_over_the_file_and_a_wrong_one_is_named(user_file, monkeypatch):
    """A new user's SKRANKE_LANG=en was ignored without a word: the console stayed Danish."""
    write(user_file, '[ui]\nlanguage = "da"\n')
    monkeypatch.setenv("SKRANKE_LANG", "en")
    assert load_config().ui.language == "en"
    monkeypatch.setenv("SKRANKE_LANG", "fr")
    with pytest.raises(ConfigError) as exc:
        load_config()
    assert str(exc.value) == 'SKRANKE_LANG: must be "da" or "en" (got "fr")'
