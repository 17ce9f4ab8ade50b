"""Visit transitions: load under the site lock, apply the pure rule, save, audit, emit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from ..domain import cpr as cprlib
from ..domain import lifecycle
from ..domain.errors import DomainError, IllegalTransition, Invalid, NotFound
from ..domain.queue import choose_next
from ..domain.types import DocStatus, Kind, Outcome, State, Visit
from ..storage import repo
from ..storage.models import AuditRow, CounterRow, NoteRow, VisitRow
from .context import Tx
from .views import iso, visit_event, visit_view


def _counter_number(tx: Tx, counter_id: int | None) -> int | None:
    c = tx.counter(counter_id)
    return c.number if c else None


def finish_change(tx: Tx, row: VisitRow, action: str, detail: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Audit and emit one visit change, then answer with the visit's staff view.

    The event carries the visit's new state; the queue order and the estimated call times
    follow in the site's next `queue.plan` event (services/planning.py). A visit no longer
    waiting has no place in the queue; a waiting one keeps its place until that plan says,
    and the answer gets it from that plan (api/deps.py Writer.run)."""
    tx.audit(action, site_id=row.site_id, visit=row, detail=detail)
    tz = tx.ctx.site(row.site_id).tz
    event = visit_event(row, tz, _counter_number(tx, row.counter_id), None)
    if row.state == State.WAITING:
        del event["queue_rank"], event["estimated_call_at"]
    tx.emit(row.site_id, f"visit.{action}", {"visit": event})
    return visit_view(tx.session, tx.ctx, row,
                      counters={row.counter_id: tx.counter(row.counter_id)},
                      notes=[] if row.id in tx.noteless else None)


def transition(tx: Tx, visit_id: int, action: str, rule: Callable[[Visit], Visit], *,
               if_match: int | None = None, check: bool = True,
               detail: dict[str, Any] | None = None, row: VisitRow | None = None
               ) -> dict[str, Any]:
    """Apply one rule to one visit; `row` when the caller has already read it locked."""
    row = row if row is not None else tx.visit_row(visit_id, if_match)
    if check:
        tx.check_visit(row)
    tx.save(row, rule(repo.to_visit(row)))
    return finish_change(tx, row, action, detail)


def _open_counter(tx: Tx, site_id: str, number: int) -> CounterRow:
    """The counter, refused unless it is open and (for a caseworker) theirs."""
    counter = tx.counter_row(site_id, number)
    tx.check_counter(counter)
    if counter.state != "open":
        raise DomainError(f"{counter.name} is {counter.state}; open it first.",
                          code="counter_not_open", counter=counter.number,
                          state=str(counter.state))
    return counter


_UNREAD = object()


def _busy(tx: Tx, counter: CounterRow, held: Any = _UNREAD) -> None:
    """Refuse when the counter holds a called or serving visit: `held` (its id, ticket and
    state) when the caller has read it, None included, else read."""
    if held is _UNREAD:
        held = tx.session.execute(select(VisitRow.id, VisitRow.ticket, VisitRow.state).where(
            VisitRow.counter_id == counter.id,
            VisitRow.state.in_(["called", "serving"]))).first()
    if held is not None:
        state = str(held.state)
        raise DomainError(
            f"{counter.name} already has {held.ticket} ({state}); finish, requeue or "
            "mark it first.", code="counter_busy", ticket=held.ticket, visit_id=held.id,
            state=state)


#: The visit a counter holds today, if any (built once: see storage/repo.py).
_HELD_Q = select(VisitRow.id, VisitRow.ticket, VisitRow.state).where(
    VisitRow.site_id == bindparam("site"), VisitRow.day == bindparam("day"),
    VisitRow.state.in_(["called", "serving"]),
    VisitRow.counter_id == bindparam("counter")).limit(1)


