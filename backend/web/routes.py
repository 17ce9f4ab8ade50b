"""The waiting room's pages and their data: the call display, the kiosk, the citizen's own
ticket page, and device pairing. Not in the OpenAPI document (it is the console's
contract); a device's requests carry its pairing cookie (auth.py), a ticket page only its
code."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..api.deps import Writer, get_ctx
from ..api.schemas import Body, Name, Phone
from ..domain.errors import DomainError
from . import kiosk, pairing, tickets
from .auth import device_actor, device_writer, set_cookie
from .live import Live
from .pages import base_url, page, texts_for
from .views import expected_call

router = APIRouter(include_in_schema=False)
SiteId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
Code = Path(pattern=r"^[A-Za-z0-9_-]{16,64}$")
Errand = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
DISPLAY = {"x-roles": ["display"]}
KIOSK = {"x-roles": ["kiosk"]}


def live(request: Request) -> Live:
    state = request.app.state
    if getattr(state, "live", None) is None:
        state.live = Live(state.ctx, state.hub)
    return state.live


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


# --- pairing ----------------------------------------------------------------------------------
def _redeem(ctx, code: str, now):
    with ctx.db.write() as s:
        done = pairing.redeem(s, code, now)
        if done is None:
            return None
        secret, row, site_id = done
        return secret, row.role, int((row.expires_at - now).total_seconds()), site_id


@router.get("/pair/{code}")
def pair(request: Request, code: str = Code, ctx=Depends(get_ctx)):
    now = ctx.clock.now()
    done = ctx.write_now(_redeem, ctx, code, now)
    if done is None:
        return page(request, "message.html", status=404, title="Parring mislykkedes",
                    lines=["Parringslinket er ukendt, brugt eller udløbet.",
                           "The pairing link is unknown, used or expired.",
                           "skranke-server token create --role display|kiosk"])
    secret, role, max_age, site_id = done
    target = pairing.PAGES[role].format(site=site_id)
    response = page(request, "paired.html", target=target, role=role)
    set_cookie(response, secret, max_age, secure=request.url.scheme == "https")
    return response


# --- the call display -------------------------------------------------------------------------
async def _device_page(request: Request, template: str, site_id: str, **values):
    ctx = request.app.state.ctx
    try:
        ctx.site(site_id)
        await device_actor(request)
    except DomainError as exc:
        if exc.code == "wrong_site":
            return page(request, "message.html", status=exc.status, title="Forkert sted",
                        lines=[f"Denne skærm er parret med '{exc.extra['site']}', ikke med "
                               f"'{site_id}'.",
                               f"This screen is paired with '{exc.extra['site']}', not with "
                               f"'{site_id}'.",
                               f"/{template.split('.')[0]}/{exc.extra['site']}"])
        return page(request, "message.html", status=exc.status, title="Ikke parret",
                    lines=["Denne skærm er ikke parret med Skranke.",
                           "This screen is not paired with Skranke.",
                           "skranke-server token create --role display|kiosk"])
    return page(request, template, site_id=site_id, site=ctx.site(site_id), **values)


@router.get("/display/{site_id}", openapi_extra=DISPLAY)
async def display_page(request: Request, site_id: str = SiteId):
    s = request.app.state.ctx.settings
    return await _device_page(request, "display.html", site_id,
                              stale=s.display_stale_seconds)


@router.get("/device/{site_id}/board", openapi_extra=DISPLAY)
async def board(request: Request, site_id: str = SiteId, actor=Depends(device_actor)):
    request.app.state.ctx.site(site_id)
    return _json((await live(request).room(site_id)).board)


def _stream(request: Request, first, pick) -> EventSourceResponse:
    """Whole states as `pick(room)` gives them, each when it changes, and a visible `ping`
    event after each quiet device_ping_seconds (EventSource cannot see SSE comments)."""
    every = request.app.state.ctx.settings.device_ping_seconds

    async def events():
        room = await first
        sent = None
        yield ServerSentEvent(comment="skranke", retry=2000)
        while True:
            changed = room.changed
            state = pick(room)
            if state is not None and state != sent:
                sent = state
                yield ServerSentEvent(json.dumps(state, ensure_ascii=False), event="state")
            try:
                await asyncio.wait_for(changed.wait(), every)
            except TimeoutError:
                yield ServerSentEvent(datetime.now(UTC).strftime("%H:%M:%S"), event="ping")

    return EventSourceResponse(events(), ping=3600,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/device/{site_id}/stream", openapi_extra=DISPLAY)
async def board_stream(request: Request, site_id: str = SiteId, actor=Depends(device_actor)):
    request.app.state.ctx.site(site_id)
    return _stream(request, live(request).room(site_id), lambda room: room.board)


# --- the citizen's ticket page ------------------------------------------------------------------
def _ticket_visit(request: Request, code: str):
    ctx = request.app.state.ctx
    with ctx.db.read() as s:
        row = tickets.find(s, ctx, code, ctx.clock.now())
        return (row.id, row.site_id) if row is not None else None


def _no_ticket(request: Request):
    return page(request, "message.html", status=404, title="Ukendt billet",
                lines=["Billetten findes ikke, eller den er fra en anden dag.",
                       "This ticket does not exist, or it is from another day."])


@router.get("/t/{code}")
async def ticket_page(request: Request, code: str = Code):
    found = _ticket_visit(request, code)
    if found is None:
        return _no_ticket(request)
    return page(request, "ticket.html", code=code,
                site=request.app.state.ctx.site(found[1]))


@router.get("/t/{code}/status")
async def ticket_status(request: Request, code: str = Code):
    found = _ticket_visit(request, code)
    if found is None:
        return _json({"code": "unknown_ticket", "message": "No such ticket today."}, 404)
    room = await live(request).room(found[1])
    return _json(room.tickets.get(found[0]))


@router.get("/t/{code}/stream")
async def ticket_stream(request: Request, code: str = Code):
    found = _ticket_visit(request, code)
    if found is None:
        return _json({"code": "unknown_ticket", "message": "No such ticket today."}, 404)
    visit_id, site_id = found
    return _stream(request, live(request).room(site_id),
                   lambda room: room.tickets.get(visit_id))


# --- the kiosk --------------------------------------------------------------------------------
@router.get("/kiosk/{site_id}", openapi_extra=KIOSK)
async def kiosk_page(request: Request, site_id: str = SiteId):
    ctx = request.app.state.ctx
    return await _device_page(request, "kiosk.html", site_id,
                              idle=ctx.settings.kiosk_idle_seconds, texts=texts_for("kiosk"),
                              errands=kiosk.errands(ctx))


class CheckIn(Body):
    booking_ref: Annotated[str, Field(min_length=4, max_length=12, pattern=r"^[A-Za-z0-9]+$")]


class WalkIn(Body):
    errand: Errand
    documents: dict[str, bool] = Field(default_factory=dict)
    answers: dict[str, bool] = Field(default_factory=dict, max_length=10)


class Book(Body):
    errand: Errand
    start: AwareDatetime
    name: Name
    phone: Phone


def _qr(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=4, dark="#000", light="#fff")


def _ticket_answer(request: Request, answer: Response) -> JSONResponse:
    """A check-in's or walk-in's answer for the kiosk: ticket, place, expected call time, the
    ticket page's address and its QR code."""
    body = json.loads(answer.body)
    if answer.status_code >= 300:
        return _json(body, answer.status_code)
    ctx = request.app.state.ctx
    tz = ctx.site(body["site_id"]).tz
    url = tickets.url(base_url(request), body["code"])
    out = {k: body.get(k) for k in ("ticket", "kind", "errand", "state", "early_minutes",
                                    "already")}
    out.update(place=body.get("queue_rank"), expected=expected_call(body, ctx.clock.now(), tz),
               slot=body["slot_start"][11:16] if body.get("slot_start") else None,
               url=url, qr=_qr(url))
    return _json(out, answer.status_code)


