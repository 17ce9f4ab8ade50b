"""Reception's screen: booked citizens still to arrive, the waiting walk-ins with their
expected call times, and the desk's actions (walk-in, find and check in, left, book)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from console import present
from console.i18n import _
from widgets.key_footer import KeyFooter
from widgets.reception_tables import ArrivalsTable, WalkinsTable
from widgets.status_bar import OfflineBanner, StatusBar
from widgets.timeline import DayTimeline

from . import reception_flows as flows
from .base import Line, localized
from .dialogs import confirm
from .main import MainScreen


class ReceptionScreen(MainScreen):
    SCOPES = ("reception",)
    DEFAULT_CSS = """
    ReceptionScreen #lists { height: 1fr; }
    ReceptionScreen #lists > Vertical { width: 1fr; }
    ReceptionScreen .heading { text-style: bold; padding: 0 1; background: $boost; }
    ReceptionScreen #slip { height: auto; width: 100%; padding: 0 1; border: round $accent;
                            display: none; }
    ReceptionScreen #slip.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        #: the last ticket or booking given: (kind, visit id), its first words
        self.slip: tuple[tuple, str] | None = None

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
        yield Line(id="slip")
        yield DayTimeline()
        yield KeyFooter()

    def on_resize(self, event) -> None:
        """Under 32 rows the lists need the room: the timeline steps aside."""
        self.query_one(DayTimeline).display = event.size.height >= 32

    def place(self) -> tuple[str, str]:
        return _("Reception"), self.app.config.server.site

    # --- what the app calls -----------------------------------------------------------------
    def repaint(self, changed: set[int] | None) -> None:
        visits = self.app.model.ordered()
        self.query_one(ArrivalsTable).sync(
            sorted((v for v in visits if v.state == "booked"), key=lambda v: (
                v.slot_start or self.app.now(), v.id)),
            lambda v: True, 0, changed)
        self.query_one(WalkinsTable).sync(
            visits, lambda v: v.kind == "walkin" and v.state == "waiting", 0, changed)
        self.query_one(DayTimeline).show(self.app.model, self.app.now(), self.size.width)
        self.paint_slip()

    # --- the last ticket or booking, on screen until dismissed -------------------------------
    def show_slip(self, what: tuple, text: str) -> None:
        self.slip = (what, text)
        self.query_one("#slip", Line).set_class(True, "-shown")
        self.paint_slip()

    def paint_slip(self) -> None:
        slip = self.query_one("#slip", Line)
        if self.slip is None or not slip.has_class("-shown"):
            return
        (kind, vid, gap), text = self.slip
        if kind == "walkin" and vid in self.app.model.visits:
            v = self.app.model.visits[vid]
            text = f"{text}: " + present.walkin_slip(
                v, self.app.now(), present.closing(self.app.model.opening), gap)
        slip.update(f"{text}   " + _("(t hides this)"))

    def action_slip(self) -> None:
        if self.slip is None:
            self.notify(_("No ticket or booking given yet."))
            return
        slip = self.query_one("#slip", Line)
        slip.set_class(not slip.has_class("-shown"), "-shown")
        self.paint_slip()

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
