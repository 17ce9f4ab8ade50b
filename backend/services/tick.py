"""The clock's own transitions, made by the backend as the `system` actor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from ..domain import lifecycle
from ..domain.queue import automatic_transitions
from ..storage import repo
from ..storage.models import EventRow, IdempotencyRow, VisitRow
from .context import SYSTEM, AppContext, Tx
from .visits import finish_change


def tick(ctx: AppContext) -> int:
    """Run every due automatic transition on every site; returns how many were made."""
    made = 0
    for site in ctx.settings.sites:
        with ctx.db.write() as session:
            tx = Tx(ctx, session, SYSTEM)
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
            emitted = tx.emitted
        ctx.notify(emitted)
    with ctx.db.write() as session:
        cutoff = ctx.clock.now() - timedelta(hours=ctx.settings.idempotency_hours)
        session.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < cutoff))
        kept = ctx.clock.now() - timedelta(hours=ctx.settings.event_retention_hours)
        session.execute(delete(EventRow).where(EventRow.at < kept))
    return made
