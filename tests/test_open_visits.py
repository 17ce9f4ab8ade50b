"""The open day held in memory (storage/open_visits.py) is always the day in the database:
after any sequence of writes, from this process or another, call next and the planner see
what a fresh read would give them."""

from __future__ import annotations

import tempfile
from datetime import UTC, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from backend.domain import lifecycle
from backend.domain.errors import DomainError
from backend.domain.types import DocStatus, Outcome
from backend.services import bookings, counters, visits
from backend.services.context import SYSTEM, Actor, Tx
from backend.storage import repo
from backend.storage.db import Database
from backend.storage.models import SiteRow, VisitRow

from .helpers import make_ctx

CW = [Actor(f"t{n}", "caseworker", f"cw{n}") for n in range(1, 4)]
FIELDS = ("id", "kind", "ticket", "state", "errand", "expected_minutes", "priority",
          "counter_id", "slot_start", "arrived_at", "called_at", "last_called_at",
          "started_at", "call_count", "version")


def light(day_state):
    return sorted(tuple(getattr(v, f) for f in FIELDS) for v in day_state.visits)


def held_and_fresh(ctx):
    site = ctx.site("test")
    now = ctx.clock.now()
    with ctx.db.read() as s:
        seq = s.scalar(select(SiteRow.event_seq).where(SiteRow.id == "test"))
        held = ctx.db.open_visits.state(s, "test", ctx.today(site, now), seq, site.rules,
                                        now, ctx.horizon)
        fresh = repo.day_state(s, "test", ctx.today(site, now), site.rules, now=now,
                               horizon=ctx.horizon)
    return held, fresh


def assert_same(ctx):
    held, fresh = held_and_fresh(ctx)
    assert light(held) == light(fresh)
    # and in the form the database gives: UTC itself (a time with another tzinfo compares
    # equal, but each comparison cost the queue decision 34 times as much)
    times = [getattr(v, f) for v in held.visits for f in FIELDS if f.endswith(("_at", "start"))]
    assert all(t.tzinfo is UTC for t in times if t is not None)
    assert held.counters == fresh.counters
    assert sorted(held.observed) == sorted(fresh.observed)
    assert held.rules == fresh.rules


OPS = st.sampled_from(["walkin", "booking", "checkin", "call", "start", "document",
                       "finish", "requeue", "no_show", "close", "open", "clock", "other",
                       "reset", "cancel"])


def run(ctx, other: Database, op: str, n: int, elsewhere: bool = False) -> None:
    """One change; `elsewhere`: made by another server process on the same database (its
    own Database, so its own held day), which this process's held day must catch up with."""
    actor = CW[n % 3]
    number = n % 3 + 1
    site = ctx.site("test")

    def write(fn, who=SYSTEM, db=None):
        try:
            with (db or (other if elsewhere else ctx.db)).write() as s:
                return fn(Tx(ctx, s, who))
        except DomainError:
            return None

    def one(state):
        with ctx.db.read() as s:
            return s.scalar(select(VisitRow.id).where(VisitRow.state == state)
                            .order_by(VisitRow.id.desc()))

    if op == "walkin":
        write(lambda tx: visits.register_walkin(tx, "test", "health_card", f"W{n}", None,
                                                None, None, n % 2))
    elif op == "booking":
        start = ctx.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=5 * n)
        start -= timedelta(minutes=start.minute % 5)
        start = start.astimezone(timezone(timedelta(hours=1)))  # as a request gives it
        write(lambda tx: bookings.create_booking(tx, "test", "health_card", start, f"B{n}",
                                                 None, None, None, None))
    elif op == "checkin" and (vid := one("booked")):
        write(lambda tx: visits.check_in(tx, vid, None))
    elif op == "call":
        write(lambda tx: visits.call_next(tx, "test", number), actor)
    elif op == "start" and (vid := one("called")):
        write(lambda tx: visits.transition(tx, vid, "start",
                                           lambda v: lifecycle.start(v, tx.now), check=False))
    elif op == "document" and (vid := one("serving")):
        write(lambda tx: visits.set_document(tx, vid, "photo_id", DocStatus.PRESENT, None))
    elif op == "finish" and (vid := one("serving")):
        write(lambda tx: visits.transition(
            tx, vid, "finish", lambda v: lifecycle.finish(v, tx.now, Outcome.SERVED),
            check=False))
    elif op == "requeue" and (vid := one("called")):
        write(lambda tx: visits.transition(tx, vid, "requeue",
                                           lambda v: lifecycle.requeue(v, tx.now),
                                           check=False))
    elif op == "no_show" and (vid := one("booked")):
        write(lambda tx: visits.transition(tx, vid, "no_show",
                                           lambda v: lifecycle.no_show(v, tx.now),
                                           check=False))
    elif op == "cancel" and (vid := one("booked")):
        with ctx.db.read() as s:
            ref = s.get(VisitRow, vid).booking_ref
        write(lambda tx: bookings.cancel_booking(tx, ref, "cancelled", None))
    elif op == "close":
        write(lambda tx: counters.close_counter(tx, "test", number), actor)
    elif op == "open":
        write(lambda tx: counters.open_counter(tx, "test", number), actor)
    elif op == "clock":
        ctx.clock.advance(minutes=3 + n % 7)
    elif op == "other":  # another server process on the same database, then this one
        write(lambda tx: visits.register_walkin(tx, "test", "mitid", f"O{n}", None, None,
                                                None, 0), db=other)
        write(lambda tx: visits.register_walkin(tx, "test", "mitid", f"P{n}", None, None,
                                                None, 0))
    elif op == "reset":  # a statement past the ORM: the demo's reset
        with ctx.db.write() as s:
            s.execute(delete(VisitRow).where(VisitRow.site_id == "test",
                                             VisitRow.state == "waiting"))
        ctx.db.open_visits.forget(site.id)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(OPS, st.booleans()), min_size=5, max_size=40))
