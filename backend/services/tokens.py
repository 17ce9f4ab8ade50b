"""Bearer tokens: random 256 bits, stored only as their SHA-256, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import Invalid, NotFound, Unauthorized
from ..storage.models import TokenRow
from .context import ROLES, Actor

PREFIX = "skr_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, role: str, person: str, now: datetime, days: int,
           label: str = "", site_id: str | None = None) -> tuple[str, TokenRow]:
    """A new token (its secret returned once), bound to `site_id` (None: every site)."""
    if role not in ROLES:
        raise Invalid(f"Unknown role '{role}'; one of {', '.join(ROLES)}.", code="unknown_role")
    if not person.strip():
        raise Invalid("A token names the person or device it is for.")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(id=secrets.token_hex(4), token_hash=digest(secret), role=role,
                   person=person.strip(), site_id=site_id, label=label, created_at=now,
                   expires_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    return secret, row


def revoke(session: Session, token_id: str, now: datetime) -> TokenRow:
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFound(f"No token '{token_id}'.", code="unknown_token")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def listing(session: Session) -> list[dict[str, Any]]:
    return [{"id": r.id, "role": r.role, "person": r.person, "site": r.site_id,
             "label": r.label,
             "created_at": r.created_at.isoformat(), "expires_at": r.expires_at.isoformat(),
             "revoked": r.revoked_at is not None}
            for r in session.scalars(select(TokenRow).order_by(TokenRow.created_at))]


def authenticate(session: Session, secret: str, now: datetime, with_expiry: bool = False):
    row = session.scalar(select(TokenRow).where(TokenRow.token_hash == digest(secret)))
    if row is None:
        raise Unauthorized("The token is not known.", code="unauthorized")
    if row.revoked_at is not None:
        raise Unauthorized("The token has been revoked.", code="token_revoked")
    if row.expires_at <= now:
        raise Unauthorized("The token has expired; ask for a new one.", code="token_expired")
    actor = Actor(token_id=row.id, role=row.role, person=row.person, site_id=row.site_id)
    return (actor, row.expires_at) if with_expiry else actor
