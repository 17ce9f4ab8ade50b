"""Finding today's visits of a site by the citizen's name or CPR (reception checking in).

CPR searches come in a POST body, never a URL; the number is compared as its keyed hash
(`cpr_ref`), never in clear (the stored CPR is encrypted, storage/crypto.py), and each CPR
search is audited like a reveal. The answer carries the staff view (masked CPR)."""

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
                 now, tx=None) -> list[dict[str, Any]]:
    """Today's visits found; with `tx` (a write), a CPR search writes an audit row per visit
    found (or one without a visit when none is), as revealing a CPR does."""
    if bool(name) == bool(cpr):
        raise Invalid("Search by name or by CPR number, one of them.", code="invalid_search")
    site = ctx.site(site_id)
    query = select(VisitRow).where(VisitRow.site_id == site_id,
                                   VisitRow.day == ctx.today(site, now))
    if cpr:
        query = query.where(VisitRow.cpr_ref == cprlib.keyed_hash(cprlib.normalise(cpr),
                                                                  ctx.hmac_key))
    else:
        words = name.strip().lower()
        if len(words) < 2:
            raise Invalid("Write at least two letters of the name.", code="invalid_search")
        query = query.where(func.lower(VisitRow.citizen_name).contains(words))
    rows = list(session.scalars(query.order_by(VisitRow.slot_start, VisitRow.id).limit(LIMIT)))
    if cpr and tx is not None:
        for row in rows or [None]:
            tx.audit("search_cpr", site_id=site_id, visit=row, detail={"hits": len(rows)})
    counters = {c.id: c for c in repo.counters(session, site_id)}
    return [visit_view(session, ctx, r, counters=counters) for r in rows]
