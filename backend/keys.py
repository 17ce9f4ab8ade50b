"""The server's keys, kept outside the database: the audit log's CPR hash key (HMAC) and the
CPR encryption keys (storage/crypto.py). A copy of the database alone gives neither a CPR
number nor a way to test guesses against the audit's hashes.

The key file is JSON, created owner-only (0600) on the first start:
`{"audit_hmac": hex, "cpr_keys": {id: hex, ...}, "cpr_current": id}`. It lies where
`key_file` says, else next to an SQLite database (`skranke.db` -> `skranke.keys`), else in
the working folder; or its content comes from the environment (`SKRANKE_KEYS`).

A database made before the keys moved holds its audit key in its `meta` table: the first
start moves it into the new key file and deletes it from the database, and encrypts the CPR
numbers still in clear.

The database remembers which keys it was set up with (`key_check` in `meta`: a keyed hash,
not the key), so a server started with another key file, or without one where the database
already holds CPR numbers, refuses to start instead of making new keys: with new keys the
CPR numbers stored so far could not be read, searches by CPR would miss them, and every
server of a PostgreSQL database must have the same keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import String, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .settings import Settings
from .storage import crypto
from .storage.models import AuditRow, Meta, VisitRow

log = logging.getLogger("skranke.keys")
_LEGACY = "audit_hmac_key"
_ENCRYPTED = "cpr_at_rest"
_CHECK = "key_check"
#: A CPR key's id: this many hex characters, named in every value it encrypted.
KEY_ID_CHARS = 8


@dataclass
class KeyRing:
    audit_hmac: bytes
    cpr_keys: dict[str, bytes] = field(default_factory=dict)
    cpr_current: str = ""

    def dumps(self) -> str:
        return json.dumps({"audit_hmac": self.audit_hmac.hex(),
                           "cpr_keys": {k: v.hex() for k, v in self.cpr_keys.items()},
                           "cpr_current": self.cpr_current}, indent=2) + "\n"

    @classmethod
    def loads(cls, raw: str, where: str) -> KeyRing:
        try:
            data = json.loads(raw)
            ring = cls(audit_hmac=bytes.fromhex(data["audit_hmac"]),
                       cpr_keys={k: bytes.fromhex(v) for k, v in data["cpr_keys"].items()},
                       cpr_current=data["cpr_current"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyFileError(f"{where}: not a Skranke key file ({type(exc).__name__})"
                               ) from None
        if ring.cpr_current not in ring.cpr_keys or len(ring.audit_hmac) < 32 \
                or any(len(k) != 32 for k in ring.cpr_keys.values()):
            raise KeyFileError(f"{where}: keys missing or of the wrong length")
        return ring

    def add_cpr_key(self) -> str:
        kid = secrets.token_hex(KEY_ID_CHARS // 2)
        self.cpr_keys[kid] = secrets.token_bytes(32)
        self.cpr_current = kid
        return kid


class KeyFileError(RuntimeError):
    pass


def key_path(settings: Settings) -> Path | None:
    """Where the key file lies; None for an in-memory database (keys live in memory)."""
    if settings.key_file:
        return Path(settings.key_file)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        db = url.database
        if not db or db == ":memory:":
            return None
        return Path(db).with_suffix(".keys")
    return Path("skranke.keys")


def write_owner_only(path: Path, content: str, *, replace: bool = False) -> None:
    """Write a secret file created 0600 (its folder 0700 if made here); atomically when it
    replaces one (a temporary file beside it, then rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = path.with_name(path.name + ".new") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    if replace and target.exists():
        target.unlink()
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(target, path)


def load(settings: Settings, session: Session) -> KeyRing:
    """The key ring (created on the first start), installed for the CPR column; the audit key
    left in an old database moved out of it. Refused (KeyFileError) when the keys are not
    this database's, or when the key file is missing and the database already needs it."""
    legacy = session.get(Meta, _LEGACY)
    if settings.keys:
        where = "SKRANKE_KEYS"
        ring = KeyRing.loads(settings.keys, where)
    else:
        path = key_path(settings)
        where = str(path)
        if path is not None and not path.exists() and legacy is None:
            _refuse_new_keys(session, path)
        ring = _from_file(path, legacy.value if legacy is not None else None)
    if legacy is not None:
        if bytes.fromhex(legacy.value) != ring.audit_hmac:
            raise KeyFileError("the database holds an audit key other than the key file's: "
                               "is this the key file of this database?")
        session.delete(legacy)  # the key lives in the key file now, not beside the hashes
        log.warning("the audit key was moved out of the database into the key file")
    _check_ring(session, ring, where)
    crypto.install(ring.cpr_keys, ring.cpr_current)
    return ring


def _fingerprint(ring: KeyRing) -> str:
    return hmac.new(ring.audit_hmac, b"skranke key check", hashlib.sha256).hexdigest()[:32]


def _refuse_new_keys(session: Session, path: Path) -> None:
    """No key file at `path`: new keys are made only for a database that holds nothing
    made with keys (no keys recorded, no encrypted CPR number, no hashed audit entry)."""
    made = (session.get(Meta, _CHECK) is not None
            or session.scalar(select(VisitRow.id).where(
                VisitRow.cpr.like(crypto.PREFIX + "%")).limit(1)) is not None
            or session.scalar(select(AuditRow.id).where(
                AuditRow.citizen_ref.is_not(None)).limit(1)) is not None)
    if made:
        raise KeyFileError(
            f"there is no key file at {path.resolve()}, but this database already holds "
            "CPR numbers or audit entries made with its keys: set key_file (or "
            "SKRANKE_KEY_FILE, or SKRANKE_KEYS) to the key file made on its first start "
            "(see docs/operations.md). No new keys were made.")


def _check_ring(session: Session, ring: KeyRing, where: str) -> None:
    """The keys are this database's: the same audit key as it was set up with, and every
    CPR key its stored numbers name. Records the keys' check on a database's first start."""
    mark = session.get(Meta, _CHECK)
    if mark is not None and mark.value != _fingerprint(ring):
        raise KeyFileError(f"{where} holds other keys than this database was set up with: "
                           "is it the key file of another database?")
    cpr = VisitRow.__table__.c.cpr  # the stored text "v1:<key id>:…", not decrypted
    stored = {crypto.key_id(v) for v in session.scalars(
        select(func.substr(cpr, 1, len(crypto.PREFIX) + KEY_ID_CHARS, type_=String))
        .where(cpr.like(crypto.PREFIX + "%")).distinct())}
    unknown = sorted(k for k in stored if k and k not in ring.cpr_keys)
    if unknown:
        raise KeyFileError(f"{where} lacks the CPR key(s) {', '.join(unknown)} that this "
                           "database's CPR numbers are encrypted with: is it the key file of "
                           "another database, or one from before a `keys rotate`?")
    if mark is None:
        session.add(Meta(key=_CHECK, value=_fingerprint(ring)))


def _from_file(path: Path | None, legacy: str | None) -> KeyRing:
    if path is None:  # an in-memory database: keys for its lifetime
        ring = KeyRing(audit_hmac=bytes.fromhex(legacy) if legacy else secrets.token_bytes(32))
        ring.add_cpr_key()
        return ring
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            log.warning("key file %s was readable by others (mode %o): now 0600", path, mode)
            path.chmod(0o600)
        return KeyRing.loads(path.read_text(encoding="utf-8"), str(path))
    ring = KeyRing(audit_hmac=bytes.fromhex(legacy) if legacy else secrets.token_bytes(32))
    ring.add_cpr_key()
    try:
        write_owner_only(path, ring.dumps())
    except FileExistsError:  # another process of the same server made it first
        return KeyRing.loads(path.read_text(encoding="utf-8"), str(path))
    log.warning("key file %s created (0600): keep it safe and apart from the backups; a "
                "restore needs it", path)
    return ring


def encrypt_clear_rows(session: Session) -> int:
    """Encrypt the CPR numbers an older version left in clear (once per database)."""
    if session.get(Meta, _ENCRYPTED) is not None:
        return 0
    rows = session.execute(text("SELECT id, cpr FROM visits WHERE cpr IS NOT NULL")).all()
    done = 0
    for visit_id, stored in rows:
        if not stored.startswith(crypto.PREFIX):
            session.execute(text("UPDATE visits SET cpr = :cpr WHERE id = :id"),
                            {"cpr": crypto.encrypt(stored), "id": visit_id})
            done += 1
    session.add(Meta(key=_ENCRYPTED, value="aes-256-gcm"))
    return done


def rotate(settings: Settings, session: Session) -> tuple[str, int, list[str]]:
    """A new CPR key becomes the current one; every stored CPR is encrypted again with it;
    the keys no row needs any more leave the file. The server must be stopped (a running
    one would go on encrypting with the key it loaded). The audit key is not rotated: the
    audit's hashes of purged visits could not be made again, and a citizen's access
    request could no longer find them."""
    if settings.keys:
        raise KeyFileError("the keys come from SKRANKE_KEYS: rotate them in your secret store")
    path = key_path(settings)
    if path is None or not path.exists():
        raise KeyFileError("no key file to rotate")
    ring = KeyRing.loads(path.read_text(encoding="utf-8"), str(path))
    crypto.install(ring.cpr_keys, ring.cpr_current)
    kid = ring.add_cpr_key()
    write_owner_only(path, ring.dumps(), replace=True)  # old keys kept until rows move
    crypto.install(ring.cpr_keys, kid)
    rows = session.execute(text("SELECT id, cpr FROM visits WHERE cpr IS NOT NULL")).all()
    for visit_id, stored in rows:
        if crypto.key_id(stored) != kid:
            session.execute(text("UPDATE visits SET cpr = :cpr WHERE id = :id"),
                            {"cpr": crypto.encrypt(crypto.decrypt(stored)), "id": visit_id})
    session.flush()
    session.commit()
    dropped = [k for k in ring.cpr_keys if k != kid]
    for k in dropped:
        del ring.cpr_keys[k]
    write_owner_only(path, ring.dumps(), replace=True)
    return kid, len(rows), dropped


def protect_database_files(settings: Settings) -> None:
    """An SQLite database, its WAL and shared-memory files: owner-only (0600), also those
    an older version created 0644."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or os.name != "posix":
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        f = Path(url.database + suffix)
        if f.exists() and stat.S_IMODE(f.stat().st_mode) & 0o077:
            f.chmod(0o600)
