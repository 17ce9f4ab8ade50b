"""The counter screen: the queue, the citizen card and every caseworker action, one key each.

The backend decides; this screen shows, asks and reports. Every action runs in a worker
(`SkrankeApp.act`), its answer goes into the live day model, and the rows it touched are
repainted. A refusal (already called elsewhere, a stale edit) is told plainly and the
visit is fetched again so the screen shows the backend's state.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from textual import on, work
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from console import commands, present
from console.i18n import _
from console.live import Change
from console.models import Counter, Visit
from widgets.citizen_card import CitizenCard
from widgets.key_footer import KeyFooter
from widgets.queue_table import QueueTable
from widgets.status_bar import OfflineBanner, StatusBar
from widgets.timeline import DayTimeline

from . import finish, transfer
from .base import Line
from .dialogs import confirm, prompt
from .documents import documents
from .main import MainScreen

CALLED = {"recall", "start", "no_show", "requeue"}
SERVING = {"park", "finish"}
ON_VISIT = {"documents", "note", "reveal_cpr"}
#: how long the console offers to undo a no-show or a finish (the backend allows 5 minutes
#: for a finish)
UNDO_WITHIN = timedelta(minutes=5)


class CounterScreen(MainScreen):
    SCOPES = ("counter",)
    DEFAULT_CSS = """
    CounterScreen QueueTable { height: 1fr; }
    CounterScreen CitizenCard { height: 45%; min-height: 12; }
    CounterScreen DayTimeline { display: none; }
    CounterScreen .heading { padding: 0 1; background: $boost; height: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filter = "waiting"
        self.revealed: dict[int, str] = {}
        self._mine: Visit | None = None
        self._parked: list[Visit] = []
        self._top: tuple[int, ...] = ()
        self._counter: Counter | None = None
        self._allowed: tuple = ()
        self._card_timer: Timer | None = None
        #: the last no-show or finish here: (kind, visit id, ticket, when)
        self.undoable: tuple[str, int, str, datetime] | None = None

    # --- layout and painting -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield OfflineBanner()
        yield Line(id="view", classes="heading")
        yield QueueTable(self.app.errands, self.app.now)
        yield CitizenCard(self.app.errands)
        yield DayTimeline()
        yield KeyFooter()

    @property
    def number(self) -> int:
        return self.app.config.server.counter

    @property
    def counter(self) -> Counter | None:
        """This counter as the model has it (kept by repaint)."""
        return self._counter

    @property
    def mine(self) -> Visit | None:
        """The citizen called to or being served at this counter (kept by repaint)."""
        return self._mine

    def _recount(self) -> None:
        model, number = self.app.model, self.number
        self._counter = next((c for c in model.counters.values() if c.number == number), None)
        self._mine = None
        self._parked = []
        for v in model.visits.values():
            if v.counter == number:
                if v.state in ("called", "serving"):
                    self._mine = v
                elif v.state == "parked":
                    self._parked.append(v)

    @property
    def card_visit(self) -> Visit | None:
        mine = self.mine
        if mine is not None:
            return mine
        vid = self.query_one(QueueTable).visit_id
        return self.app.model.visits.get(vid) if vid is not None else None

    def apply(self, change: Change) -> None:
        if change.reloaded:
            self.repaint(None)
        else:
            self.repaint(change.visits, reorder=change.order or bool(change.unknown))

    def repaint(self, changed: set[int] | None, reorder: bool = True) -> None:
        self._recount()
        table = self.query_one(QueueTable)
        # this counter's own citizens on top, then the queue in the backend's order
        ours = ([self._mine] if self._mine else []) + self._parked
        top = tuple(v.id for v in ours)
        ordered = self.app.model.ordered()
        if self.filter == "done":  # the latest finished first
            ordered = sorted(ordered, key=lambda v: v.finished_at or v.called_at or v.slot_start
                             or self.app.now(), reverse=True)
        if top:
            ordered = ours + [v for v in ordered if v.id not in top]
        view, number = self.filter, self.number
        table.sync(ordered, lambda v: present.in_filter(v, view, number), number, changed,
                   reorder=reorder or changed is None or top != self._top)
        self._top = top
        self.query_one("#view", Line).update(present.view_marker(self.filter))
        self.paint_card()
        self.paint_timeline()
        counter = self.counter
        bar = self.query_one(StatusBar)
        bar.counter = counter.name if counter else _("Counter {n}").format(n=self.number)
        bar.counter_state = {"open": _("open"), "paused": _("paused: o opens"),
                             "closed": _("closed: o opens")}.get(counter.state, counter.state) \
            if counter else "?"
        self.refresh_allowed()

    def mark_unknown(self, visits: set[int]) -> None:
        table = self.query_one(QueueTable)
        if visits != table.unknown:
            changed = visits ^ table.unknown
            table.unknown = set(visits)
            self.repaint(changed, reorder=False)

    def refresh_allowed(self) -> None:
        """Refresh the footer only when what is possible changed (it is recomposed)."""
        allowed = tuple(self.check_action(c.action.partition("(")[0], ()) for c in
                        commands.for_scope("counter"))
        if allowed != self._allowed:
            self._allowed = allowed
            self.refresh_bindings()

    def paint_card(self) -> None:
        v = self.card_visit
        self.query_one(CitizenCard).show(v, revealed=self.revealed.get(v.id) if v else None)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        """The card follows the cursor once it rests (arrow keys held do not repaint it
        on every row)."""
        if self.mine is None:
            if self._card_timer is not None:
                self._card_timer.stop()
            self._card_timer = self.set_timer(0.08, self._follow_cursor)

    def _follow_cursor(self) -> None:
        self._card_timer = None
        if self.mine is None:
            self.paint_card()
            self.refresh_allowed()

    # --- which actions make sense now --------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        role = self.app.me.role if self.app.me else ""
        if action in ("cycle_filter", "filter", "outbox", "timeline", "card"):
            return True
        if action == "undo":
            u = self.undoable
            return u is not None and self.app.now() - u[3] <= UNDO_WITHIN and (
                u[0] == "no_show" or self.mine is None) and role in ("caseworker",
                                                                      "supervisor")
        if role not in ("caseworker", "supervisor"):
            return False
        counter, mine = self.counter, self.mine
        state = counter.state if counter else "closed"
        if action == "call_next":
            return state == "open" and mine is None
        if action in CALLED:
            return mine is not None and mine.state == "called"
        if action in SERVING:
            return mine is not None and mine.state == "serving"
        if action == "transfer":
            return mine is not None and mine.state in ("serving", "parked")
        if action == "resume":
            return self.parked() is not None
        if action in ON_VISIT:
            v = self.card_visit
            return v is not None and (action != "documents" or bool(v.documents))
        if action == "open_counter":
            return state in ("closed", "paused")
        if action == "pause_counter":
            return state == "open"
        if action == "close_counter":
            return state in ("open", "paused") and mine is None
        return True

    def parked(self) -> Visit | None:
        """The parked citizen under the cursor, else this counter's first parked one."""
        table_vid = self.query_one(QueueTable).visit_id
        return next((v for v in self._parked if v.id == table_vid),
                    self._parked[0] if self._parked else None)

    # --- actions -------------------------------------------------------------------------------
    def action_timeline(self) -> None:
        """Swap the card and the timeline (display on the two, not a class on the screen:
        that would restyle everything below it)."""
        timeline = self.query_one(DayTimeline)
        timeline.display = not timeline.display
        self.query_one(CitizenCard).display = not timeline.display
        self.paint_timeline()

    def action_card(self, rows: int) -> None:
        self.query_one(CitizenCard).scroll_card(rows)

    def paint_timeline(self) -> None:
        if self.query_one(DayTimeline).display:
            self.query_one(DayTimeline).show(self.app.model, self.app.now(), self.size.width)

    def action_cycle_filter(self) -> None:
        names = list(present.FILTERS)
        self.action_filter(names[(names.index(self.filter) + 1) % len(names)])

    def action_filter(self, name: str) -> None:
        self.filter = name
        self.repaint(None)

    def _site(self, tail: str) -> str:
        return f"/sites/{self.app.config.server.site}/counters/{self.number}/{tail}"

    def action_open_counter(self) -> None:
        self.app.act("open", _("Open counter"), "POST", self._site("open"))

    def action_pause_counter(self) -> None:
        self.app.act("pause", _("Pause counter"), "POST", self._site("pause"))

    def action_close_counter(self) -> None:
        self.app.act("close", _("Close counter"), "POST", self._site("close"))

    @work(group="action", exit_on_error=False)
    async def action_call_next(self) -> None:
        # while a call next waits for its answer, `n` shows that one (act_now), it never
        # starts a second call
        answer = await self.app.act_now("call_next", _("Call next"), "POST",
                                        self._site("call-next"))
        if answer is None:
            return
        visit = answer.get("visit")
        if visit:
            self.notify(_("{ticket} called to {counter}").format(
                ticket=visit["ticket"], counter=visit.get("counter_name") or self.number))
            self.focus_visit(visit["id"])
        elif answer.get("held"):
            self.notify(present.held(answer, self.app.model.visits.get(answer["held"]["id"]),
                                     self.app.now(), present.closing(self.app.model.opening)),
                        timeout=15)
        elif answer.get("next_booking_at"):
            at = datetime.fromisoformat(answer["next_booking_at"])
            self.notify(_("No one is due. Next booking: {when}").format(
                when=present.until(at, self.app.now())), timeout=8)
        else:
            self.notify(_("No one is waiting for this counter."), timeout=8)

    def focus_visit(self, visit_id: int) -> None:
        table = self.query_one(QueueTable)
        v = self.app.model.visits.get(visit_id)
        if v is not None and not present.in_filter(v, self.filter, self.number):
            self.action_filter("mine")
        with contextlib.suppress(RowDoesNotExist):  # filtered out: nothing to move to
            table.move_cursor(row=table.get_row_index(str(visit_id)))

    def visit_action(self, kind: str, label: str, tail: str, visit: Visit | None = None,
                      body: dict | None = None) -> None:
        v = visit or self.mine
        if v is None:
            return
        self.app.act(kind, label, "POST", f"/visits/{v.id}/{tail}", body)

    def action_recall(self) -> None:
        self.visit_action("recall", _("Recall"), "recall")

    def action_start(self) -> None:
        self.visit_action("start", _("Arrived"), "start")

    @work(group="action", exit_on_error=False)
    async def action_no_show(self) -> None:
        v = self.mine
        if v is None or v.state != "called":
            return
        answer = await self.app.act_now("no_show", _("No-show"), "POST",
                                        f"/visits/{v.id}/no-show")
        if answer and not answer.get("queued"):
            self.remember_undo("no_show", v)

    def remember_undo(self, kind: str, v: Visit) -> None:
        """A no-show or finish done here: z undoes it for a few minutes."""
        self.undoable = (kind, v.id, v.ticket, self.app.now())
        what = _("no-show") if kind == "no_show" else _("finished")
        self.notify(_("{ticket}: {what}. Press z within {n} minutes to undo.").format(
            ticket=v.ticket, what=what, n=int(UNDO_WITHIN.total_seconds() // 60)), timeout=10)
        self.refresh_allowed()

    @work(group="action", exit_on_error=False)
    async def action_undo(self) -> None:
        if not self.check_action("undo", ()):
            return
        kind, vid, ticket, _at = self.undoable
        tail = "undo-no-show" if kind == "no_show" else "undo-finish"
        answer = await self.app.act_now("undo", _("Undo"), "POST", f"/visits/{vid}/{tail}")
        if answer is not None and not answer.get("queued"):
            self.undoable = None
            booking = answer.get("rebooking")
            if booking and booking.get("state") == "cancelled":
                self.notify(_("{ticket}: undone; the new time it booked ({when}, ref. {ref}) "
                              "is cancelled.").format(
                    ticket=ticket, ref=booking.get("booking_ref") or "—",
                    when=present.day_time(datetime.fromisoformat(booking["slot_start"]))),
                    timeout=12)
            else:
                self.notify(_("{ticket}: undone.").format(ticket=ticket))
            self.repaint(None)

    def action_requeue(self) -> None:
        self.visit_action("requeue", _("Requeue"), "requeue")

    def action_park(self) -> None:
        self.visit_action("park", _("Park"), "park")

    def action_resume(self) -> None:
        self.visit_action("resume", _("Resume"), "resume", self.parked())

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_transfer(self) -> None:
        v = self.mine
        if v is not None:
            await transfer.run(self, v)

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_finish(self) -> None:
        v = self.mine
        if v is not None and v.state == "serving":
            await finish.run(self, v)

    def action_documents(self) -> None:
        v = self.card_visit
        if v is None:
            return

        def mark(code: str, status: str) -> None:
            self.app.act("document", _("Document"), "PUT", f"/visits/{v.id}/documents/{code}",
                         {"status": status})

        codes = {d.code for d in v.documents}
        self.app.push_screen(documents(v, mark, {
            d.code: self.app.errands.condition(v.errand, d.code, codes) for d in v.documents}))

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_note(self) -> None:
        v = self.card_visit
        if v is None:
            return
        text = await self.app.push_screen_wait(prompt(
            _("Note on {ticket}").format(ticket=v.ticket),
            hint=_("Notes are kept with the visit; no CPR numbers, please.")))
        if text:
            self.visit_action("note", _("Note"), "notes", v, {"text": text})

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_reveal_cpr(self) -> None:
        v = self.card_visit
        if v is None:
            return
        if v.id in self.revealed:
            del self.revealed[v.id]
            self.paint_card()
            return
        sure = await self.app.push_screen_wait(confirm(
            _("Show the full CPR number of {ticket}? This is recorded in the audit log.")
            .format(ticket=v.ticket)))
        if not sure:
            return
        answer = await self.app.act_now("reveal_cpr", _("Show CPR"), "POST",
                                        f"/visits/{v.id}/cpr")
        if answer and answer.get("cpr"):
            self.revealed[v.id] = answer["cpr"]
            self.paint_card()
        elif answer is not None:
            self.notify(_("No CPR number is recorded for this citizen."))

    def action_outbox(self) -> None:
        self.app.show_outbox()
