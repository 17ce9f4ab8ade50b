"""Statistics from the anonymised visit facts: one site's, or the municipality's (every
site, and all of them together) for a token that is not bound to one site. As JSON and as
CSV; dates strictly YYYY-MM-DD."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ..domain.errors import Forbidden, Invalid
from ..services import stats as statslib
from .deps import current_actor, get_ctx
from .roles import ADMIN, SUP, op
from .routes_sites import SiteId
from .schemas import Day

router = APIRouter(tags=["stats"])
ROLES = (SUP, ADMIN)
RANGE = ("The last day (default: `from`); no earlier than `from` and at most 366 days "
         "after it, else 422 `invalid_range`.")
From = Annotated[Day, Query(alias="from", description="The first day, YYYY-MM-DD.")]
To = Annotated[Day | None, Query(description=RANGE)]


class CsvResponse(Response):
    """CSV, declared as `text/csv` in the OpenAPI (the answer says `; charset=utf-8`)."""

    media_type = "text/csv"


def _range(start: date, end: date | None) -> date:
    end = end or start
    if end < start or (end - start).days > 366:
        raise Invalid("The range runs from 'from' to 'to', at most a year.",
                      code="invalid_range")
    return end


def _site(ctx, site_id: str, start: date, end: date | None) -> dict:
    end = _range(start, end)
    ctx.site(site_id)
    with ctx.db.read() as s:
        return statslib.stats(s, ctx, site_id, start, end)


def _municipality(ctx, actor, start: date, end: date | None) -> dict:
    if actor.site_id is not None:
        raise Forbidden(f"This token is for site '{actor.site_id}' only: its statistics are "
                        f"at /sites/{actor.site_id}/stats.", code="wrong_site",
                        site=actor.site_id)
    end = _range(start, end)
    with ctx.db.read() as s:
        return statslib.municipality(s, ctx, start, end)


@op(router, "GET", "/sites/{site_id}/stats", ROLES,
    summary="Statistics of a day or a date range, from the anonymised visit facts")
def site_stats(from_: From, site_id: str = SiteId, to: To = None,
               ctx=Depends(get_ctx), actor=Depends(current_actor)):
    return _site(ctx, site_id, from_, to)


@op(router, "GET", "/sites/{site_id}/stats.csv", ROLES, response_class=CsvResponse,
    summary="The same statistics as CSV: section, key, value")
def site_stats_csv(from_: From, site_id: str = SiteId, to: To = None,
                   ctx=Depends(get_ctx), actor=Depends(current_actor)):
    return CsvResponse(statslib.to_csv(_site(ctx, site_id, from_, to)))


@op(router, "GET", "/stats", ROLES,
    summary="The municipality's statistics: each site's, and all sites together",
    description="For a token not bound to one site (else 403 `wrong_site`). `sites`: each "
                "site's figures as /sites/{site_id}/stats gives them; `total`: the same "
                "figures over the visits of every site.")
def municipality_stats(from_: From, to: To = None, ctx=Depends(get_ctx),
                       actor=Depends(current_actor)):
    return _municipality(ctx, actor, from_, to)


@op(router, "GET", "/stats.csv", ROLES, response_class=CsvResponse,
    summary="The municipality's statistics as CSV: site, section, key, value",
    description="Each site's rows, then those of all sites together (site `*`). For a token "
                "not bound to one site (else 403 `wrong_site`).")
def municipality_stats_csv(from_: From, to: To = None, ctx=Depends(get_ctx),
                           actor=Depends(current_actor)):
    return CsvResponse(statslib.municipality_csv(_municipality(ctx, actor, from_, to)))
