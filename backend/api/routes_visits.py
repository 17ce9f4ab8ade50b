"""Visit lifecycle endpoints: one per transition (DESIGN.md)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Path

from ..domain import lifecycle
from ..domain.errors import NotFound
from ..services import visits
from ..services.views import visit_view
from ..storage.models import VisitRow
from .deps import Writer, current_actor, get_ctx, writer
from .roles import COUNTER, CW, REC, STAFF, SUP, op
from .schemas import (
    CallBody,
    CprOut,
    DocumentBody,
    FinishBody,
    FinishOut,
    MoveBody,
    NoteBody,
    PriorityBody,
    ReasonBody,
    TransferBody,
    VisitOut,
)

router = APIRouter(prefix="/visits", tags=["visits"])
VisitId = Path(ge=1, le=2**31 - 1)  # an INTEGER column on PostgreSQL too


@op(router, "GET", "/{visit_id}", STAFF, response_model=VisitOut)
def get_visit(visit_id: int = VisitId, ctx=Depends(get_ctx), actor=Depends(current_actor)):
    with ctx.db.read() as s:
        row = s.get(VisitRow, visit_id)
        if row is None:
            raise NotFound(f"There is no visit {visit_id}.", code="unknown_visit")
        actor.check_site(row.site_id)
        return visit_view(s, ctx, row)


def _simple(action: str, rule, roles, summary: str, check: bool = True):
    path = "/{visit_id}/" + action.replace("_", "-")

    @op(router, "POST", path, roles, response_model=VisitOut, summary=summary,
        name=action)
    async def handler(visit_id: int = VisitId, w: Writer = Depends(writer)):
        return await w.run(lambda tx: visits.transition(
            tx, visit_id, action, lambda v: rule(v, tx), if_match=w.if_match, check=check))

    handler.__name__ = action
    return handler


_simple("start", lambda v, tx: lifecycle.start(v, tx.now), COUNTER,
        "The called citizen has arrived at the counter: serving starts")
_simple("park", lambda v, tx: lifecycle.park(v, tx.now), COUNTER,
        "Park a visit in service (the citizen fetches something)")
_simple("resume", lambda v, tx: lifecycle.resume(v, tx.now), COUNTER,
        "A parked citizen waits again, for the same counter")
_simple("requeue", lambda v, tx: lifecycle.requeue(v, tx.now), COUNTER,
        "A called citizen goes back to the waiting pool")
_simple("recall", lambda v, tx: lifecycle.recall(v, tx.now, tx.ctx.site(v.site_id).rules),
        COUNTER, "Call the citizen again (rate-limited, at most max_calls)")
_simple("no_show", lambda v, tx: lifecycle.no_show(v, tx.now), (CW, REC, SUP),
        "The citizen did not come")
_simple("undo_no_show", lambda v, tx: lifecycle.undo_no_show(v, tx.now), (CW, REC, SUP),
        "Undo a no-show: the citizen waits again")


@op(router, "POST", "/{visit_id}/check-in", (REC, SUP), response_model=VisitOut,
    summary="A booked citizen has arrived")
async def check_in(visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.check_in(tx, visit_id, w.if_match))


@op(router, "POST", "/{visit_id}/call", COUNTER, response_model=VisitOut,
    summary="Call this waiting citizen to a chosen counter")
async def call(body: CallBody, visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.call_chosen(tx, visit_id, body.counter, w.if_match))


@op(router, "POST", "/{visit_id}/transfer", COUNTER, response_model=VisitOut,
    summary="Send a citizen in service to another counter and/or errand")
async def transfer(body: TransferBody, visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.transfer(tx, visit_id, body.counter, body.errand,
                                            w.if_match))


@op(router, "POST", "/{visit_id}/move", (REC, SUP), response_model=VisitOut,
    summary="Assign a waiting citizen to a counter, or back to the pool (counter null)")
async def move(body: MoveBody, visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.move(tx, visit_id, body.counter, w.if_match))


@op(router, "POST", "/{visit_id}/priority", (REC, SUP), response_model=VisitOut,
    summary="Raise or lower a citizen's priority (-9 … 9)")
async def priority(body: PriorityBody, visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.transition(
        tx, visit_id, "priority", lambda v: lifecycle.set_priority(v, body.priority),
        if_match=w.if_match, detail={"priority": body.priority}))


@op(router, "POST", "/{visit_id}/walk-out", (CW, REC, SUP), response_model=VisitOut,
    summary="The citizen left without being served")
async def walk_out(body: ReasonBody = Body(default_factory=ReasonBody), visit_id: int = VisitId,
             w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.transition(
        tx, visit_id, "walk_out", lambda v: lifecycle.walk_out(v, tx.now, body.reason),
        if_match=w.if_match, detail={"reason": body.reason}))


@op(router, "POST", "/{visit_id}/cancel", (REC, SUP), response_model=VisitOut,
    summary="Cancel a booked or waiting visit")
async def cancel(body: ReasonBody = Body(default_factory=lambda: ReasonBody(reason="cancelled")),
           visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.transition(
        tx, visit_id, "cancel", lambda v: lifecycle.cancel(v, tx.now, body.reason),
        if_match=w.if_match, check=False, detail={"reason": body.reason}))


@op(router, "POST", "/{visit_id}/finish", COUNTER, response_model=FinishOut,
    summary="Finish the visit with its outcome (missing documents: and rebook)")
async def finish(body: FinishBody, visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.finish(tx, visit_id, body.outcome, body.note,
                                          body.referred_to, w.if_match,
                                          rebook_at=body.rebook_at))


@op(router, "POST", "/{visit_id}/undo-finish", COUNTER, response_model=FinishOut,
    summary="Undo a finish within a few minutes: the citizen is served again, and the "
            "booking that finish made is cancelled")
async def undo_finish(visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.undo_finish(tx, visit_id, w.if_match))


@op(router, "PUT", "/{visit_id}/documents/{code}", STAFF, response_model=VisitOut,
    summary="Mark a document present, missing or unknown")
async def document(body: DocumentBody, visit_id: int = VisitId,
             code: str = Path(pattern=r"^[a-z][a-z0-9_]{1,39}$"), w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.set_document(tx, visit_id, code, body.status, w.if_match))


@op(router, "POST", "/{visit_id}/notes", STAFF, response_model=VisitOut,
    summary="Add a note to the visit")
async def note(body: NoteBody, visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.add_note(tx, visit_id, body.text, w.if_match))


@op(router, "POST", "/{visit_id}/cpr", STAFF, response_model=CprOut,
    summary="Reveal the full CPR number (audited)")
async def reveal_cpr(visit_id: int = VisitId, w: Writer = Depends(writer)):
    return await w.run(lambda tx: visits.reveal_cpr(tx, visit_id), remember=False)