@router.post("/kiosk/{site_id}/api/check-in", openapi_extra=KIOSK)
async def kiosk_check_in(request: Request, body: CheckIn, site_id: str = SiteId,
                         w: Writer = Depends(device_writer)):
    answer = await w.run(lambda tx: kiosk.check_in(tx, site_id, body.booking_ref))
    return _ticket_answer(request, answer)


@router.post("/kiosk/{site_id}/api/walk-in", openapi_extra=KIOSK)
async def kiosk_walk_in(request: Request, body: WalkIn, site_id: str = SiteId,
                        w: Writer = Depends(device_writer)):
    answer = await w.run(lambda tx: kiosk.walk_in(tx, site_id, body.errand, body.documents,
                                                     body.answers),
                         status=201)
    return _ticket_answer(request, answer)


@router.get("/kiosk/{site_id}/api/free-times", openapi_extra=KIOSK)
def kiosk_free_times(request: Request, site_id: str = SiteId,
                     errand: str = Query(pattern=r"^[a-z][a-z0-9_]{1,39}$"),
                     actor=Depends(device_actor)):
    ctx = request.app.state.ctx
    with ctx.db.read() as s:
        return _json({"times": kiosk.free_times(ctx, s, site_id, errand, ctx.clock.now())})


@router.post("/kiosk/{site_id}/api/book", openapi_extra=KIOSK)
async def kiosk_book(body: Book, site_id: str = SiteId, w: Writer = Depends(device_writer)):
    return await w.run(lambda tx: kiosk.book(tx, site_id, body.errand, body.start, body.name,
                                             body.phone), status=201)