def test_the_held_day_is_the_day_in_the_database(ops):
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_ctx(Path(tmp))
        other = Database(ctx.settings.database_url)
        try:
            for i, actor in enumerate(CW, start=1):
                with ctx.db.write() as s:
                    counters.open_counter(Tx(ctx, s, actor), "test", i)
            assert_same(ctx)
            for n, (op, elsewhere) in enumerate(ops):
                run(ctx, other, op, n, elsewhere and op not in ("reset", "clock"))
                assert_same(ctx)
        finally:
            other.dispose()
            ctx.db.dispose()


def test_call_next_reads_the_day_once_then_keeps_it(ctx):
    with ctx.db.write() as s:
        counters.open_counter(Tx(ctx, s, CW[0]), "test", 1)
    for i in range(3):
        with ctx.db.write() as s:
            visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "mitid", f"W{i}", None, None,
                                   None, 0)
    cache = ctx.db.open_visits
    cache.hits = cache.misses = 0
    called = []
    for _ in range(3):
        with ctx.db.write() as s:
            tx = Tx(ctx, s, CW[0])
            called.append(visits.call_next(tx, "test", 1)["visit"]["ticket"])
        with ctx.db.write() as s:
            tx = Tx(ctx, s, CW[0])
            vid = s.scalar(select(VisitRow.id).where(VisitRow.ticket == called[-1]))
            visits.transition(tx, vid, "start", lambda v: lifecycle.start(v, tx.now))
            visits.finish(tx, vid, Outcome.SERVED, None, None, None)
    assert called == ["C001", "C002", "C003"]
    assert (cache.misses, cache.hits) == (1, 2)


def test_another_process_s_changes_are_read_in_from_the_event_log(ctx):
    other = Database(ctx.settings.database_url)  # a second server process's own held day
    try:
        for i, actor in enumerate(CW[:2], start=1):
            with ctx.db.write() as s:
                counters.open_counter(Tx(ctx, s, actor), "test", i)
        for i in range(3):
            with ctx.db.write() as s:
                visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "mitid", f"W{i}", None,
                                       None, None, 0)
        cache = ctx.db.open_visits
        with ctx.db.write() as s:
            assert visits.call_next(Tx(ctx, s, CW[0]), "test", 1)["visit"]["ticket"] == "C001"
        misses = cache.misses
        # the other process calls one, registers one and closes its counter
        with other.write() as s:
            assert visits.call_next(Tx(ctx, s, CW[1]), "test", 2)["visit"]["ticket"] == "C002"
        with other.write() as s:
            visits.register_walkin(Tx(ctx, s, SYSTEM), "test", "mitid", "X", None, None,
                                   None, 0)
        held, fresh = held_and_fresh(ctx)
        assert light(held) == light(fresh) and held.counters == fresh.counters
        with ctx.db.write() as s:  # this process's next call next sees all of it
            tx = Tx(ctx, s, CW[0])
            vid = s.scalar(select(VisitRow.id).where(VisitRow.ticket == "C001"))
            visits.transition(tx, vid, "start", lambda v: lifecycle.start(v, tx.now))
            visits.finish(tx, vid, Outcome.SERVED, None, None, None)
        with ctx.db.write() as s:
            assert visits.call_next(Tx(ctx, s, CW[0]), "test", 1)["visit"]["ticket"] == "C003"
        assert cache.misses == misses, "the whole day was read again"
        assert cache.caught_up >= 1
        assert_same(ctx)
    finally:
        other.dispose()
