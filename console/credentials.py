"""The token: in the OS keyring, never on disk or in config.

Windows Credential Locker, macOS Keychain, Secret Service or KWallet on Linux desktops.
Where no secure keyring exists (a headless machine reports keyring's `fail` backend;
plaintext backends are not secure), the token comes from SKRANKE_TOKEN or is asked for at
start and kept in memory only. Keyring calls can block (a desktop unlock prompt): callers
run them off the event loop (`asyncio.to_thread`). No Textual here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

SERVICE = "skranke"
ENV = "SKRANKE_TOKEN"
#: Backends that do not protect the secret: refused.
_INSECURE = ("keyrings.alt.file.PlaintextKeyring", "keyring.backends.null.Keyring",
             "keyrings.alt.file.EncryptedKeyring")


@dataclass(frozen=True)
class Found:
    token: str | None
    #: "keyring" | "environment" | "none"
    source: str
    #: Why no secure keyring could be used (shown to the user), or None.
    warning: str | None = None


def _account(server_url: str) -> str:
    return server_url.rstrip("/")


def secure_backend() -> tuple[KeyringBackend | None, str | None]:
    """The keyring backend if it is secure, else None and the reason in plain words."""
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if name.startswith("keyring.backends.fail") or backend.priority <= 0:
        return None, ("No secure keyring is available on this machine, so the token is not "
                      f"stored. Set {ENV}, or enter the token at start (kept in memory only).")
    if name in _INSECURE or "plaintext" in name.lower():
        return None, (f"The keyring backend {name} stores secrets in plain text; Skranke "
                      f"does not use it. Set {ENV}, or enter the token at start.")
    return backend, None


def load(server_url: str) -> Found:
    env = os.environ.get(ENV)
    backend, warning = secure_backend()
    if backend is not None:
        try:
            token = backend.get_password(SERVICE, _account(server_url))
        except keyring.errors.KeyringError as exc:
            token, warning = None, f"The keyring could not be read ({type(exc).__name__})."
        if token:
            return Found(token, "keyring")
    if env:
        return Found(env, "environment", warning)
    return Found(None, "none", warning)


def store(server_url: str, token: str) -> None:
    """Keep the token in the secure keyring; raises RuntimeError with the reason if none."""
    backend, warning = secure_backend()
    if backend is None:
        raise RuntimeError(warning)
    backend.set_password(SERVICE, _account(server_url), token)


def forget(server_url: str) -> bool:
    backend, _ = secure_backend()
    if backend is None:
        return False
    try:
        backend.delete_password(SERVICE, _account(server_url))
    except keyring.errors.PasswordDeleteError:
        return False
    return True
