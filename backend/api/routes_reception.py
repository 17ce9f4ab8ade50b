"""Reception: find today's citizens by name or CPR (POST: a CPR never goes in a URL), the
pre-call list of booked citizens to call ahead, and the planner's settings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import ConfigDict, Field

from ..services import counters, precalls
from ..services.search import search_today
from .deps import Writer, current_actor, get_ctx, writer
from .roles import ADMIN, CW, REC, SUP, op
from .schemas import Body, Cpr, VisitOut, exactly_one

router = APIRouter(prefix="/sites/{site_id}", tags=["reception"])
visit_router = APIRouter(prefix="/visits", tags=["reception"])
SiteId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class SearchBody(Body):
    """By name (two letters or more, spaces aside) or by CPR number: exactly one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one("name", "cpr"))
    name: Annotated[str, Field(min_length=2, max_length=200, pattern=r"\S[\s\S]*\S")
                    ] | None = None
    cpr: Cpr | None = None


@op(router, "POST", "/search", (REC, SUP, CW), response_model=list[VisitOut],
    summary="Today's visits by the citizen's name (part of it) or CPR number")
async def search(body: SearchBody, site_id: str = SiteId, w: Writer = Depends(writer)):
    # a write: a search by CPR is audited (who searched, how many found; never the number)
    return await w.run(lambda tx: search_today(tx.session, tx.ctx, site_id, name=body.name,
                                               cpr=body.cpr, now=tx.now, tx=tx),
                       remember=False)


class PrecallBody(Body):
    result: Literal["solved_by_phone", "self_service", "needs_visit", "not_reached"]
    note: Annotated[str, Field(max_length=2000)] | None = None
    prepared_notes: Annotated[str, Field(max_length=2000)] | None = None


@op(router, "GET", "/precalls", (REC, SUP),
    summary="Booked citizens of today and the next working days not yet called ahead")
def precall_list(site_id: str = SiteId, days: int = Query(3, ge=0, le=14),
                 ctx=Depends(get_ctx), actor=Depends(current_actor)):
    with ctx.db.read() as s:
        return precalls.precall_list(s, ctx, site_id, days, ctx.clock.now())


@op(visit_router, "POST", "/{visit_id}/precall", (REC, SUP), response_model=VisitOut,
    summary="Record a call ahead: solved by phone or self-service (cancels the visit, its "
            "slot is free), needs the visit (prepared notes), not reached")
async def record_precall(body: PrecallBody, visit_id: int = Path(ge=1, le=2**31 - 1),
                   w: Writer = Depends(writer)):
    return await w.run(lambda tx: precalls.record(tx, visit_id, body.result, body.note,
                                            body.prepared_notes, w.if_match))


class PlannerBody(Body):
    passed_over_minutes: Annotated[int, Field(ge=0, le=480)] | None = None
    duration_quantile: Annotated[float, Field(ge=0, le=1)] | None = None


@op(router, "GET", "/planner", (CW, REC, SUP, ADMIN),
    summary="The planner's settings in force for the site")
def get_planner(site_id: str = SiteId, ctx=Depends(get_ctx), actor=Depends(current_actor)):
    with ctx.db.read() as s:
        return counters.planner_settings(s, ctx, site_id)


@op(router, "PUT", "/planner", (SUP, ADMIN),
    summary="Change the planner's settings for the site (audited; an event tells everyone)")
async def put_planner(body: PlannerBody, site_id: str = SiteId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: counters.set_planner(tx, site_id, body.passed_over_minutes,
                                                 body.duration_quantile))