def call_next(tx: Tx, site_id: str, number: int) -> dict[str, Any]:
    site = tx.lock(site_id)
    day = tx.ctx.today(site, tx.now)
    row = _open_counter(tx, site_id, number)
    # refused before the day is read: a counter pressing call next while it holds a
    # citizen costs two small reads, not the whole open day
    _busy(tx, row, tx.session.connection().execute(
        _HELD_Q, {"site": site_id, "day": day, "counter": row.id}).first())
    state = repo.day_state(tx.session, site_id, day, site.rules, now=tx.now,
                           horizon=tx.ctx.horizon, site_row=tx.site_lock(site_id))
    counter = next(c for c in state.counters if c.id == row.id)
    choice = choose_next(state, counter, tx.now)
    if choice.visit is None:
        upcoming = choice.next_booking_at or repo.next_booked_start(
            tx.session, site_id, day, tx.now - site.rules.grace)
        return {"visit": None, "reason": choice.reason,
                "next_booking_at": iso(upcoming, site.tz),
                "walkins_waiting": choice.walkins_waiting,
                "held": None if choice.held is None else {
                    "id": choice.held.id, "ticket": choice.held.ticket}}
    row = tx.read_visit(choice.visit.id)  # the whole visit, not the light one
    tx.save(row, lifecycle.call(repo.to_visit(row), counter.id, tx.now))
    view = finish_change(tx, row, "call_next", {"reason": choice.reason})
    return {"visit": view, "reason": choice.reason, "next_booking_at": None,
            "walkins_waiting": None, "held": None}


def call_chosen(tx: Tx, visit_id: int, number: int, if_match: int | None) -> dict[str, Any]:
    row = tx.visit_row(visit_id, if_match)
    if row.state == State.CALLED and row.counter_id is not None:
        by = tx.counter(row.counter_id)
        raise IllegalTransition(f"{row.ticket} is already called by {by.name}.",
                                code="already_called", by_counter=by.name,
                                state=row.state, ticket=row.ticket)
    counter = _open_counter(tx, row.site_id, number)
    _busy(tx, counter)
    tx.save(row, lifecycle.call(repo.to_visit(row), counter.id, tx.now))
    return finish_change(tx, row, "call", {"counter": counter.number})


def _counter_id(tx: Tx, site_id: str, number: int | None) -> int | None:
    return None if number is None else tx.counter_row(site_id, number).id


def transfer(tx: Tx, visit_id: int, to_counter: int | None, to_errand: str | None,
             if_match: int | None) -> dict[str, Any]:
    row = tx.visit_row(visit_id, if_match)
    tx.check_visit(row)
    counter_id = _counter_id(tx, row.site_id, to_counter)
    minutes = None
    if to_errand is not None:
        errand = tx.ctx.errand(to_errand)
        minutes = errand.minutes
        old = row.documents or {}
        row.documents = {d.code: old.get(d.code, "unknown") for d in errand.documents}
    tx.save(row, lifecycle.transfer(repo.to_visit(row), tx.now, to_counter=counter_id,
                                    to_errand=to_errand, expected_minutes=minutes))
    return finish_change(tx, row, "transfer", {"counter": to_counter, "errand": to_errand})


def move(tx: Tx, visit_id: int, to_counter: int | None, if_match: int | None) -> dict[str, Any]:
    row = tx.visit_row(visit_id, if_match)
    counter_id = _counter_id(tx, row.site_id, to_counter)
    tx.save(row, lifecycle.move(repo.to_visit(row), counter_id))
    return finish_change(tx, row, "move", {"counter": to_counter})


