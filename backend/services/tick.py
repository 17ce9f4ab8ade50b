"""The clock's own transitions, made by the backend as the `system` actor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from ..domain import lifecycle
from ..domain.queue import automatic_transitions
from ..storage import repo
from ..storage.models import EventRow, IdempotencyRow, NoteRow, VisitRow
from . import throttle
from .context import BACKGROUND_WAIT, SYSTEM, AppContext, Tx
from .visits import finish_change

#: What a visit's citizen name becomes once its personal data is erased.
ERASED = "—"


def tick(ctx: AppContext) -> int:
    """Run every due automatic transition on every site; returns how many were made."""
    made = 0
    for site in ctx.settings.sites:
        with ctx.transaction(SYSTEM, timeout=BACKGROUND_WAIT) as tx:
            session = tx.session
            tx.lock(site.id)
            today = ctx.today(site, tx.now)
            days = sorted(set(session.scalars(select(VisitRow.day).where(
                VisitRow.site_id == site.id, VisitRow.day <= today,
                VisitRow.state.in_(["booked", "waiting", "parked", "called"])))))
            for day in days:
                state = repo.day_state(session, site.id, day, site.rules)
                closing = site.closing_at(day)
                if closing is None and day < today:
                    closing = tx.now  # a closed day with leftovers: close them now
                for change in automatic_transitions(state, tx.now, closing):
                    row = session.get(VisitRow, change.before.id)
                    full = repo.to_visit(row)
                    if full.version != change.before.version:
                        continue
                    rule = lifecycle.no_show if change.action == "no_show" \
                        else lifecycle.walk_out
                    after = rule(full, tx.now, change.after.left_reason)
                    tx.save(row, after)
                    finish_change(tx, row, change.action,
                                  {"automatic": True, "reason": change.after.left_reason})
                    made += 1
    purge_personal_data(ctx)
    with ctx.db.write(BACKGROUND_WAIT) as session:
        cutoff = ctx.clock.now() - timedelta(hours=ctx.settings.idempotency_hours)
        session.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < cutoff))
        kept = ctx.clock.now() - timedelta(hours=ctx.settings.event_retention_hours)
        session.execute(delete(EventRow).where(EventRow.at < kept))
        throttle.purge(session, ctx.clock.now(), ctx.settings.auth_failure_window_seconds)
    return made


def purge_personal_data(ctx: AppContext) -> int:
    """Erase names, CPR numbers, phones and notes of visits older than the retention.

    The anonymised facts stay; `cpr_ref` (the keyed hash) stays so the audit log remains
    searchable per citizen. Audited as one system action per run that erased anything.
    """
    today = ctx.clock.now().date()
    before = today - timedelta(days=ctx.settings.personal_data_days)
    with ctx.db.write(BACKGROUND_WAIT) as session:
        ids = select(VisitRow.id).where(VisitRow.day < before,
                                        VisitRow.citizen_name != ERASED)
        session.execute(delete(NoteRow).where(NoteRow.visit_id.in_(ids)))
        erased = session.execute(
            update(VisitRow).where(VisitRow.day < before, VisitRow.citizen_name != ERASED)
            .values(citizen_name=ERASED, cpr=None, phone=None, citizen_note=None,
                    prepared_notes=None, precall=None, outcome_note=None)).rowcount
        if erased:
            Tx(ctx, session, SYSTEM).audit("purge_personal_data", site_id=None,
                                           detail={"visits": erased,
                                                   "before": before.isoformat()})
    return erased
