"""Reception's screen: booked citizens still to arrive, the waiting walk-ins with their
expected call times, and the desk's actions (walk-in, find and check in, left, book)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from console import present
from console.i18n import _
from console.live import Change
from widgets.reception_tables import ArrivalsTable, WalkinsTable
from widgets.status_bar import OfflineBanner, StatusBar
from widgets.timeline import DayTimeline

from . import reception_flows as flows
from .base import Line, localized
from .dialogs import confirm


class ReceptionScreen(Screen):
    SCOPES = ("reception",)
    DEFAULT_CSS = """
    ReceptionScreen #lists { height: 1fr; }
    ReceptionScreen #lists > Vertical { width: 1fr; }
    ReceptionScreen .heading { text-style: bold; padding: 0 1; background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield OfflineBanner()
        with Horizontal(id="lists"):
            with Vertical():
                yield Line(_("Booked today, not arrived"), classes="heading")
                yield ArrivalsTable(self.app.errands, self.app.now)
            with Vertical():
                yield Line(_("Walk-ins waiting"), classes="heading")
                yield WalkinsTable(self.app.errands, self.app.now)
        yield DayTimeline()
        yield Footer()

    def on_mount(self) -> None:
        bar = self.query_one(StatusBar)
        bar.counter, bar.counter_state = _("Reception"), self.app.config.server.site
        bar.user = self.app.me.person if self.app.me else ""
        self.set_status(self.app.connection)
        self.tick()
        self.set_interval(1, self.tick)
        self.set_interval(30, lambda: self.repaint(None))
        self.repaint(None)

    # --- what the app calls -----------------------------------------------------------------
    def tick(self) -> None:
        self.query_one(StatusBar).clock = present.hhmm(self.app.now())

    def set_status(self, status: str) -> None:
        self.query_one(StatusBar).connection = status
        self.query_one(OfflineBanner).set_state(status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.on_worker_state_changed(event)  # StateChanged does not bubble

    def set_busy(self, label: str) -> None:
        self.query_one(StatusBar).busy = label

    def set_outbox(self, pending: int, rejected: int) -> None:
        bar = self.query_one(StatusBar)
        bar.pending, bar.rejected = pending, rejected

    def apply(self, change: Change) -> None:
        self.repaint(None if change.reloaded else change.visits)

    def repaint(self, changed: set[int] | None) -> None:
        visits = self.app.model.ordered()
        self.query_one(ArrivalsTable).sync(
            sorted((v for v in visits if v.state == "booked"), key=lambda v: (
                v.slot_start or self.app.now(), v.id)),
            lambda v: True, 0, changed)
        self.query_one(WalkinsTable).sync(
            visits, lambda v: v.kind == "walkin" and v.state == "waiting", 0, changed)
        self.query_one(DayTimeline).show(self.app.model, self.app.now(), self.size.width)

    # --- actions --------------------------------------------------------------------------------
    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_register_walkin(self) -> None:
        await flows.register_walkin(self.app)

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_find(self) -> None:
        await flows.find_and_check_in(self.app)

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_check_in(self) -> None:
        vid = self.query_one(ArrivalsTable).visit_id
        if vid is not None:
            await flows.check_in(self.app, vid)

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_mark_left(self) -> None:
        vid = self.query_one(WalkinsTable).visit_id
        v = self.app.model.visits.get(vid) if vid is not None else None
        if v is None:
            return
        sure = await self.app.push_screen_wait(confirm(
            _("Has {ticket} {name} left without being served?").format(
                ticket=v.ticket, name=v.citizen.name if v.citizen else "")))
        if sure:
            await self.app.act_now("walk_out", _("Left"), "POST", f"/visits/{v.id}/walk-out",
                                   {"reason": "left"})

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_book(self) -> None:
        await flows.book_for_citizen(self.app)

    def action_precalls(self) -> None:
        from .precalls import PrecallScreen

        self.app.push_screen(localized(PrecallScreen)())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        role = self.app.me.role if self.app.me else ""
        return role in ("reception", "supervisor")
