"""The audit view: search by citizen (CPR in the body, or name) or by user; supervisors
only; the search is itself audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field

from ..services import audit_search
from .deps import Writer, writer
from .roles import SUP, op
from .schemas import Body, Cpr, exactly_one

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditSearchBody(Body):
    """By CPR, by name or by user: exactly one."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra=exactly_one("cpr", "name", "user"))
    cpr: Cpr | None = None
    name: Annotated[str, Field(min_length=2, max_length=200, pattern=r"\S")] | None = None
    user: Annotated[str, Field(min_length=1, max_length=80, pattern=r"\S")] | None = None


@op(router, "POST", "/search", (SUP,),
    summary="Search the audit log by citizen (CPR or name) or by user (audited)")
async def search(body: AuditSearchBody, w: Writer = Depends(writer)):
    return await w.run(lambda tx: audit_search.search(tx, cpr=body.cpr, name=body.name,
                                                user=body.user), remember=False)