def finish(tx: Tx, visit_id: int, outcome: Outcome, note: str | None, referred_to: str | None,
           if_match: int | None, rebook_at: datetime | None = None) -> dict[str, Any]:
    """Finish the visit; for missing documents, `rebook_at` books the citizen that free time
    in the same change (the finish's audit names the booking, so its undo cancels it)."""
    from .bookings import create_booking  # bookings builds on this module

    booked = None
    if rebook_at is not None:
        row = tx.visit_row(visit_id, if_match)  # an unknown visit is a 404 before all else
        tx.check_visit(row)
        if outcome is not Outcome.MISSING_DOCUMENTS:
            raise Invalid("Only a finish for missing documents rebooks the citizen.",
                          code="rebook_needs_missing_documents")
        booked = create_booking(tx, row.site_id, row.errand, rebook_at, row.citizen_name,
                                row.cpr, row.phone, note, None)
    answer = transition(
        tx, visit_id, "finish",
        lambda v: lifecycle.finish(v, tx.now, outcome, note=note, referred_to=referred_to),
        if_match=if_match, detail={"outcome": outcome.value, **(
            {"rebooked": booked["booking_ref"]} if booked is not None else {})})
    if booked is not None:
        answer["rebooking"] = _rebooking(tx.session.get(VisitRow, booked["id"]), tx)
    return answer


def _rebooking(row: VisitRow, tx: Tx) -> dict[str, Any]:
    tz = tx.ctx.site(row.site_id).tz
    return {"id": row.id, "ticket": row.ticket, "booking_ref": row.booking_ref,
            "slot_start": iso(row.slot_start, tz), "state": str(row.state)}


def undo_finish(tx: Tx, visit_id: int, if_match: int | None) -> dict[str, Any]:
    """Back to serving at its counter, if that counter holds nobody else meanwhile; the
    booking that finish made (missing documents, rebooked) is cancelled with it."""
    row = tx.visit_row(visit_id, if_match)
    tx.check_visit(row)
    if row.counter_id is not None:
        _busy(tx, tx.counter(row.counter_id))
    finished = tx.session.scalar(
        select(AuditRow.detail).where(AuditRow.visit_id == row.id, AuditRow.action == "finish")
        .order_by(AuditRow.id.desc()).limit(1)) or {}
    booking = tx.session.scalar(select(VisitRow).where(
        VisitRow.booking_ref == finished["rebooked"])) if finished.get("rebooked") else None
    cancel = booking is not None and booking.state == State.BOOKED
    answer = transition(tx, visit_id, "undo_finish", lambda v: lifecycle.undo_finish(v, tx.now),
                        row=row, check=False, detail={"outcome": str(row.outcome), **(
                            {"cancelled_booking": booking.booking_ref} if cancel else {})})
    if booking is not None:
        if cancel:
            transition(tx, booking.id, "cancel",
                       lambda v: lifecycle.cancel(v, tx.now, "finish_undone"),
                       check=False, row=booking, detail={"reason": "finish_undone"})
        answer["rebooking"] = _rebooking(booking, tx)
    return answer


def add_note(tx: Tx, visit_id: int, text: str, if_match: int | None) -> dict[str, Any]:
    row = tx.visit_row(visit_id, if_match)
    tx.check_visit(row)
    tx.save(row, lifecycle.touch_for_note(repo.to_visit(row)))
    tx.session.add(NoteRow(visit_id=row.id, author=tx.actor.person, text=text,
                           created_at=tx.now, occurred_at=tx.occurred_at))
    tx.noteless.discard(row.id)
    return finish_change(tx, row, "note")


def set_document(tx: Tx, visit_id: int, code: str, status: DocStatus, if_match: int | None
                 ) -> dict[str, Any]:
    return transition(tx, visit_id, "document",
                      lambda v: lifecycle.set_document(v, code, status),
                      if_match=if_match, detail={"document": code, "status": status.value})


def reveal_cpr(tx: Tx, visit_id: int) -> dict[str, Any]:
    row = tx.visit_row(visit_id)
    tx.check_visit(row)
    tx.audit("reveal_cpr", site_id=row.site_id, visit=row)
    return {"visit_id": row.id, "cpr": cprlib.pretty(row.cpr) if row.cpr else None}


_TICKET_Q = select(func.max(VisitRow.ticket_seq)).where(
    VisitRow.site_id == bindparam("site"), VisitRow.day == bindparam("day"),
    VisitRow.kind == bindparam("kind"))


