"""What every service call stands on: the app's parts, the acting user, the transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..catalogue import Catalogue, Errand
from ..clock import Clock
from ..domain.errors import Forbidden, Invalid, NotFound, StaleVersion
from ..domain.types import Visit
from ..settings import Settings, SiteConfig
from ..storage import repo
from ..storage.db import Database, LockedSite, lock_site, lock_visits_site
from ..storage.dialect import notify_events
from ..storage.models import AuditRow, CounterRow, EventRow, NoteRow, SiteRow, VisitRow, as_utc

if TYPE_CHECKING:
    from .planning import Published
    from .writer import WriteThread

T = TypeVar("T")
#: Audit and event rows are only ever inserted by a write: a Core INSERT each, run at
#: once, costs a fraction of an ORM object through the session's flush.
_AUDIT_INSERT = AuditRow.__table__.insert()
_EVENT_INSERT = EventRow.__table__.insert()
_COUNTER_Q = select(CounterRow).where(CounterRow.site_id == bindparam("site"),
                                     CounterRow.number == bindparam("number"))
#: A visit, its counter and whether it has notes, in one statement: what a change reads
#: (the counter for the caseworker's check and the answer; the notes only if there are any).
_VISIT_Q = (select(VisitRow, CounterRow, exists().where(NoteRow.visit_id == VisitRow.id))
            .outerjoin(CounterRow, CounterRow.id == VisitRow.counter_id)
            .where(VisitRow.id == bindparam("visit")))
#: A visit's changed columns (the SET clause from the parameters given) and the site's
#: event sequence: a Core UPDATE each, run at once (an ORM flush cost five times as much).
_VISIT_UPDATE = update(VisitRow.__table__).where(VisitRow.__table__.c.id == bindparam("_id"))
_SEQ_UPDATE = (update(SiteRow.__table__).where(SiteRow.__table__.c.id == bindparam("_site"))
               .values(event_seq=bindparam("_seq")))
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
#: How long a background write (the tick, a plan's event) waits for the database's lock. No
#: one waits for its answer and it is made again on its next round, while the users' writes
#: queued behind it on the write thread must be answered within `write_lock_timeout`: under
#: a lock held by another program, a tick and a plan waiting the full 5 s each ahead of a
#: user's write had it answered after up to 15 s (bench/db_lock.py).
BACKGROUND_WAIT = 0.5


class CommitListener(Protocol):
    """Told, in the committing thread, of every write transaction of this process that
    wrote events: the event stream sends them on, the planner plans again."""

    def committed(self, site_ids: set[str], events: list[dict[str, Any]]) -> None: ...


class PlanSource(Protocol):
    """The published plans (services/planning.py Planner) while the app runs."""

    def latest(self, site_id: str) -> Published | None: ...

    async def after(self, site_id: str, seq: int) -> Published | None: ...

    async def next_plan(self, site_id: str) -> None: ...


@dataclass
class AppContext:
    settings: Settings
    catalogue: Catalogue
    db: Database
    clock: Clock
    hmac_key: bytes = b""
    #: Told of each commit that wrote events (the event stream, the planner), while the
    #: app runs.
    listeners: list[CommitListener] = field(default_factory=list)
    #: The published plans while the app runs, else None.
    plans: PlanSource | None = None
    #: The thread the app's writes run on (services/writer.py) while it runs, else None.
    writes: WriteThread | None = None
    #: Fault injection for crash tests: ("after_commit" | "before_commit", request path).
    crash_at: tuple[str, str] | None = None

    @contextmanager
    def transaction(self, actor: Actor | None = None, occurred_at: datetime | None = None,
                    timeout: float | None = None) -> Iterator[Tx]:
        """One write transaction on behalf of `actor` (the system's by default): committed
        when the block ends without error, then its events handed to the listeners."""
        with self.db.write(timeout) as session:
            tx = Tx(self, session, actor or SYSTEM, occurred_at)
            yield tx
        self.db.after_commit(lambda: self.committed(tx))

    def write_now(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` (which opens its own write transactions) on the app's write thread
        while the app runs, else here. From a worker thread, never the event loop."""
        writes = self.writes
        if writes is None:
            return fn(*args)
        return writes.submit(fn, *args).result()

    def committed(self, tx: Tx) -> None:
        if tx.events:
            for listener in self.listeners:
                listener.committed(tx.emitted, tx.events)

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
        """Migrate, then make sure every configured site, its counters and the keys exist
        (alone: another process setting the same database up at once waits its turn)."""
        with self.db.setting_up():
            self.db.migrate()
            self._set_up_sites_and_keys()

    def _set_up_sites_and_keys(self) -> None:
        from .. import keys  # the keys live outside the database (backend/keys.py)

        with self.db.write(timeout=60) as s:
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
    _locked: dict[str, LockedSite] = field(default_factory=dict, init=False)
    #: The last event sequence this transaction wrote, per site.
    last_seq: dict[str, int] = field(default_factory=dict, init=False)
    #: The events it wrote, as the event stream frames them after the commit.
    events: list[dict[str, Any]] = field(default_factory=list, init=False)
    #: Counters read in this transaction, held here: the session's identity map holds
    #: unchanged rows only weakly, so a second `get` would read the row again.
    _counters: dict[int, CounterRow] = field(default_factory=dict, init=False)
    #: Visits read in this transaction that have no notes: their answer reads none.
    noteless: set[int] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.now = self.ctx.clock.now()

    @property
    def emitted(self) -> set[str]:
        """The sites this transaction wrote events for."""
        return set(self.last_seq)

    # --- locking and loading -------------------------------------------------------------
    def lock(self, site_id: str) -> SiteConfig:
        self.site_lock(site_id)
        return self.ctx.site(site_id)

    def site_lock(self, site_id: str) -> LockedSite:
        """The site's row as read under its lock (taking the lock)."""
        row = self._locked.get(site_id)
        if row is None:
            self.ctx.site(site_id)
            self.actor.check_site(site_id)  # every write locks its site first: checked here
            row = lock_site(self.session, site_id)
            if row is None:
                raise NotFound(f"There is no site '{site_id}'.", code="unknown_site")
            self._locked[site_id] = row
        return row

    def seq(self, site_id: str) -> int:
        """The site's event sequence as this transaction sees it (it takes the lock)."""
        return self.site_lock(site_id).event_seq

    def visit_row(self, visit_id: int, if_match: int | None = None) -> VisitRow:
        """The visit as it is under its site's lock (the lock first, on every database: one
        statement finds the visit's site and locks it, the next reads the visit)."""
        site = lock_visits_site(self.session, visit_id)
        if site is None:
            raise NotFound(f"There is no visit {visit_id}.", code="unknown_visit")
        if site.id not in self._locked:
            self.ctx.site(site.id)
            self.actor.check_site(site.id)
            self._locked[site.id] = site
        row = self.read_visit(visit_id)
        if if_match is not None and if_match != row.version:
            from .views import visit_view

            raise StaleVersion(
                f"Visit {row.ticket} changed meanwhile (version {row.version}, "
                f"you had {if_match}).", current=visit_view(self.session, self.ctx, row))
        return row

    def read_visit(self, visit_id: int) -> VisitRow:
        """The whole visit (its site locked already), its counter kept for this transaction
        and whether it has notes noted."""
        row, counter, noted = self.session.execute(_VISIT_Q, {"visit": visit_id}).one()
        if counter is not None:
            self._counters[counter.id] = counter
        if not noted:
            self.noteless.add(row.id)
        return row

    def counter_row(self, site_id: str, number: int) -> CounterRow:
        self.lock(site_id)
        row = self.session.scalar(_COUNTER_Q, {"site": site_id, "number": number})
        if row is None:
            raise NotFound(f"Site {site_id} has no counter {number}.", code="unknown_counter")
        self._counters[row.id] = row
        return row

    def counter(self, counter_id: int | None) -> CounterRow | None:
        """A counter by id, read once per transaction."""
        if counter_id is None:
            return None
        row = self._counters.get(counter_id)
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
        """Write the columns in which `visit` differs from its row, now, and hold the row
        object as the database has it (no ORM flush follows for them)."""
        values = repo.changes(row, visit)
        values["updated_at"] = self.now
        self.session.connection().execute(_VISIT_UPDATE, {"_id": row.id, **values})
        for name, value in values.items():
            set_committed_value(row, name, as_utc(value) if isinstance(value, datetime)
                                else value)

    def audit(self, action: str, *, site_id: str | None, visit: VisitRow | None = None,
              counter_id: int | None = None, detail: dict[str, Any] | None = None) -> None:
        self.session.connection().execute(_AUDIT_INSERT, dict(
            at=self.now, occurred_at=self.occurred_at, actor=self.actor.person,
            token_id=self.actor.token_id, role=self.actor.role, action=action,
            site_id=site_id, visit_id=visit.id if visit is not None else None,
            counter_id=counter_id if counter_id is not None else (
                visit.counter_id if visit is not None else None),
            citizen_ref=visit.cpr_ref if visit is not None else None, detail=detail))

    def emit(self, site_id: str, type_: str, data: dict[str, Any]) -> int:
        """Append an event (ids and states only) with the site's next sequence number."""
        site = self.site_lock(site_id)
        seq = site.event_seq + 1
        if site_id not in self.last_seq:  # the other server processes' streams, at commit
            notify_events(self.session, site_id, self.ctx.db.tag)
        self.last_seq[site_id] = seq
        event = dict(site_id=site_id, seq=seq, at=self.now, type=type_, data=data)
        self.events.append(event)
        conn = self.session.connection()
        conn.execute(_EVENT_INSERT, event)
        conn.execute(_SEQ_UPDATE, {"_site": site_id, "_seq": seq})
        site.event_seq = seq
        return seq
