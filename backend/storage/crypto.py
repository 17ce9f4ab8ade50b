"""CPR numbers encrypted at rest: AES-256-GCM, a random nonce per value, the key named in
the stored text so keys can be rotated (`skranke-server keys rotate`). The keys come from
the key file (backend/keys.py), never from the database. Searching by CPR compares the
keyed hash (`cpr_ref`, HMAC), never the clear value.

Stored form: `v1:<key id>:<base64url(nonce + ciphertext + tag)>`."""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, TypeDecorator

PREFIX = "v1:"
_AAD = b"skranke-cpr"
#: Every key this process was given, by id (several contexts in one process, e.g. tests,
#: each add theirs); new values are encrypted with the current one.
_KEYS: dict[str, AESGCM] = {}
_CURRENT: list[str] = []


class KeyMissing(RuntimeError):
    pass


def install(keys: dict[str, bytes], current: str) -> None:
    for kid, key in keys.items():
        _KEYS[kid] = AESGCM(key)
    _CURRENT[:] = [current]
    decrypt.cache_clear()


def current_key_id() -> str:
    if not _CURRENT:
        raise KeyMissing("the CPR keys are not loaded (backend/keys.py)")
    return _CURRENT[0]


def encrypt(clear: str) -> str:
    kid = current_key_id()
    nonce = os.urandom(12)
    sealed = _KEYS[kid].encrypt(nonce, clear.encode(), _AAD)
    return f"{PREFIX}{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_id(stored: str) -> str | None:
    return stored.split(":", 2)[1] if stored.startswith(PREFIX) else None


@lru_cache(maxsize=8192)
def decrypt(stored: str) -> str:
    """The clear value (remembered: the day's visits are read again and again)."""
    if not stored.startswith(PREFIX):
        return stored  # written before encryption: keys.encrypt_clear_rows converts it
    _, kid, data = stored.split(":", 2)
    aead = _KEYS.get(kid)
    if aead is None:
        raise KeyMissing(f"CPR key {kid} is not in the key file (restored without its keys?)")
    raw = base64.urlsafe_b64decode(data)
    return aead.decrypt(raw[:12], raw[12:], _AAD).decode()


class EncryptedCpr(TypeDecorator):
    """A CPR column: clear in Python, encrypted in the database."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None or value.startswith(PREFIX):
            return value
        return encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return decrypt(value) if value is not None else None
