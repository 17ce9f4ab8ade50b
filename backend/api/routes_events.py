"""The event stream (Server-Sent Events): every change after a snapshot, resumable."""

from __future__ import annotations

import contextlib
import json

import anyio
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..domain.errors import Invalid
from ..services.events import Refetch
from .deps import current_actor, get_ctx
from .roles import DISPLAY, KIOSK, STAFF, op

router = APIRouter(tags=["events"])


class _EventStream(EventSourceResponse):
    """sse-starlette's response, without a cancel scope around each send when no send
    timeout is asked for (the scope then never cancels anything, and with 50 listeners it
    was a third of the cost of sending, measured). A client that stops reading fills its
    queue and is told to refetch (services/events.py); one that goes away is noticed by
    the response's disconnect watch as before."""

    #: Set when the stream's token is revoked or expires (api/streams.py): the stream ends.
    stop: anyio.Event | None = None

    async def _send_with_timeout(self, send, message) -> None:  # sse-starlette 3.7
        if self.send_timeout is None:
            await send(message)
        else:
            await super()._send_with_timeout(send, message)

    async def _listen_for_disconnect(self, receive) -> None:
        """The client's going, or the token's end: either ends the response."""
        if self.stop is None:
            await super()._listen_for_disconnect(receive)
            return
        async with anyio.create_task_group() as tg:
            async def first(wait) -> None:
                await wait()
                tg.cancel_scope.cancel()

            tg.start_soon(first, lambda: super(_EventStream, self)._listen_for_disconnect(
                receive))
            tg.start_soon(first, self.stop.wait)

    #: The stream's place among the open ones (api/streams.py), given back at its end.
    place: contextlib.AbstractContextManager | None = None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.place is not None:
                self.place.__exit__(None, None, None)
        if self.stop is not None and self.stop.is_set():
            with contextlib.suppress(Exception):  # the end of the chunked body, cleanly
                await send({"type": "http.response.body", "body": b"", "more_body": False})


@op(router, "GET", "/sites/{site_id}/events", (*STAFF, DISPLAY, KIOSK),
    summary="Server-Sent Events: every change after Last-Event-ID (or ?since=)",
    description="Each event's `id` is the site's sequence number; take a day snapshot, then "
                "listen with its `seq`. An event `refetch` means the log no longer holds "
                "what you asked for: take a new snapshot. Comments are heartbeats. Events "
                "carry ids, states, queue ranks and times, never names or CPR numbers.")
async def events(request: Request,
                 site_id: str = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$"),
                 since: int | None = Query(None, ge=0),
                 last_event_id: str | None = Header(None, alias="Last-Event-ID"),
                 ctx=Depends(get_ctx), actor=Depends(current_actor)):
    ctx.site(site_id)
    after = since
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise Invalid("Last-Event-ID is the sequence number of the last event you saw.",
                          code="invalid_last_event_id", status=400)
        after = int(last_event_id)
    hub = request.app.state.hub
    place = request.app.state.streams.admit(actor.token_id)
    stop = place.__enter__()  # held until the stream ends (or TooManyStreams now)

    async def stream():
        async for item in hub.listen(site_id, after):
            if isinstance(item, Refetch):
                yield ServerSentEvent(json.dumps({"reason": item.reason, "seq": item.seq}),
                                      event="refetch")
                return
            yield b"".join(ev.frame for ev in item)  # frames encoded once, sent in one go

    response = _EventStream(stream(), ping=ctx.settings.sse_heartbeat_seconds,
                            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    response.stop, response.place = stop, place
    return response
