"""The published plan: after every change, the site's queue order and the walk-ins'
estimated call times are recomputed and sent as one `queue.plan` event.

A full plan runs the whole day forward (backend/domain/planner.py); on a busy site it costs
more than the change itself, so it is not made inside each write transaction. Each write
commits its change and its visit event at once; the site's planning loop then reads a
consistent snapshot (the site's event sequence and the open visits, one read transaction),
computes the plan in a worker thread outside any lock, and appends (on the write thread) a
`queue.plan` event carrying `as_of` (the sequence it reflects), the waiting visits' ids in
queue order and the estimates. Changes that come
close together share one plan, so under load plans follow at a pace the machine can carry
(the planner rests nine times as long as its last plan took: at most a tenth of the CPU)
and every console still sees the new order within a fraction of a second. Call next never
waits for a plan: it decides from the state it reads under the site's lock, with the same
pure functions.

A write whose answer is a waiting visit (a walk-in's ticket, a check-in) waits for the plan
that covers it, so the answer carries that visit's place and estimated call time.

Several server processes on one database each plan their own changes; a plan older than one
already published (`plan_as_of:<site>` in the meta table) is dropped, so the consoles never
step back to an older order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anyio import CapacityLimiter, to_thread
from sqlalchemy import select

from ..domain.forward import Plan
from ..domain.queue import queue_plan
from ..storage import repo
from ..storage.models import Meta, SiteRow
from .context import BACKGROUND_WAIT, SYSTEM, AppContext
from .events import running_loop
from .views import gap_views, iso

log = logging.getLogger("skranke.planning")

#: Changes arriving within this time of each other share a plan.
DEBOUNCE_SECONDS = 0.005
#: After a plan that took d seconds, the planner rests REST_RATIO * d, within
#: [REST_MIN, REST_MAX] (a slow plan, say the first after a start, must not hold the next
#: one back for seconds: answers wait for it).
REST_MIN = 0.02
REST_MAX = 0.3
REST_RATIO = 9.0
#: Without changes a site is planned again after this long (the clock moves estimates); a
#: plan the same as the last one published is not sent.
REFRESH_SECONDS = 30.0
#: How long a write waits for the plan covering it before answering without it.
WAIT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Published:
    #: The site's event sequence this plan reflects (every change up to it is in).
    as_of: int
    plan: Plan
    made_at: datetime
    #: What the event carried (queue, estimates), for answers that wait for it.
    data: dict
    #: The gap each waiting walk-in is planned into (views.gap_views), for those answers.
    gaps: dict

    def place(self, visit_id: int, tz) -> dict:
        """A waiting visit's place in this plan, as its answer carries it."""
        return {"queue_rank": self.plan.ranks.get(visit_id),
                "estimated_call_at": iso(self.plan.estimates.get(visit_id), tz),
                "planned_gap": self.gaps.get(str(visit_id))}


def payload(plan: Plan, tz) -> dict:
    """The event's data: ids and times only (never names or CPR numbers). The gaps stay out:
    every console receives every plan, and only the answer to a walk-in's registration (and
    the snapshot) needs to say which gap it is planned into."""
    ranks = plan.ranks
    return {"queue": sorted(ranks, key=ranks.__getitem__),
            "estimates": {str(vid): iso(at, tz) for vid, at in plan.estimates.items()}}


def _compute(state, now: datetime, tz) -> tuple[Plan, dict, dict, str]:
    """The plan and what its event and answers carry: pure, so it runs anywhere."""
    plan = queue_plan(state, now)
    data = payload(plan, tz)
    gaps = gap_views(plan, {c.id: c.number for c in state.counters}, tz)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    return plan, data, gaps, digest


@dataclass(frozen=True, slots=True)
class _Snapshot:
    seq: int
    state: object  # the site's DayState
    now: datetime
    tz: object
    #: The meta table's mark of the last plan published: [as_of, digest].
    published: list[str]


