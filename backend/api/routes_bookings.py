"""The booking calendar: free times, and bookings made, moved and cancelled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query
from sqlalchemy import select

from ..domain.errors import NotFound
from ..services import bookings
from ..services.views import visit_view
from ..storage.models import VisitRow
from .deps import Writer, current_actor, get_ctx, writer
from .roles import BOOKING, CW, REC, SUP, op
from .schemas import BookingBody, CancelBody, Day, FreeTimesOut, RescheduleBody, VisitOut

router = APIRouter(tags=["bookings"])
ROLES = (REC, SUP, BOOKING)
#: A caseworker finishing a visit for missing documents rebooks the citizen there and then.
REBOOK = (CW, REC, SUP, BOOKING)
Ref = Path(pattern=r"^[A-Za-z0-9]{4,12}$")


@op(router, "GET", "/sites/{site_id}/free-times", REBOOK, response_model=FreeTimesOut,
    summary="Free booking times for an errand on a day")
def free_times(date_: Annotated[Day, Query(alias="date")], site_id: str,
               errand: str = Query(pattern=r"^[a-z][a-z0-9_]{1,39}$"), ctx=Depends(get_ctx),
               actor=Depends(current_actor)):
    with ctx.db.read() as s:
        return bookings.free_times(ctx, s, site_id, errand, date_)


@op(router, "POST", "/sites/{site_id}/bookings", REBOOK, response_model=VisitOut,
    status_code=201, summary="Book a free time")
async def create(body: BookingBody, site_id: str, w: Writer = Depends(writer)):
    return await w.run(lambda tx: bookings.create_booking(
        tx, site_id, body.errand, body.start, body.name, body.cpr, body.phone, body.note,
        body.counter), status=201)


@op(router, "GET", "/bookings/{ref}", ROLES, response_model=VisitOut)
def get(ref: str = Ref, ctx=Depends(get_ctx), actor=Depends(current_actor)):
    with ctx.db.read() as s:
        row = s.scalar(select(VisitRow).where(VisitRow.booking_ref == ref.upper()))
        if row is None:
            raise NotFound("No booking with that reference.", code="unknown_booking")
        actor.check_site(row.site_id)
        return visit_view(s, ctx, row)


@op(router, "PATCH", "/bookings/{ref}", ROLES, response_model=VisitOut,
    summary="Move a booking to another free time")
async def reschedule(body: RescheduleBody, ref: str = Ref, w: Writer = Depends(writer)):
    return await w.run(lambda tx: bookings.move_booking(tx, ref, body.start, w.if_match))


@op(router, "DELETE", "/bookings/{ref}", ROLES, response_model=VisitOut,
    summary="Cancel a booking; its slot becomes free")
async def cancel(ref: str = Ref, body: CancelBody = Body(default_factory=CancelBody),
           w: Writer = Depends(writer)):
    return await w.run(lambda tx: bookings.cancel_booking(tx, ref, body.reason, w.if_match))
