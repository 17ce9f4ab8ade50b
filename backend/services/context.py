"""What every service call stands on: the app's parts, the acting user, the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect, select, update
from sqlalchemy.orm import Session

from ..catalogue import Catalogue, Errand
from ..clock import Clock
from ..domain.errors import Forbidden, Invalid, NotFound, StaleVersion
from ..domain.types import Counter, Visit
from ..settings import Settings, SiteConfig
from ..storage import repo
from ..storage.db import COMMITTED_EVENTS, Database, lock_site
from ..storage.dialect import notify_events
from ..storage.fast import Fast
from ..storage.models import AuditRow, CounterRow, EventRow, SiteRow, VisitRow
from ..storage.open_visits import touched

ROLES = ("caseworker", "reception", "supervisor", "kiosk", "display", "admin", "booking")


@dataclass(frozen=True, slots=True)
class Actor:
    token_id: str
    role: str
    person: str
    #: the one site the token acts on; None: every site of the municipality
    site_id: str | None = None

    def check_site(self, site_id: str) -> None:
        """A token bound to a site acts on that site only (403 `wrong_site`)."""
        if self.site_id is not None and site_id != self.site_id:
            raise Forbidden(f"This token is for site '{self.site_id}', not '{site_id}'.",
                            code="wrong_site", site=self.site_id)


SYSTEM = Actor(token_id="system", role="system", person="system")  # noqa: S106


@dataclass
class AppContext:
    settings: Settings
    catalogue: Catalogue
    db: Database
    clock: Clock
    hmac_key: bytes = b""
    #: Called with a site id after a commit that wrote events (the SSE hub listens).
    notifier: Any = None
    #: The published plans (services/planning.py) while the app runs, else None.
    plans: Any = None
    #: Where writes run while the app runs (api/app.py): "inline" on the event loop
    #: (SQLite), or an executor's threads; None outside the app.
    writers: Any = None
    #: While the app runs on SQLite: awaited before a write's answer (services/durable.py).
    durable: Any = None
    #: Plans computed in a process of their own (services/planning.py): the server's.
    plan_processes: bool = False
    #: Fault injection for crash tests: ("after_commit" | "before_commit", request path).
    crash_at: tuple[str, str] | None = None

    def notify(self, site_ids) -> None:
        if self.notifier is not None:
            for site_id in site_ids:
                self.notifier(site_id)

    def site(self, site_id: str) -> SiteConfig:
        site = self.settings.site_map.get(site_id)
        if site is None:
            raise NotFound(f"There is no site '{site_id}'.", code="unknown_site")
        return site

    @cached_property
    def horizon(self) -> timedelta:
        """How far ahead the planner sees bookings: its estimated call times for walk-ins and
        the knock-on of a walk-in on a busy day reach further than the longest errand."""
        longest = max(e.minutes for e in self.catalogue.errand)
        return timedelta(minutes=max(longest + 10, 180))

    def errand(self, code: str) -> Errand:
        errand = self.catalogue.by_code.get(code)
        if errand is None:
            raise Invalid(f"There is no errand '{code}'.", code="unknown_errand")
        return errand

    def today(self, site: SiteConfig, when: datetime | None = None) -> date:
        return (when or self.clock.now()).astimezone(site.tz).date()

    def bootstrap(self) -> None:
        """Migrate, then make sure every configured site, its counters and the keys exist."""
        self.db.migrate()
        from .. import keys  # the keys live outside the database (backend/keys.py)

        with self.db.write() as s:
            self.hmac_key = keys.load(self.settings, s).audit_hmac
            keys.encrypt_clear_rows(s)
            for site in self.settings.sites:
                row = s.get(SiteRow, site.id)
                if row is None:
                    s.add(SiteRow(id=site.id, name=site.name, event_seq=0))
                    s.flush()
                elif row.name != site.name:
                    row.name = site.name
                have = {c.number for c in repo.counters(s, site.id)}
                for n in range(1, site.counters + 1):
                    if n not in have:
                        s.add(CounterRow(site_id=site.id, number=n, name=f"Skranke {n}",
                                         state="closed", version=1))


@dataclass
class Tx:
    """One write transaction on behalf of one actor."""

    ctx: AppContext
    session: Session
    actor: Actor
    occurred_at: datetime | None = None
    now: datetime = field(init=False)
    _locked: dict[str, repo.LockedSite] = field(default_factory=dict, init=False)
    #: The last event sequence this transaction wrote, per site.
    last_seq: dict[str, int] = field(default_factory=dict, init=False)
    #: Counters read in this transaction, held here: the session's identity map holds
    #: unchanged rows only weakly, so a second `get` would read the row again.
    _counters: dict[int, CounterRow] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.now = self.ctx.clock.now()

    @property
    def emitted(self) -> set[str]:
        """The sites this transaction wrote events for."""
        return set(self.last_seq)

    # --- locking and loading -------------------------------------------------------------
    def lock(self, site_id: str) -> SiteConfig:
        site = self.ctx.site(site_id)
        self.actor.check_site(site_id)  # every write locks its site first: checked here
        if site_id not in self._locked:
            row = lock_site(self.session, site_id)
            if row is None:
                raise NotFound(f"There is no site '{site_id}'.", code="unknown_site")
            self._locked[site_id] = row
        return site

    def site_lock(self, site_id: str) -> repo.LockedSite:
        """The site's row as read under its lock (taking the lock)."""
        row = self._locked.get(site_id)
        if row is None:
            self.lock(site_id)
            row = self._locked[site_id]
        return row

    def seq(self, site_id: str) -> int:
        """The site's event sequence as this transaction sees it (it takes the lock)."""
        return self.site_lock(site_id).event_seq

    def visit_row(self, visit_id: int, if_match: int | None = None) -> VisitRow:
        if self.ctx.db.is_sqlite:  # BEGIN IMMEDIATE: the whole transaction is under the lock
            row = repo.load_visit(self.session, visit_id)
            if row is None:
                raise NotFound(f"There is no visit {visit_id}.", code="unknown_visit")
            self.lock(row.site_id)
        else:  # the site's row lock first, then the visit as it is under that lock
            site_id = self.session.scalar(select(VisitRow.site_id).where(
                VisitRow.id == visit_id))
            if site_id is None:
                raise NotFound(f"There is no visit {visit_id}.", code="unknown_visit")
            self.lock(site_id)
            row = self.session.get(VisitRow, visit_id)
        if if_match is not None and if_match != row.version:
            from .views import visit_view

            raise StaleVersion(
                f"Visit {row.ticket} changed meanwhile (version {row.version}, "
                f"you had {if_match}).", current=visit_view(self.session, self.ctx, row))
        return row

    def counter_row(self, site_id: str, number: int) -> CounterRow:
        self.lock(site_id)
        row = self.session.scalar(select(CounterRow).where(
            CounterRow.site_id == site_id, CounterRow.number == number))
        if row is None:
            raise NotFound(f"Site {site_id} has no counter {number}.", code="unknown_counter")
        self._counters[row.id] = row
        return row

    def counter(self, counter_id: int | None) -> CounterRow | Counter | None:
        """A counter by id, to read (its number, name, staff): read once per transaction, or
        taken from the site's held day (storage/open_visits.py). Counters a transaction
        changes are read with `counter_row`."""
        if counter_id is None:
            return None
        row = self._counters.get(counter_id)
        if row is None:  # one this transaction has not read for writing: from the held day
            row = self.ctx.db.open_visits.counter(self.session, counter_id)
        if row is None:
            row = self.session.get(CounterRow, counter_id)
            if row is not None:
                self._counters[counter_id] = row
        return row

    # --- who may touch what ----------------------------------------------------------------
    def check_counter(self, counter: CounterRow) -> None:
        """A caseworker acts only at the counter they staff."""
        if self.actor.role == "caseworker" and counter.staffed_by != self.actor.person:
            raise Forbidden(f"You do not staff {counter.name}.", code="not_your_counter")

    def check_visit(self, row: VisitRow) -> None:
        if self.actor.role != "caseworker":
            return
        counter = self.counter(row.counter_id)
        if counter is None or counter.staffed_by != self.actor.person:
            raise Forbidden(f"Visit {row.ticket} is not at the counter you staff.",
                            code="not_your_visit")

    # --- writing ---------------------------------------------------------------------------
    def save(self, row: VisitRow, visit: Visit) -> None:
        values = repo.changes(row, visit)
        values["updated_at"] = self.now
        if inspect(row).persistent:
            repo.update_visit(self.session, row, values)
            touched(self.session, row)
        else:  # not stored yet: its INSERT carries the values
            for name, value in values.items():
                setattr(row, name, value)

    def audit(self, action: str, *, site_id: str | None, visit: VisitRow | None = None,
              counter_id: int | None = None, detail: dict[str, Any] | None = None) -> None:
        _pending(self.session, AuditRow).append(dict(
            at=self.now, occurred_at=self.occurred_at, actor=self.actor.person,
            token_id=self.actor.token_id, role=self.actor.role, action=action,
            site_id=site_id, visit_id=visit.id if visit is not None else None,
            counter_id=counter_id if counter_id is not None else (
                visit.counter_id if visit is not None else None),
            citizen_ref=visit.cpr_ref if visit is not None else None, detail=detail))

    def emit(self, site_id: str, type_: str, data: dict[str, Any]) -> int:
        """Append an event (ids and states only) with the site's next sequence number."""
        site = self.site_lock(site_id)
        seq = site.event_seq = site.event_seq + 1  # stored before the commit, below
        self.last_seq[site_id] = seq
        _pending(self.session, EventRow).append(dict(
            site_id=site_id, seq=seq, at=self.now, type=type_, data=data))
        self.session.info.setdefault(_SEQS, {})[site_id] = seq
        return seq


