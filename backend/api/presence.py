"""Which consoles are alive and which of their actions wait for an answer: for the floor.

Each console says every few seconds (`PUT /sites/{site}/consoles/presence`) that it is
there, at which counter, and which of its actions were sent and not yet answered (kind,
the time it was sent, the visit's id and ticket; never a name or a CPR number). The
supervisor's floor reads them all (`GET /sites/{site}/consoles`) and shows, per counter,
"⧗ Kald næste sendt 10:02 — intet svar endnu" and a console not heard from for a while.

Kept in the process's memory, never in the database: a heartbeat must get through while
the database is held by a backup or its disk is full, exactly when actions go unanswered,
and it must cost nothing (a dict entry replaced). Nothing of it matters after a restart:
the consoles say it all again within seconds.

Several server processes (`serve --workers N`, PostgreSQL): a console's heartbeat reaches
one process, the floor's read maybe another, so no process knows every console. Each
answers what it heard with `complete: false`, and the floor then shows the waiting actions
it is told of but never "not heard" (which could be false: the console may be talking to
another process). Sharing them (pg_notify to every process's listener) is not built.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from .deps import current_actor, get_ctx
from .roles import STAFF, SUP, op

#: Seconds without a heartbeat after which the floor says a console was not heard (a
#: console says it every `PRESENCE_SECONDS`, console/config.py: 5 s).
STALE_SECONDS = 20.0
#: A console silent this long with nothing waiting is forgotten (closed without saying).
FORGET_SECONDS = 30 * 60.0
#: The consoles one process keeps at most (the oldest heard is forgotten first).
MAX_CONSOLES = 500

SiteId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class PendingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,30}$")]
    label: Annotated[str, Field(max_length=60)]
    sent_at: Annotated[str, Field(max_length=40, description="when it was first sent (ISO)")]
    visit_id: int | None = None
    ticket: Annotated[str | None, Field(max_length=12)] = None
    reason: Annotated[str | None, Field(max_length=120)] = None
    overdue: bool = False


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    counter: Annotated[int | None, Field(ge=1, le=999)] = None
    pending: Annotated[list[PendingIn], Field(max_length=20)] = []


class PendingOut(PendingIn):
    pass


class ConsoleOut(BaseModel):
    counter: int | None
    role: str
    silent_seconds: float = Field(description="since this process last heard the console")
    pending: list[PendingOut]


class ConsolesOut(BaseModel):
    consoles: list[ConsoleOut]
    stale_after: float = Field(description="silent this long: 'not heard'")
    complete: bool = Field(description="false with several server processes: only the "
                           "consoles this one heard; 'not heard' is then not known")


@dataclass
class _Console:
    role: str
    counter: int | None
    pending: list[dict[str, Any]]
    heard: float = field(default_factory=time.monotonic)


class Presence:
    """The consoles one process heard from, per site."""

    def __init__(self) -> None:
        self.consoles: OrderedDict[tuple[str, str, int | None], _Console] = OrderedDict()

    def heard(self, site: str, token: str, role: str, body: PresenceIn) -> None:
        key = (site, token, body.counter)
        self.consoles.pop(key, None)
        self.consoles[key] = _Console(role, body.counter,
                                      [p.model_dump() for p in body.pending])
        while len(self.consoles) > MAX_CONSOLES:
            self.consoles.popitem(last=False)

    def gone(self, site: str, token: str, counter: int | None) -> None:
        self.consoles.pop((site, token, counter), None)

    def of(self, site: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        for key in [k for k, c in self.consoles.items()
                    if now - c.heard > FORGET_SECONDS and not c.pending]:
            del self.consoles[key]
        return [{"counter": c.counter, "role": c.role, "silent_seconds": round(now - c.heard, 1),
                 "pending": c.pending}
                for (s, _t, _n), c in self.consoles.items() if s == site]


def complete() -> bool:
    """Whether this process is the only one (see the module's docstring)."""
    from ..cli import WORKER_ENV

    return WORKER_ENV not in os.environ


router = APIRouter(prefix="/sites/{site_id}", tags=["consoles"])


def presence(request: Request) -> Presence:
    """The process's one registry (the handlers are async: they run on the event loop, one
    at a time, so the registry needs no lock)."""
    state = request.app.state
    if not hasattr(state, "presence"):
        state.presence = Presence()
    return state.presence


@op(router, "PUT", "/consoles/presence", STAFF, status_code=204, response_class=Response,
    summary="A console is here: its counter and its actions waiting for an answer",
    description="Every few seconds from each console. In the server's memory only (it "
    "gets through while the database is held or full); no name or CPR number.")
async def put_presence(body: PresenceIn, site_id: str = SiteId, ctx=Depends(get_ctx),
                       actor=Depends(current_actor), registry: Presence = Depends(presence)):
    ctx.site(site_id)  # 404 for a site that is not
    registry.heard(site_id, actor.token_id, actor.role, body)
    return Response(status_code=204)


@op(router, "DELETE", "/consoles/presence", STAFF, status_code=204, response_class=Response,
    summary="A console closes: forget it")
async def delete_presence(site_id: str = SiteId, counter: int | None = None,
                          ctx=Depends(get_ctx), actor=Depends(current_actor),
                          registry: Presence = Depends(presence)):
    ctx.site(site_id)
    registry.gone(site_id, actor.token_id, counter)
    return Response(status_code=204)


@op(router, "GET", "/consoles", (SUP,), response_model=ConsolesOut,
    summary="The consoles heard lately, their counters and actions waiting for an answer")
async def consoles(site_id: str = SiteId, ctx=Depends(get_ctx), actor=Depends(current_actor),
                   registry: Presence = Depends(presence)):
    ctx.site(site_id)
    return {"consoles": registry.of(site_id), "stale_after": STALE_SECONDS,
            "complete": complete()}
