"""The demo's life, on a clock the test moves: arrivals, walk-ins, other counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backend.demo import generate
from backend.services import tokens
from backend.simulator import DemoLife
from backend.storage.models import AuditRow, VisitRow

from .helpers import LiveServer, make_ctx


def live_day(tmp_path, seed: int):
    ctx = make_ctx(tmp_path)
    generate(ctx, seed=3)
    now = ctx.clock.now()
    with ctx.db.write() as s:
        kiosk = tokens.create(s, "kiosk", "kiosk", now, 1)[0]
        planner = tokens.create(s, "supervisor", "planner", now, 1)[0]
        workers = {n: tokens.create(s, "caseworker", f"sim{n}", now, 1)[0] for n in (2, 3, 4)}
    return ctx, kiosk, planner, workers


def run_hour(tmp_path, seed: int):
    ctx, kiosk, planner, workers = live_day(tmp_path, seed)
    with LiveServer(ctx) as live:
        life = DemoLife(live.url, "test", ctx.clock, {"kiosk": kiosk, "planner": planner},
                        workers, seed=seed, walkins_per_hour=12)
        life.plan()
        for _ in range(60):
            ctx.clock.advance(minutes=1)
            life.step()
    with ctx.db.read() as s:
        visits = s.scalars(select(VisitRow).where(VisitRow.day == ctx.clock.now().date())).all()
        audit = s.scalars(select(AuditRow).where(AuditRow.actor.in_(["kiosk", "sim2"]))).all()
    ctx.db.dispose()
    return life, visits, audit


def test_citizens_arrive_about_two_minutes_early_through_the_kiosk(tmp_path):
    life, visits, audit = run_hour(tmp_path / "a", seed=4)
    checked_in = [a for a in audit if a.action == "check_in" and a.actor == "kiosk"]
    assert len(checked_in) >= 8
    by_id = {v.id: v for v in visits}
    early = [(by_id[a.visit_id].slot_start - a.at).total_seconds() / 60 for a in checked_in
             if by_id[a.visit_id].slot_start > datetime.fromisoformat("2026-11-24T09:05+00:00")]
    assert 0 <= sum(early) / len(early) <= 4.5
    assert any(a.action == "register_walkin" for a in audit)
    assert any(a.action == "finish" and a.actor == "sim2" for a in audit)
    assert life.done["arrive"] >= len(checked_in)


def test_same_seed_same_life(tmp_path):
    a, visits_a, _ = run_hour(tmp_path / "a", seed=8)
    b, visits_b, _ = run_hour(tmp_path / "b", seed=8)
    assert a.done == b.done
    assert sorted((v.ticket, v.state) for v in visits_a) == \
        sorted((v.ticket, v.state) for v in visits_b)
