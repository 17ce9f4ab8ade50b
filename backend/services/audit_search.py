"""Searching the audit log, for a citizen's access request or an internal review.

By CPR (compared as the keyed hash the audit keeps, so it works after the visit's
personal data is purged), by name (only while the visits still hold names), or by the
user who acted; a supervisor whose token is bound to a site sees that site's entries only.
The search itself is audited: who searched, how, how many hits — never the CPR or name
searched for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..domain import cpr as cprlib
from ..domain.errors import Invalid
from ..storage.models import AuditRow, VisitRow
from .context import Tx

LIMIT = 500


def search(tx: Tx, *, cpr: str | None, name: str | None, user: str | None
           ) -> dict[str, Any]:
    given = [k for k, v in (("cpr", cpr), ("name", name), ("user", user)) if v]
    if len(given) != 1:
        raise Invalid("Search the audit by one of: CPR, name or user.", code="invalid_search")
    query = select(AuditRow)
    if cpr:
        query = query.where(AuditRow.citizen_ref == cprlib.keyed_hash(
            cprlib.normalise(cpr), tx.ctx.hmac_key))
    elif name:
        ids = select(VisitRow.id).where(func.lower(VisitRow.citizen_name)
                                        .contains(name.strip().lower()))
        query = query.where(AuditRow.visit_id.in_(ids))
    else:
        query = query.where(AuditRow.actor == user)
    if tx.actor.site_id is not None:  # a token bound to a site sees that site's entries only
        query = query.where(AuditRow.site_id == tx.actor.site_id)
    rows = list(tx.session.scalars(query.order_by(AuditRow.at.desc(), AuditRow.id.desc())
                                   .limit(LIMIT)))
    tickets = dict(tx.session.execute(select(VisitRow.id, VisitRow.ticket).where(
        VisitRow.id.in_({r.visit_id for r in rows if r.visit_id}))).all())
    tx.audit("audit_search", site_id=tx.actor.site_id, detail={"by": given[0], "hits": len(rows)})
    return {"by": given[0], "count": len(rows), "entries": [
        {"at": r.at.isoformat(), "actor": r.actor, "role": r.role, "action": r.action,
         "site_id": r.site_id, "visit_id": r.visit_id, "ticket": tickets.get(r.visit_id),
         "detail": r.detail} for r in rows]}
