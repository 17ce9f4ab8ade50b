"""Pairing a display or kiosk: `token create --role display|kiosk` makes the device's token
and a one-time pairing code; opening /pair/{code} on the device sets its cookie.

The token's secret is made at pairing time and handed only to the device's cookie: the
token row (revocable and expiring like any token) then holds its SHA-256, and the pairing
code (its SHA-256 kept) is spent."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..domain.errors import Invalid
from ..services import tokens
from ..storage.models import DevicePairingRow, TokenRow

DEVICE_ROLES = ("display", "kiosk")
PAGES = {"display": "/display/{site}", "kiosk": "/kiosk/{site}"}


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create(session: Session, role: str, person: str, site_id: str, now: datetime,
           days: int, pairing_hours: int, label: str = "") -> tuple[str, TokenRow]:
    """A device token bound to its site (its secret thrown away: the device gets a fresh one
    when paired) and its pairing code, returned once."""
    if role not in DEVICE_ROLES:
        raise Invalid(f"Only {' and '.join(DEVICE_ROLES)} tokens are paired.",
                      code="not_a_device")
    _unused, row = tokens.create(session, role, person, now, days, label, site_id=site_id)
    code = secrets.token_urlsafe(24)
    session.add(DevicePairingRow(code_hash=_hash(code), token_id=row.id, site_id=site_id,
                                 created_at=now,
                                 expires_at=now + timedelta(hours=pairing_hours)))
    return code, row


def redeem(session: Session, code: str, now: datetime) -> tuple[str, TokenRow, str] | None:
    """The device's new secret, its token and site; None when the code is unknown, spent,
    expired, or its token revoked or expired."""
    pairing = session.get(DevicePairingRow, _hash(code))
    if pairing is None or pairing.used_at is not None or pairing.expires_at <= now:
        return None
    row = session.get(TokenRow, pairing.token_id)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    pairing.used_at = now
    secret = tokens.PREFIX + secrets.token_urlsafe(32)
    row.token_hash = tokens.digest(secret)
    return secret, row, pairing.site_id


def url(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/pair/{code}"
