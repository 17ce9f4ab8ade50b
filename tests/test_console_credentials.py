"""The token lives in a secure keyring or in memory, never on disk."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from console import credentials

URL = "http://127.0.0.1:8470"


class MemoryKeyring(KeyringBackend):
    priority = 10

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError("none")
        del self.store[(service, username)]


class PlaintextKeyring(MemoryKeyring):
    """Stands for keyrings.alt's PlaintextKeyring (same name rule)."""


@pytest.fixture
def backend(monkeypatch):
    monkeypatch.delenv(credentials.ENV, raising=False)
    original = keyring.get_keyring()
    yield lambda b: keyring.set_keyring(b)
    keyring.set_keyring(original)


def test_store_load_forget_with_a_secure_keyring(backend, tmp_path, monkeypatch):
    mem = MemoryKeyring()
    backend(mem)
    monkeypatch.chdir(tmp_path)
    credentials.store(URL + "/", "skr_secret")
    found = credentials.load(URL)
    assert (found.token, found.source, found.warning) == ("skr_secret", "keyring", None)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing written to disk
    assert credentials.forget(URL) is True
    assert credentials.load(URL).token is None
    assert credentials.forget(URL) is False


def test_fail_backend_says_so_and_uses_the_environment(backend, monkeypatch):
    backend(fail.Keyring())
    found = credentials.load(URL)
    assert found.token is None and "No secure keyring" in found.warning
    with pytest.raises(RuntimeError, match="No secure keyring"):
        credentials.store(URL, "skr_x")
    monkeypatch.setenv(credentials.ENV, "skr_env")
    found = credentials.load(URL)
    assert (found.token, found.source) == ("skr_env", "environment")
    assert "No secure keyring" in found.warning


def test_plaintext_backend_is_refused(backend):
    backend(PlaintextKeyring())
    with pytest.raises(RuntimeError, match="plain text"):
        credentials.store(URL, "skr_x")
    assert credentials.load(URL).token is None
