"""Finding today's visits of a site by the citizen's name or CPR (reception checking in).

CPR searches come in a POST body, never a URL, and the number is compared in its
normalised form; the answer carries the staff view (masked CPR)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import cpr as cprlib
from ..domain.errors import Invalid
from ..storage import repo
from ..storage.models import VisitRow
from .views import visit_view

LIMIT = 20


def search_today(session: Session, ctx, site_id: str, *, name: str | None, cpr: str | None,
                 now) -> list[dict[str, Any]]:
    if bool(name) == bool(cpr):
        raise Invalid("Search by name or by CPR number, one of them.", code="invalid_search")
    site = ctx.site(site_id)
    query = select(VisitRow).where(VisitRow.site_id == site_id,
                                   VisitRow.day == ctx.today(site, now))
    if cpr:
        query = query.where(VisitRow.cpr == cprlib.normalise(cpr))
    else:
        words = name.strip().lower()
        if len(words) < 2:
            raise Invalid("Write at least two letters of the name.", code="invalid_search")
        query = query.where(func.lower(VisitRow.citizen_name).contains(words))
    rows = list(session.scalars(query.order_by(VisitRow.slot_start, VisitRow.id).limit(LIMIT)))
    counters = {c.id: c for c in repo.counters(session, site_id)}
    return [visit_view(session, ctx, r, counters=counters) for r in rows]
