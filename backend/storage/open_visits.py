"""Each site's open visits of today, kept in memory and checked against the event log.

Call next and every plan need the site's whole open day (its counters, its open visits and
the latest service times); reading it from the database cost most of a call next. Every
write that changes a visit or a counter also appends an event in the same transaction, so
the site's event sequence names the state it leaves: the day held here is used only when
its sequence is the one the reader sees in the database (under the site's lock, or in the
reader's snapshot), and is otherwise read afresh. A write transaction that held the site's
lock carries its changed rows into the held day after its commit, when the held day was
the state it started from; in every other case (another process wrote, the day turned, a
row changed without an event) the held day is dropped and the next reader reads it again.
Statements that bypass the ORM (the demo's reset, the purge of old days) must call
`forget`.

Another server process on the same database moves the sequence on too: then the held day
catches up from the event log (`catch_up`), reading again only the visits and counters the
events since its sequence name, when they are a few (every change of a visit or a counter
writes an event naming it). Without that, with two processes nearly every call next read
the whole day again.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, bindparam, event, select, type_coerce
from sqlalchemy.orm import Session

from .. import json_codec
from ..domain.types import OPEN_STATES, Counter, DayState, Rules, State, Visit
from . import repo
from .fast import Fast
from .models import CounterRow, EventRow, VisitRow

#: session.info keys: the sites a write transaction locked (repo.LOCKED, set by
#: note_locked), the visit and counter rows it flushed, and this cache.
LOCKED = repo.LOCKED
TOUCHED = "skranke_touched"
CACHE = "skranke_open_visits"
#: A held day behind by more events than this is read again whole.
CATCH_UP = 100
#: Events that change no visit or counter row.
_NO_ROWS = frozenset({"queue.plan", "site.planner"})

_CHANGES = Fast(select(EventRow.type, type_coerce(EventRow.data, String))
                .where(EventRow.site_id == bindparam("site"), EventRow.seq > bindparam("after"),
                       EventRow.seq <= bindparam("upto")))
_VISIT = Fast(select(*repo._LIGHT, VisitRow.site_id, VisitRow.day, repo._raw(VisitRow.finished_at))
              .where(VisitRow.id == bindparam("id")))


@dataclass
class _Day:
    site_id: str
    day: date
    seq: int
    #: Open visits by id, in id order: loaded in that order, and a new visit's id is
    #: larger than every earlier one (updates keep their place in a dict).
    visits: dict[int, Visit]
    counters: dict[int, Counter]
    #: Finished visits with both times: id -> (finished_at, errand, minutes).
    done: dict[int, tuple[datetime, str, float]]
    _observed: tuple[tuple[str, float], ...] | None = field(default=None, repr=False)

    def snapshot(self, rules: Rules) -> tuple:
        """(visits, counters by number, observed) as they are now (under the lock)."""
        counters = tuple(sorted(self.counters.values(), key=lambda c: c.number))
        return (tuple(self.visits.values()), counters,
                self.observed() if rules.duration_quantile else ())

    def observed(self) -> tuple[tuple[str, float], ...]:
        """(errand, minutes) of the latest finished visits, newest first (repo.observed)."""
        if self._observed is None:
            latest = heapq.nlargest(repo.OBSERVED, self.done.values(), key=lambda d: d[0])
            self._observed = tuple((errand, minutes) for _, errand, minutes in latest)
            if len(self.done) > 2 * repo.OBSERVED:
                keep = {vid for vid, d in self.done.items() if d in latest}
                self.done = {vid: d for vid, d in self.done.items() if vid in keep}
        return self._observed


def _done(r: VisitRow) -> tuple[datetime, str, float] | None:
    if r.state != State.DONE.value or r.started_at is None or r.finished_at is None:
        return None
    return (repo._dt(r.finished_at),) + repo._minutes(r.errand, r.started_at, r.finished_at)


class OpenVisits:
    """The held days, one per site, shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[str, _Day] = {}
        self.hits = self.misses = self.caught_up = 0

    def forget(self, site_id: str | None = None) -> None:
        with self._lock:
            if site_id is None:
                self._days.clear()
            else:
                self._days.pop(site_id, None)

    # --- reading -----------------------------------------------------------------------
    def counter(self, session: Session, counter_id: int) -> Counter | None:
        """A counter of a site this write transaction has locked, as it was when it took
        the lock, if the held day is that state (else None: read the row)."""
        for site_id, (seq0, _) in (session.info.get(LOCKED) or {}).items():
            with self._lock:
                held = self._days.get(site_id)
                if held is not None and held.seq == seq0 and counter_id in held.counters:
                    return held.counters[counter_id]
        return None

    def state(self, session: Session, site_id: str, day: date, seq: int, rules: Rules,
              now: datetime, horizon: timedelta, site_row=None) -> DayState:
        """The day as `repo.day_state(..., now=now)` reads it, for a session that sees the
        site at event sequence `seq` and has changed none of its visits yet (`site_row`:
        the site's row as that session read it, if it has)."""
        rules = repo.planner_rules(session, site_id, rules, site_row)
        self.catch_up(session, site_id, seq, day)
        with self._lock:  # read whole, while no writer carries its rows into it
            held = self._days.get(site_id)
            usable = held is not None and held.day == day and held.seq == seq
            if usable:
                self.hits += 1
                visits, counters, observed = held.snapshot(rules)
        if not usable:
            self.misses += 1
            held = self._load(session, site_id, day, seq)
            with self._lock:
                current = self._days.get(site_id)
                if current is None or current.day != day or current.seq < seq:
                    self._days[site_id] = held
                visits, counters, observed = held.snapshot(rules)
        early, late = now - rules.grace, now + horizon
        booked = State.BOOKED  # the held visits are in id order (see _Day.visits)
        visits = tuple(v for v in visits if v.state is not booked
                       or (v.slot_start is not None and early < v.slot_start < late))
        return DayState(site_id=site_id, day=day, counters=counters, visits=visits,
                        rules=rules, observed=observed)

    def _load(self, session: Session, site_id: str, day: date, seq: int) -> _Day:
        visits = {v.id: v for v in sorted(repo.light_open_visits(session, site_id, day),
                                          key=lambda v: v.id)}
        rows = session.execute(
            select(VisitRow.id, VisitRow.errand, repo._raw(VisitRow.started_at),
                   repo._raw(VisitRow.finished_at))
            .where(VisitRow.site_id == site_id, VisitRow.day == day,
                   VisitRow.state == State.DONE.value, VisitRow.started_at.is_not(None),
                   VisitRow.finished_at.is_not(None))
            .order_by(VisitRow.finished_at.desc()).limit(repo.OBSERVED))
        done = {vid: (repo._dt(finished),) + repo._minutes(errand, started, finished)
                for vid, errand, started, finished in rows}
        counters = {c.id: repo.to_counter(c) for c in repo.counters(session, site_id)}
        return _Day(site_id, day, seq, visits, counters, done)

    # --- another process's changes --------------------------------------------------------
    def catch_up(self, session: Session, site_id: str, seq: int, day: date | None = None
                 ) -> None:
        """Bring the held day of `site_id` to event sequence `seq`, which `session` sees (a
        write transaction under the site's lock, or a read snapshot), from the events in
        between; when it cannot (too many, one it does not know, the log purged), drop it."""
        with self._lock:
            held = self._days.get(site_id)
            if held is None or held.seq >= seq or (day is not None and held.day != day):
                return
            since = held.seq
        try:
            changes = self._read_changes(session, site_id, since, seq)
        except Exception:  # noqa: BLE001 - a row we cannot read: read the day again
            changes = None
        with self._lock:
            if self._days.get(site_id) is not held or held.seq != since:
                return  # another reader moved it meanwhile
            if changes is None:
                del self._days[site_id]
                return
            visits, counters = changes
            for vid, values in sorted(visits.items()):
                self._apply_light(held, vid, values)
            for cid, counter in counters.items():
                if counter is None:
                    held.counters.pop(cid, None)
                else:
                    held.counters[cid] = counter
            held.seq = seq
            self.caught_up += 1

    @staticmethod
    def _read_changes(session: Session, site_id: str, since: int, seq: int):
        """{visit id: its light row or None}, {counter id: Counter or None}, or None."""
        if seq - since > CATCH_UP:
            return None
        rows = _CHANGES.rows(session, {"site": site_id, "after": since, "upto": seq})
        if len(rows) != seq - since:  # the log no longer has them all
            return None
        visit_ids, counter_ids = set(), set()
        for type_, data in rows:
            if type_ in _NO_ROWS:
                continue
            kind = type_.partition(".")[0]
            if kind not in ("visit", "counter"):
                return None
            thing = json_codec.loads(data).get(kind) or {}
            if not isinstance(thing.get("id"), int):
                return None
            (visit_ids if kind == "visit" else counter_ids).add(thing["id"])
        visits = {}
        for vid in visit_ids:
            found = _VISIT.rows(session, {"id": vid})
            visits[vid] = found[0] if found else None
        counters = {}
        for cid in counter_ids:  # a counter changes a few times a day: the ORM's load will do
            row = session.get(CounterRow, cid)
            counters[cid] = repo.to_counter(row) if row is not None else None
        return visits, counters

    @staticmethod
    def _apply_light(held: _Day, vid: int, values: tuple | None) -> None:
        """One visit as the database has it now (a _VISIT row, None: gone) into the day."""
        site_id, day = (values[-3], values[-2]) if values is not None else (None, None)
        if values is None or site_id != held.site_id or day != held.day:
            held.visits.pop(vid, None)
            if held.done.pop(vid, None) is not None:
                held._observed = None
            return
        visit = repo.light_visit(site_id, day, values[:-3])
        if visit.state in OPEN_STATES:
            held.visits[vid] = visit
        else:
            held.visits.pop(vid, None)
        started, finished = visit.started_at, values[-1]
        if visit.state is State.DONE and started is not None and finished is not None:
            held.done[vid] = (repo._dt(finished),) + repo._minutes(visit.errand, started,
                                                                   finished)
            held._observed = None
        elif held.done.pop(vid, None) is not None:
            held._observed = None

    # --- after a commit ------------------------------------------------------------------
    def committed(self, locked: dict[str, tuple[int, object]], touched: set) -> None:
        by_site: dict[str, list] = {}
        for row in touched:
            by_site.setdefault(row.site_id, []).append(row)
        with self._lock:
            for site_id in set(locked) | set(by_site):
                held = self._days.get(site_id)
                if held is None:
                    continue
                seq0, site_row = locked.get(site_id, (None, None))
                rows = by_site.get(site_id, [])
                final = site_row.event_seq if site_row is not None else None
                if seq0 != held.seq or (rows and final == seq0):
                    del self._days[site_id]  # not the state it started from, or no event
                    continue
                try:
                    for row in rows:
                        self._apply(held, row)
                except Exception:  # noqa: BLE001 - a row we cannot read: read the day again
                    del self._days[site_id]
                    continue
                held.seq = final

    @staticmethod
    def _apply(held: _Day, row) -> None:
        deleted = getattr(row, "_skranke_deleted", False)
        if isinstance(row, CounterRow):
            if deleted:
                held.counters.pop(row.id, None)
            else:
                held.counters[row.id] = repo.to_counter(row)
            return
        gone = deleted or row.day != held.day
        if not gone and State(row.state) in OPEN_STATES:
            held.visits[row.id] = repo.to_visit(row)
        else:
            held.visits.pop(row.id, None)
        finished = None if gone else _done(row)
        if finished is not None:
            held.done[row.id] = finished
            held._observed = None
        elif row.id in held.done:
            held.done.pop(row.id)
            held._observed = None


