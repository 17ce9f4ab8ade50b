"""Reception: find today's citizens by name or CPR (POST: a CPR never goes in a URL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from ..services.search import search_today
from .deps import current_actor, get_ctx
from .roles import CW, REC, SUP, op
from .schemas import Body, VisitOut

router = APIRouter(prefix="/sites/{site_id}", tags=["reception"])
SiteId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class SearchBody(Body):
    name: Annotated[str, Field(min_length=2, max_length=200)] | None = None
    cpr: Annotated[str, Field(min_length=10, max_length=11)] | None = None


@op(router, "POST", "/search", (REC, SUP, CW), response_model=list[VisitOut],
    summary="Today's visits by the citizen's name (part of it) or CPR number")
def search(body: SearchBody, site_id: str = SiteId, ctx=Depends(get_ctx),
           actor=Depends(current_actor)):
    with ctx.db.read() as s:
        return search_today(s, ctx, site_id, name=body.name, cpr=body.cpr,
                            now=ctx.clock.now())
