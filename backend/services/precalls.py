"""The pre-call list: booked citizens of today and the next working days, called ahead to
solve the errand by phone or self-service, or to prepare the visit.

Recording a call: solved by phone / sent to self-service cancel the visit (its slot is
free again: a gap for walk-ins); needs the visit keeps it and writes the prepared notes
the caseworker reads on the citizen card; not reached counts an attempt and keeps the
citizen on the list. Every record is audited and sent as an event, like any change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..domain import lifecycle
from ..domain.errors import DomainError
from ..storage import repo
from ..storage.models import VisitRow
from .context import Tx
from .views import iso, visit_view
from .visits import finish_change

RESULTS = ("solved_by_phone", "self_service", "needs_visit", "not_reached")
CANCELS = {"solved_by_phone", "self_service"}


def precall_list(session, ctx, site_id: str, days: int, now) -> dict[str, Any]:
    site = ctx.site(site_id)
    today = ctx.today(site, now)
    open_days = site.open_days(today, days + 1)
    last = open_days[-1] if open_days else today
    rows = list(session.scalars(select(VisitRow).where(
        VisitRow.site_id == site_id, VisitRow.kind == "booked", VisitRow.day >= today,
        VisitRow.day <= last).order_by(VisitRow.slot_start)))
    rows = [r for r in rows if r.state in ("booked", "cancelled")]
    called = [r for r in rows if r.precall and r.precall.get("result") != "not_reached"]
    todo = [r for r in rows if r.state == "booked" and (
        not r.precall or r.precall.get("result") == "not_reached")]
    solved = sum(1 for r in called if r.precall.get("result") in CANCELS)
    counters = {c.id: c for c in repo.counters(session, site_id)}
    return {"from": today.isoformat(), "to": last.isoformat(), "total": len(rows),
            "called": len(called), "solved": solved,
            "visits": [visit_view(session, ctx, r, counters=counters, notes=[]) for r in todo]}


def record(tx: Tx, visit_id: int, result: str, note: str | None,
           prepared_notes: str | None, if_match: int | None) -> dict[str, Any]:
    row = tx.visit_row(visit_id, if_match)  # locks the site
    if row.kind != "booked" or row.state != "booked":
        raise DomainError(f"{row.ticket} is {row.state}; only booked citizens not yet arrived "
                          "are called ahead.", code="not_precallable", state=row.state)
    attempts = int((row.precall or {}).get("attempts", 0)) + 1
    row.precall = {"at": iso(tx.now, tx.ctx.site(row.site_id).tz), "by": tx.actor.person,
                   "result": result, "note": note, "attempts": attempts}
    if result == "needs_visit" and prepared_notes:
        row.prepared_notes = prepared_notes
    if result in CANCELS:
        tx.save(row, lifecycle.cancel(repo.to_visit(row), tx.now, f"precall_{result}"))
    else:
        row.version += 1
    return finish_change(tx, row, "precall", {"result": result, "attempts": attempts})