# Audit and event rows are appended, never read back in their transaction: they are
# written in one multi-row INSERT each just before the commit, not through the ORM's unit
# of work one object at a time (the write path's largest cost after the queries). The
# site's new event sequence is stored there too, with one UPDATE.
_ROWS = "skranke_rows"
_SEQS = "skranke_seqs"
_SITES = SiteRow.__table__
# Statements built once: building one and its cache key costs more than running it.
_SET_SEQ = Fast(update(_SITES).where(_SITES.c.id == bindparam("site")).values(
    event_seq=bindparam("seq")))
_INSERTS: dict = {}


def _insert(table, columns: tuple[str, ...]) -> Fast:
    stmt = _INSERTS.get((table, columns))
    if stmt is None:
        stmt = _INSERTS[table, columns] = Fast(insert(table).values(
            {name: bindparam(name) for name in columns}))
    return stmt


def _pending(session: Session, model) -> list[dict[str, Any]]:
    return session.info.setdefault(_ROWS, {}).setdefault(model.__table__, [])


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_ROWS, None)
    seqs = session.info.pop(_SEQS, None)
    if pending or seqs:
        session.flush()
        for site_id, seq in (seqs or {}).items():
            _SET_SEQ.run(session, {"site": site_id, "seq": seq})
        if seqs:  # the other server processes' streams, woken at the commit
            notify_events(session, seqs)
        for table, rows in (pending or {}).items():
            stmt = _insert(table, tuple(rows[0]))  # a table's rows share their keys
            if len(rows) == 1:
                stmt.run(session, rows[0])
            else:
                stmt.run_many(session, rows)
        events = (pending or {}).get(EventRow.__table__)
        if events:  # handed to this process's event stream after the commit (storage/db.py)
            session.info[COMMITTED_EVENTS] = events


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_ROWS, None)
    session.info.pop(_SEQS, None)
    session.info.pop(COMMITTED_EVENTS, None)
