"""Site endpoints: the day snapshot, the display board, counters, call next, walk-ins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from ..services import counters, visits
from ..services.views import counter_view, day_view, iso
from ..storage import repo
from ..storage.models import SiteRow, VisitRow
from .deps import Writer, current_actor, get_ctx, writer
from .roles import ADMIN, ALL, COUNTER, DISPLAY, KIOSK, REC, STAFF, SUP, op
from .schemas import (
    CallNextOut,
    CheckInBody,
    CounterOut,
    Day,
    DayOut,
    ErrandsBody,
    TicketOut,
    VisitOut,
    WalkinBody,
    for_role,
)

router = APIRouter(prefix="/sites/{site_id}", tags=["sites"])
SiteId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
CounterNo = Path(ge=1, le=999)


@op(router, "GET", "/day", STAFF, response_model=DayOut,
    summary="The day snapshot: counters, visits in queue order, and the event sequence")
def day(site_id: str = SiteId, date_: Annotated[Day | None, Query(alias="date")] = None,
        ctx=Depends(get_ctx), actor=Depends(current_actor)):
    site = ctx.site(site_id)
    with ctx.db.read() as s:
        now = ctx.clock.now()
        seq = s.scalar(select(SiteRow.event_seq).where(SiteRow.id == site_id)) or 0
        return day_view(s, ctx, site_id, date_ or ctx.today(site, now), now, seq)


@op(router, "GET", "/board", (DISPLAY, KIOSK, *STAFF),
    summary="The waiting-room display: called tickets and their counters, no names")
def board(site_id: str = SiteId, ctx=Depends(get_ctx), actor=Depends(current_actor)):
    site = ctx.site(site_id)
    with ctx.db.read() as s:
        now = ctx.clock.now()
        counters_ = {c.id: c for c in repo.counters(s, site_id)}
        rows = s.scalars(select(VisitRow).where(
            VisitRow.site_id == site_id, VisitRow.day == ctx.today(site, now),
            VisitRow.state.in_(["called", "waiting"])).order_by(VisitRow.last_called_at))
        called, waiting = [], 0
        for r in rows:
            if r.state == "called":
                called.append({"ticket": r.ticket, "counter": counters_[r.counter_id].name,
                               "called_at": iso(r.last_called_at, site.tz),
                               "call_count": r.call_count})
            else:
                waiting += 1
        return {"site_id": site_id, "called": called[::-1], "waiting": waiting}


@op(router, "GET", "/counters", ALL, response_model=list[CounterOut])
def list_counters(site_id: str = SiteId, ctx=Depends(get_ctx), actor=Depends(current_actor)):
    ctx.site(site_id)
    with ctx.db.read() as s:
        return [counter_view(c) for c in repo.counters(s, site_id)]


@op(router, "POST", "/counters/{number}/open", COUNTER, response_model=CounterOut,
    summary="Open (or unpause) a counter; you staff it")
async def open_counter(site_id: str = SiteId, number: int = CounterNo, w: Writer = Depends(writer)):
    return await w.run(lambda tx: counters.open_counter(tx, site_id, number))


@op(router, "POST", "/counters/{number}/pause", COUNTER, response_model=CounterOut)
async def pause_counter(site_id: str = SiteId, number: int = CounterNo,
                  w: Writer = Depends(writer)):
    return await w.run(lambda tx: counters.pause_counter(tx, site_id, number))


@op(router, "POST", "/counters/{number}/close", COUNTER, response_model=CounterOut,
    summary="Close a counter; citizens waiting for it go back to the pool")
async def close_counter(site_id: str = SiteId, number: int = CounterNo,
                  w: Writer = Depends(writer)):
    return await w.run(lambda tx: counters.close_counter(tx, site_id, number))


@op(router, "PUT", "/counters/{number}/errands", (SUP, ADMIN), response_model=CounterOut,
    summary="The errands a counter handles (null: all)")
async def counter_errands(body: ErrandsBody, site_id: str = SiteId, number: int = CounterNo,
                    w: Writer = Depends(writer)):
    return await w.run(lambda tx: counters.set_errands(tx, site_id, number, body.errands))


@op(router, "POST", "/counters/{number}/call-next", COUNTER, response_model=CallNextOut,
    summary="Call the next citizen to this counter (atomic)")
async def call_next(site_id: str = SiteId, number: int = CounterNo, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.call_next(tx, site_id, number))


@op(router, "POST", "/walk-ins", (REC, SUP, KIOSK), response_model=VisitOut | TicketOut,
    status_code=201, summary="Register a walk-in: it waits at once",
    description="A kiosk is answered with the ticket and its times only (TicketOut).")
async def walk_in(body: WalkinBody, site_id: str = SiteId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: for_role(tx.actor.role, visits.register_walkin(
        tx, site_id, body.errand, body.name, body.cpr, body.phone,
        {k: v.value for k, v in body.documents.items()}, body.priority,
        answers=body.answers)), status=201)


@op(router, "POST", "/check-in", (REC, SUP, KIOSK), response_model=VisitOut | TicketOut,
    summary="Check in a booked citizen by booking reference (kiosk)",
    description="A kiosk is answered with the ticket and its times only (TicketOut).")
async def check_in(body: CheckInBody, site_id: str = SiteId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: for_role(tx.actor.role, visits.check_in_by_ref(
        tx, site_id, body.booking_ref)))