def next_ticket(tx: Tx, site_id: str, day, kind: Kind) -> tuple[str, int]:
    tx.session.flush()  # a visit added in this transaction counts (read on the connection)
    seq = tx.session.connection().scalar(_TICKET_Q, {"site": site_id, "day": day,
                                                      "kind": kind.value}) or 0
    prefix = "B" if kind is Kind.BOOKED else "C"
    return f"{prefix}{seq + 1:03d}", seq + 1


def new_visit_row(tx: Tx, *, site_id: str, day, kind: Kind, state: State, errand_code: str,
                  name: str, cpr: str | None, phone: str | None,
                  documents: dict[str, str] | None = None,
                  answers: dict[str, bool] | None = None, **extra: Any) -> VisitRow:
    """A new visit with the documents its errand needs: with `answers` to the errand's
    questions only those that apply (the catalogue's when/unless)."""
    errand = tx.ctx.errand(errand_code)
    normal = cprlib.normalise(cpr) if cpr else None
    try:
        errand.check_answers(answers or {})
    except ValueError as exc:
        raise Invalid(str(exc), code="unknown_question",
                      questions=[q.code for q in errand.questions]) from None
    docs = {d.code: "unknown" for d in errand.needed(answers)}
    for code, status in (documents or {}).items():
        if code not in docs:
            known = any(d.code == code for d in errand.documents)
            raise Invalid(f"Errand {errand.code} has no document '{code}'" + (
                " that applies with these answers." if known else "."),
                code="document_not_needed" if known else "unknown_document",
                documents=sorted(docs))
        docs[code] = DocStatus(status).value
    ticket, seq = next_ticket(tx, site_id, day, kind)
    row = VisitRow(
        site_id=site_id, day=day, kind=kind.value, ticket=ticket, ticket_seq=seq,
        state=state.value, errand=errand.code, expected_minutes=errand.minutes,
        citizen_name=name, cpr=normal,
        cpr_ref=cprlib.keyed_hash(normal, tx.ctx.hmac_key) if normal else None,
        phone=phone, documents=docs, priority=extra.pop("priority", 0) or 0, call_count=0,
        created_at=tx.now, updated_at=tx.now, version=1, **extra)
    tx.session.add(row)
    tx.session.flush()  # its id, for the audit row and the event
    tx.noteless.add(row.id)
    return row


def register_walkin(tx: Tx, site_id: str, errand: str, name: str, cpr: str | None,
                    phone: str | None, documents: dict[str, str] | None, priority: int,
                    answers: dict[str, bool] | None = None) -> dict[str, Any]:
    site = tx.lock(site_id)
    day = tx.ctx.today(site, tx.now)
    windows = site.windows(day)
    if not windows or not any(a <= tx.now < b for a, b in windows):
        raise DomainError(f"{site.name} is closed now; walk-ins are registered in opening "
                          "hours.", code="site_closed")
    row = new_visit_row(tx, site_id=site_id, day=day, kind=Kind.WALKIN, state=State.WAITING,
                        errand_code=errand, name=name, cpr=cpr, phone=phone,
                        documents=documents, answers=answers, priority=priority,
                        arrived_at=tx.now)
    return finish_change(tx, row, "register_walkin", {"errand": errand})


def check_in_by_ref(tx: Tx, site_id: str, booking_ref: str) -> dict[str, Any]:
    tx.lock(site_id)
    found = tx.session.scalar(select(VisitRow.id).where(
        VisitRow.booking_ref == booking_ref.upper(), VisitRow.site_id == site_id))
    if found is None:
        raise NotFound("No booking with that reference here.", code="unknown_booking")
    return check_in(tx, found, None)


def check_in(tx: Tx, visit_id: int, if_match: int | None) -> dict[str, Any]:
    row = tx.visit_row(visit_id, if_match)
    site = tx.ctx.site(row.site_id)
    if row.day != tx.ctx.today(site, tx.now) and row.state == State.BOOKED:
        raise DomainError(f"{row.ticket} is booked for {row.day.isoformat()}, not today.",
                          code="not_today", day=row.day.isoformat())
    return transition(tx, visit_id, "check_in", lambda v: lifecycle.check_in(v, tx.now),
                      check=False, row=row)
