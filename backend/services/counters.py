"""Counters: open, pause, close, and the errands a counter handles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..domain.errors import DomainError
from ..storage import repo
from ..storage.models import CounterRow, SiteRow, VisitRow
from .context import Tx
from .views import counter_view


def _changed(tx: Tx, c: CounterRow, action: str, detail: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    c.version += 1
    c.updated_at = tx.now
    tx.audit(f"counter_{action}", site_id=c.site_id, counter_id=c.id, detail=detail)
    view = counter_view(c)
    tx.emit(c.site_id, f"counter.{action}", {"counter": view})
    return view


def open_counter(tx: Tx, site_id: str, number: int) -> dict[str, Any]:
    c = tx.counter_row(site_id, number)
    person = tx.actor.person
    if tx.actor.role == "supervisor" and c.state == "paused" and c.staffed_by:
        c.state = "open"  # the supervisor reopens a paused counter for whoever staffs it
        return _changed(tx, c, "open", {"staffed_by": c.staffed_by})
    if c.staffed_by not in (None, person):
        raise DomainError(f"{c.name} is staffed by {c.staffed_by}.", code="counter_staffed",
                          counter=c.number, staffed_by=c.staffed_by)
    other = tx.session.scalar(select(CounterRow).where(CounterRow.staffed_by == person,
                                                       CounterRow.id != c.id))
    if other is not None:
        raise DomainError(f"You already staff {other.name}; close it first.",
                          code="already_staffing", counter=other.number)
    if c.state == "open" and c.staffed_by == person:
        return counter_view(c)
    c.state, c.staffed_by = "open", person
    return _changed(tx, c, "open")


def pause_counter(tx: Tx, site_id: str, number: int) -> dict[str, Any]:
    c = tx.counter_row(site_id, number)
    tx.check_counter(c)
    if c.state != "open":
        raise DomainError(f"{c.name} is {c.state}, not open.", code="counter_not_open",
                          state=c.state)
    c.state = "paused"
    return _changed(tx, c, "pause")


def close_counter(tx: Tx, site_id: str, number: int) -> dict[str, Any]:
    c = tx.counter_row(site_id, number)
    tx.check_counter(c)
    if c.state == "closed":
        return counter_view(c)
    held = tx.session.scalar(select(VisitRow).where(
        VisitRow.counter_id == c.id, VisitRow.state.in_(["called", "serving"])))
    if held is not None:
        raise DomainError(f"{c.name} still has {held.ticket} ({held.state}); finish, requeue "
                          "or transfer it before closing.", code="counter_busy",
                          ticket=held.ticket, visit_id=held.id, state=held.state)
    # citizens waiting for this counter go back to the pool
    moved = list(tx.session.scalars(select(VisitRow).where(
        VisitRow.counter_id == c.id, VisitRow.state.in_(["waiting", "parked"]))))
    for v in moved:
        if v.state == "waiting":
            v.counter_id = None
            v.version += 1
    c.state, c.staffed_by = "closed", None
    return _changed(tx, c, "close", {"to_pool": [v.id for v in moved if v.state == "waiting"]})


def set_errands(tx: Tx, site_id: str, number: int, errands: list[str] | None
                ) -> dict[str, Any]:
    c = tx.counter_row(site_id, number)
    if errands is not None:
        for code in errands:
            tx.ctx.errand(code)
        errands = sorted(set(errands))
    c.errands = errands
    return _changed(tx, c, "errands", {"errands": errands})



def planner_settings(session, ctx, site_id: str) -> dict[str, Any]:
    """The planner's settings in force: the supervisor's, else the settings file's."""
    rules = repo.planner_rules(session, site_id, ctx.site(site_id).rules)
    return {"site_id": site_id, "passed_over_minutes": rules.passed_over_minutes,
            "duration_quantile": rules.duration_quantile}


def set_planner(tx: Tx, site_id: str, passed_over_minutes: int | None,
                duration_quantile: float | None) -> dict[str, Any]:
    """A supervisor changes the planner's settings for the site; audited and sent as an
    event so every console's queue order and expected times follow."""
    tx.lock(site_id)
    row = tx.session.get(SiteRow, site_id)
    if passed_over_minutes is not None:
        row.passed_over_minutes = passed_over_minutes
    if duration_quantile is not None:
        row.duration_quantile = duration_quantile
    lock = tx.site_lock(site_id)  # what this transaction's reads of the rules see
    lock.passed_over_minutes, lock.duration_quantile = (row.passed_over_minutes,
                                                        row.duration_quantile)
    out = planner_settings(tx.session, tx.ctx, site_id)
    tx.audit("planner_settings", site_id=site_id, detail=out)
    tx.emit(site_id, "site.planner", {"planner": out})
    return out