def note_locked(session: Session, site_id: str, row) -> None:
    """Called when a transaction takes a site's lock (storage/db.py lock_site): the held
    day catches up with what other processes wrote, so that this transaction's rows can be
    carried into it after the commit."""
    locked = session.info.setdefault(LOCKED, {})
    if site_id not in locked:
        locked[site_id] = (row.event_seq, row)
        cache = session.info.get(CACHE)
        if cache is not None:
            cache.catch_up(session, site_id, row.event_seq)


def touched(session: Session, row) -> None:
    """A row changed past the unit of work (repo.update_visit): carry it in too."""
    session.info.setdefault(TOUCHED, set()).add(row)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context) -> None:
    if CACHE not in session.info:
        return
    touched = None
    for obj in session.new | session.dirty:
        if isinstance(obj, VisitRow | CounterRow):
            if touched is None:
                touched = session.info.setdefault(TOUCHED, set())
            touched.add(obj)
    for obj in session.deleted:
        if isinstance(obj, VisitRow | CounterRow):
            obj._skranke_deleted = True
            session.info.setdefault(TOUCHED, set()).add(obj)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    cache = session.info.get(CACHE)
    locked = session.info.pop(LOCKED, None) or {}
    touched = session.info.pop(TOUCHED, None) or set()
    if cache is not None and (locked or touched):
        cache.committed(locked, touched)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(LOCKED, None)
    session.info.pop(TOUCHED, None)
