"""The citizen's own ticket page code: random (144 bits), valid on the visit's day only,
kept as its SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage.models import TicketCodeRow, VisitRow

CODE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue(session: Session, visit: VisitRow, now: datetime) -> str:
    code = secrets.token_urlsafe(18)
    session.add(TicketCodeRow(code_hash=_hash(code), visit_id=visit.id, site_id=visit.site_id,
                              day=visit.day, created_at=now))
    return code


def find(session: Session, ctx, code: str, now: datetime) -> VisitRow | None:
    """The visit of a code that is today's at its site; None for anything else."""
    if not CODE.match(code):
        return None
    row = session.get(TicketCodeRow, _hash(code))
    if row is None or row.site_id not in ctx.settings.site_map:
        return None
    if row.day != ctx.today(ctx.site(row.site_id), now):
        return None
    return session.scalar(select(VisitRow).where(VisitRow.id == row.visit_id))


def url(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/t/{code}"
