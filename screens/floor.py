"""The supervisor's floor: every counter live, the whole queue, and the moves that keep
the floor running. Every change goes through the backend and reaches every console."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection

from console import errors, present
from console.i18n import _
from console.models import Visit
from console.presence import floor_lines
from widgets.counter_board import CounterBoard
from widgets.key_footer import KeyFooter
from widgets.queue_table import QueueTable
from widgets.status_bar import OfflineBanner, StatusBar
from widgets.timeline import DayTimeline

from .base import Line, localized
from .dialogs import Dialog, choose, confirm, prompt
from .main import MainScreen


class ErrandChoice(Dialog[list[str] | None]):
    """Space ticks an errand, Enter saves; none ticked means all errands."""

    def __init__(self, title: str, errands: present.Errands, chosen: tuple[str, ...] | None
                 ) -> None:
        super().__init__()
        self.title_text, self.errands, self.chosen = title, errands, set(chosen or ())

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(self.title_text, classes="title")
            yield SelectionList(*[Selection(self.errands.name(code), code, code in self.chosen)
                                  for code in sorted(self.errands.by_code,
                                                     key=self.errands.name)])
            yield Line(_("Space ticks, Enter saves (none ticked: all errands), Escape "
                         "cancels."), classes="hint")
        yield KeyFooter()

    def on_key(self, event) -> None:
        if event.key == "enter":
            event.stop()
            self.dismiss(list(self.query_one(SelectionList).selected))


class FloorScreen(MainScreen):
    SCOPES = ("floor",)
    DEFAULT_CSS = """
    FloorScreen QueueTable { height: 1fr; }
    FloorScreen .heading { text-style: bold; padding: 0 1; background: $boost; }
    FloorScreen #consoles { color: $warning; padding: 0 1; }
    """
    #: seconds between two readings of the consoles' heartbeats (console/presence.py)
    CONSOLES_SECONDS = 2.0

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield OfflineBanner()
        yield Line(_("Counters"), classes="heading")
        yield CounterBoard(self.app.errands, self.app.now)
        yield Line("", id="consoles")
        yield Line(_("Queue"), classes="heading")
        yield QueueTable(self.app.errands, self.app.now)
        yield DayTimeline()
        yield KeyFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#consoles", Line).display = False
        self.set_interval(self.CONSOLES_SECONDS, self.read_consoles)
        self.read_consoles()

    @work(group="consoles", exclusive=True, exit_on_error=False)
    async def read_consoles(self) -> None:
        """Every counter's actions waiting for an answer and consoles not heard from
        (their heartbeats: console/presence.py), under the counters."""
        if self.app.client is None:
            return
        try:
            answer = await self.app.client.request(
                "GET", f"/sites/{self.app.config.server.site}/consoles", attempts=1)
        except errors.ApiError:
            return  # the status bar tells the floor's own connection
        names = {c.number: c.name for c in self.app.model.counters.values()}
        lines = floor_lines(answer, lambda n: names.get(n) or _("Counter {n}").format(n=n))
        line = self.query_one("#consoles", Line)
        line.update("\n".join(lines))
        line.display = bool(lines)

    def on_resize(self, event) -> None:
        """Under 32 rows the lists need the room: the timeline steps aside."""
        self.query_one(DayTimeline).display = event.size.height >= 32

    def place(self) -> tuple[str, str]:
        return _("Floor"), self.app.config.server.site

    def repaint(self, changed: set[int] | None) -> None:
        model = self.app.model
        at = {v.counter_id: v for v in model.visits.values()
              if v.state in ("called", "serving") and v.counter_id is not None}
        self.query_one(CounterBoard).sync(
            sorted(model.counters.values(), key=lambda c: c.number), at)
        self.query_one(QueueTable).sync(
            model.ordered(), lambda v: v.state in ("waiting", "called", "serving", "parked"),
            0, changed)
        self.query_one(DayTimeline).show(model, self.app.now(), self.size.width)

    # --- the highlighted rows -------------------------------------------------------------
    def waiting(self) -> Visit | None:
        vid = self.query_one(QueueTable).visit_id
        v = self.app.model.visits.get(vid) if vid is not None else None
        return v if v is not None and v.state == "waiting" else None

    def counter(self):
        cid = self.query_one(CounterBoard).counter_id
        return self.app.model.counters.get(cid) if cid is not None else None

    def _counters(self, *, open_only: bool) -> list[tuple[str, str]]:
        return [(str(c.number), f"{c.name} ({present.counter_state(c.state)})")
                for c in sorted(self.app.model.counters.values(), key=lambda c: c.number)
                if not open_only or c.state == "open"]

    # --- actions ------------------------------------------------------------------------------
    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_move(self) -> None:
        v = self.waiting()
        if v is None:
            return
        picked = await self.app.push_screen_wait(choose(
            _("Move {ticket} to").format(ticket=v.ticket),
            [("pool", _("The pool (any counter)"))] + self._counters(open_only=False)))
        if picked:
            await self.app.act_now("move", _("Move"), "POST", f"/visits/{v.id}/move",
                                   {"counter": None if picked == "pool" else int(picked)})

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_call_to(self) -> None:
        v = self.waiting()
        if v is None:
            return
        picked = await self.app.push_screen_wait(choose(
            _("Call {ticket} to").format(ticket=v.ticket), self._counters(open_only=True)))
        if picked:
            await self.app.act_now("call", _("Call to"), "POST", f"/visits/{v.id}/call",
                                   {"counter": int(picked)})

    def action_priority(self, step: int) -> None:
        v = self.waiting()
        if v is not None:
            self.app.act("priority", _("Priority"), "POST", f"/visits/{v.id}/priority",
                         {"priority": max(-9, min(9, v.priority + step))})

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_counter(self, what: str) -> None:
        c = self.counter()
        if c is None:
            return
        if what == "pause":
            waiting = sum(v.counter_id == c.id and v.state == "waiting"
                          for v in self.app.model.visits.values())
            sure = await self.app.push_screen_wait(confirm(
                _("Pause {counter}{staff}? No one is called to it until it is reopened; "
                  "{n} citizen(s) waiting for it stay in its queue.").format(
                    counter=c.name, n=waiting,
                    staff=f" ({c.staffed_by})" if c.staffed_by else "")))
            if not sure:
                return
        await self.app.act_now(what, _("Counter"), "POST",
                               f"/sites/{self.app.config.server.site}/counters/{c.number}/{what}")

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_close_counter(self) -> None:
        c = self.counter()
        if c is None:
            return
        site = self.app.config.server.site
        assigned = [v for v in self.app.model.visits.values()
                    if v.counter_id == c.id and v.state == "waiting"]
        if assigned:
            where = await self.app.push_screen_wait(choose(
                _("{counter} has {n} citizen(s) waiting for it: where do they go?").format(
                    counter=c.name, n=len(assigned)),
                [("pool", _("The pool (any counter)"))] + [
                    (n, label) for n, label in self._counters(open_only=True)
                    if n != str(c.number)]))
            if not where:
                return
            if where != "pool":
                for v in assigned:
                    await self.app.act_now("move", _("Move"), "POST", f"/visits/{v.id}/move",
                                           {"counter": int(where)})
        await self.app.act_now("close", _("Close"), "POST",
                               f"/sites/{site}/counters/{c.number}/close")

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_errands(self) -> None:
        c = self.counter()
        if c is None:
            return
        chosen = await self.app.push_screen_wait(localized(ErrandChoice)(
            _("Errands {counter} handles").format(counter=c.name), self.app.errands,
            c.errands))
        if chosen is not None:
            await self.app.act_now(
                "errands", _("Errands"), "PUT",
                f"/sites/{self.app.config.server.site}/counters/{c.number}/errands",
                {"errands": chosen or None})

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_planner(self) -> None:
        site = self.app.config.server.site
        now = await self.app.client.request("GET", f"/sites/{site}/planner")
        minutes = await self.app.push_screen_wait(prompt(
            _("A walk-in waiting longer than this many minutes is no longer passed over "
              "(0: no limit)"), value=str(now["passed_over_minutes"])))
        if minutes is None:
            return
        quantile = await self.app.push_screen_wait(prompt(
            _("Expected minutes of an errand: this quantile of today's finished visits "
              "(0 to 1; 0: the catalogue's minutes)"), value=str(now["duration_quantile"])))
        if quantile is None:
            return
        try:
            body = {"passed_over_minutes": int(minutes), "duration_quantile": float(quantile)}
        except ValueError:
            self.notify(_("Write numbers, please."), severity="error")
            return
        done = await self.app.act_now("planner", _("Planner"), "PUT",
                                      f"/sites/{site}/planner", body)
        if done:
            self.notify(_("Planner: {minutes} min, quantile {q}").format(
                minutes=done["passed_over_minutes"], q=done["duration_quantile"]))

    def action_audit(self) -> None:
        from .audit import AuditScreen

        self.app.push_screen(localized(AuditScreen)())

    def action_stats(self) -> None:
        from .stats import StatsScreen

        self.app.push_screen(localized(StatsScreen)())

    def action_precalls(self) -> None:
        from .precalls import PrecallScreen

        self.app.push_screen(localized(PrecallScreen)())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return bool(self.app.me and self.app.me.role == "supervisor")