@dataclass
class _Site:
    site_id: str
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    latest: Published | None = None
    waiters: list[tuple[int, asyncio.Future]] = field(default_factory=list)
    task: asyncio.Task | None = None
    busy: bool = False
    #: Set (and replaced) each time this process keeps a new plan for the site.
    fresh: asyncio.Event = field(default_factory=asyncio.Event)


class Planner:
    """One planning loop per site in this process; writes tell it what they committed."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sites: dict[str, _Site] = {}
        self.limiter = CapacityLimiter(1)  # plans do not take the request threads
        self.refresh_seconds = REFRESH_SECONDS

    # --- called from any thread after a commit ---------------------------------------------
    def committed(self, site_ids: set[str], events: list[dict[str, Any]]) -> None:
        for site_id in site_ids:
            if any(e["site_id"] == site_id and e["type"] != "queue.plan" for e in events):
                self.changed(site_id)

    def changed(self, site_id: str) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        if running_loop() is loop:  # a write on the loop: no wake-up through the self-pipe
            loop.call_soon(self._mark, site_id)
        else:
            loop.call_soon_threadsafe(self._mark, site_id)

    def _mark(self, site_id: str) -> None:
        self._site(site_id).dirty.set()

    # --- on the event loop -------------------------------------------------------------------
    def start(self) -> None:
        self.loop = asyncio.get_running_loop()

    def _site(self, site_id: str) -> _Site:
        site = self.sites.get(site_id)
        if site is None:
            site = self.sites[site_id] = _Site(site_id)
        if site.task is None or site.task.done():
            site.task = asyncio.create_task(self._run(site))
        return site

    def settled(self) -> bool:
        """No change waits for its plan (tests and the benchmark ask this)."""
        return not any(s.busy or s.dirty.is_set() or s.waiters for s in self.sites.values())

    def latest(self, site_id: str) -> Published | None:
        site = self.sites.get(site_id)
        return site.latest if site else None

    async def next_plan(self, site_id: str) -> None:
        """Return once this process keeps its next plan for the site. The waiting room reads
        it then: the plan's own event can reach a listener before the plan is kept here."""
        await self._site(site_id).fresh.wait()

    async def after(self, site_id: str, seq: int, timeout: float = WAIT_SECONDS
                    ) -> Published | None:
        """The first plan that covers event `seq` (or the latest one, after `timeout`)."""
        site = self._site(site_id)
        if site.latest is not None and site.latest.as_of >= seq:
            return site.latest
        future = asyncio.get_running_loop().create_future()
        site.waiters.append((seq, future))
        site.dirty.set()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            log.warning("no plan within %.1f s for site %s", timeout, site_id)
            return site.latest
        finally:
            with contextlib.suppress(ValueError):
                site.waiters.remove((seq, future))

    async def _run(self, site: _Site) -> None:
        while True:
            try:  # a change, or time passing: estimates move with the clock too
                await asyncio.wait_for(site.dirty.wait(), self.refresh_seconds)
                refresh = False
            except TimeoutError:
                refresh = True
            await asyncio.sleep(DEBOUNCE_SECONDS)
            site.dirty.clear()
            t0 = time.perf_counter()
            site.busy = True
            try:
                published = await self.make_async(site.site_id, site.latest, refresh)
            except Exception as exc:  # noqa: BLE001 - the loop must survive a bad plan
                log.error("plan for site %s failed: %s", site.site_id, type(exc).__name__)
                site.dirty.set()
                await asyncio.sleep(1.0)
                continue
            finally:
                site.busy = False
            if published is not site.latest:
                site.latest = published
                fresh, site.fresh = site.fresh, asyncio.Event()
                fresh.set()
            still = []
            for seq, future in site.waiters:
                if future.done():
                    continue
                if seq <= published.as_of:
                    future.set_result(published)
                else:
                    still.append((seq, future))
            site.waiters = still
            if still:
                site.dirty.set()
            took = time.perf_counter() - t0
            await asyncio.sleep(min(REST_MAX, max(REST_MIN, REST_RATIO * took)))

    async def make_async(self, site_id: str, previous: Published | None,
                         refresh: bool = False) -> Published:
        """`make` off the event loop: the snapshot and the plan in a worker thread, the
        plan's event on the write thread (services/writer.py) while the app runs."""
        made = await to_thread.run_sync(self._plan, site_id, previous, refresh,
                                        limiter=self.limiter)
        if isinstance(made, Published):
            return made
        snap, computed = made
        if snap.published[1:] == [computed[3]]:  # the last plan published says just this
            plan, data, gaps, _ = computed
            return Published(snap.seq, plan, snap.now, data, gaps)
        writes = self.ctx.writes
        if writes is None:
            return await to_thread.run_sync(self._publish, site_id, snap, *computed)
        return await writes.run(self._publish, site_id, snap, *computed)

    def _plan(self, site_id: str, previous: Published | None, refresh: bool
              ) -> Published | tuple[_Snapshot, tuple[Plan, dict, dict, str]]:
        snap = self._snapshot(site_id, previous, refresh)
        if isinstance(snap, Published):
            return snap
        return snap, _compute(snap.state, snap.now, snap.tz)

    def make(self, site_id: str, previous: Published | None, refresh: bool = False
             ) -> Published:
        """Read the site's state, plan, and publish the plan as an event, unless the consoles
        already have the same one or another process has published a newer one."""
        snap = self._snapshot(site_id, previous, refresh)
        if isinstance(snap, Published):
            return snap
        return self._publish(site_id, snap, *_compute(snap.state, snap.now, snap.tz))

    def _snapshot(self, site_id: str, previous: Published | None, refresh: bool
                  ) -> _Snapshot | Published:
        """What a plan starts from, or `previous` when nothing has changed since."""
        ctx = self.ctx
        site = ctx.site(site_id)
        now = ctx.clock.now()
        with ctx.db.read() as s:  # one snapshot: the sequence, the state and the mark agree
            seq = s.scalar(select(SiteRow.event_seq).where(SiteRow.id == site_id)) or 0
            if previous is not None and previous.as_of >= seq and not refresh:
                return previous
            state = repo.day_state(s, site_id, ctx.today(site, now), site.rules, now=now,
                                   horizon=ctx.horizon)
            mark = s.get(Meta, f"plan_as_of:{site_id}")
            published = mark.value.split() if mark is not None else ["-1", ""]
        return _Snapshot(seq, state, now, site.tz, published)

    def _publish(self, site_id: str, snap: _Snapshot, plan: Plan, data: dict, gaps: dict,
                 digest: str) -> Published:
        """Append the plan's event, unless the consoles already have the same one or another
        process has published a newer one."""
        ctx, seq, now, key = self.ctx, snap.seq, snap.now, f"plan_as_of:{site_id}"
        if snap.published[1:] == [digest]:  # the last plan published says just this
            return Published(seq, plan, now, data, gaps)
        with ctx.transaction(SYSTEM, timeout=BACKGROUND_WAIT) as tx:
            tx.lock(site_id)
            mark = tx.session.get(Meta, key)
            if mark is not None and int(mark.value.split()[0]) >= seq:
                return Published(seq, plan, now, data, gaps)  # another process was newer
            if mark is None:
                tx.session.add(Meta(key=key, value=f"{seq} {digest}"))
            else:
                mark.value = f"{seq} {digest}"
            own = tx.emit(site_id, "queue.plan", {"as_of": seq, **data})
        # nothing came between the snapshot and the plan's own event: it covers that too
        return Published(own if own == seq + 1 else seq, plan, now, data, gaps)

    async def close(self) -> None:
        for site in self.sites.values():
            if site.task:
                site.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await site.task
            for _, future in site.waiters:
                if not future.done():
                    future.cancel()
