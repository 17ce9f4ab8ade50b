"""The citizen card: everything the caseworker needs about one visit, on one panel."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from console import commands, present
from console.i18n import _
from console.models import Visit

PRECALL = present.PRECALL_RESULTS


class CitizenCard(VerticalScroll):
    """Scrolls when the visit does not fit (80×24): the border says which key shows the
    rest (never a document or a hint cut off without a sign). Not focusable: the keys stay
    with the queue."""

    can_focus = False
    DEFAULT_CSS = """
    CitizenCard {
        padding: 0 1;
        border: round $primary; border-title-color: $text;
        border-subtitle-color: $text; border-subtitle-style: bold;
    }
    CitizenCard > Static { width: 1fr; height: auto; }
    """

    def __init__(self, errands: present.Errands, **kw) -> None:
        super().__init__(**kw)
        self.errands = errands
        self.border_title = _("Citizen")
        self.shown: Group | Text = Text("")
        self._showing: tuple | None = None  # (visit, revealed) on the card

    def compose(self) -> ComposeResult:
        yield Static(self.shown)

    def update(self, shown) -> None:
        self.query_one(Static).update(shown)
        self.scroll_home(animate=False)
        self.call_after_refresh(self.mark_more)

    def on_resize(self) -> None:
        self.call_after_refresh(self.mark_more)

    def mark_more(self) -> None:
        """The border's subtitle names the key that shows what is below, while there is."""
        more = self.scroll_y < self.max_scroll_y
        keys = getattr(self.app, "keys", {}) or {}
        key = commands.key_label(keys.get("card_down", commands.BY_ID["card_down"].key))
        self.border_subtitle = _("{key} shows more").format(key=key) if more else ""

    def scroll_card(self, rows: int) -> None:
        self.scroll_to(y=self.scroll_y + rows, animate=False)
        self.call_after_refresh(self.mark_more)

    def show(self, v: Visit | None, *, revealed: str | None = None,
             now: datetime | None = None) -> None:
        """Show a visit; nothing happens when it is the one shown, unchanged (an update
        lays out and renders the whole card again, and most changes are to other rows)."""
        if self._showing == (v, revealed):
            return
        self._showing = (v, revealed)
        self.shown = self.render_visit(v, revealed) if v else \
            Text(_("No citizen selected. Press n to call the next one."), style="italic")
        self.update(self.shown)

    def render_visit(self, v: Visit, revealed: str | None) -> Group:
        head = Text.assemble((f"{v.ticket}  ", "bold"), (self.errands.name(v.errand), "bold"),
                             f" · {v.expected_minutes} min   ", present.state(v))
        if v.counter:
            head.append(f" · {present.counter(v)}")
        if v.priority:
            head.append(f" · {'↑' if v.priority > 0 else '↓'} {present.priority(v)}",
                        style="bold")
        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="dim", no_wrap=True)
        facts.add_column()
        facts.add_row(_("Citizen"), present.citizen(v, revealed))
        if v.citizen and v.citizen.phone:
            facts.add_row(_("Phone"), v.citizen.phone)
        facts.add_row(_("Booked"), _("{time} ({n} min), ref. {ref}").format(
            time=present.hhmm(v.slot_start), n=v.expected_minutes, ref=v.booking_ref or "—")
            if v.slot_start else _("walk-in"))
        facts.add_row(_("Arrived"), present.arrival(v))
        if v.prepared_notes:
            facts.add_row(_("Prepared"), v.prepared_notes)
        if v.citizen_note:
            facts.add_row(_("Citizen's note"), v.citizen_note)
        if v.precall:
            result = v.precall.get("result", "")
            facts.add_row(_("Pre-call"), " · ".join(filter(None, [
                precall_day(v.precall.get("at")), v.precall.get("by"),
                _(PRECALL.get(result, result)), v.precall.get("note")])))
        hint = self.errands.hint(v.errand)
        if hint:
            facts.add_row(_("Hint"), hint)
        if v.outcome:
            facts.add_row(_("Outcome"), _(present.OUTCOMES.get(v.outcome, v.outcome)))
        side: list = []
        if v.documents:
            docs = Table.grid(padding=(0, 1))
            docs.add_column(no_wrap=True)
            docs.add_column(no_wrap=True)
            docs.add_column()
            codes = {d.code for d in v.documents}
            for i, d in enumerate(v.documents, start=1):
                style = {"missing": "bold", "present": "", "unknown": "italic"}[d.status] \
                    if d.status in ("missing", "present", "unknown") else ""
                name = Text(present.doc_name(d))
                condition = self.errands.condition(v.errand, d.code, codes)
                if condition:
                    name.append(f" ({condition})", style="dim")
                docs.add_row(str(i), Text(present.doc_status(d.status), style=style), name)
            side += [Text(_("Documents to bring"), style="bold underline"), docs]
        if v.notes:
            notes = Table.grid(padding=(0, 1))
            notes.add_column(style="dim", no_wrap=True)
            notes.add_column()
            for n in v.notes:
                notes.add_row(f"{present.hhmm(n.at)} {n.author}", n.text)
            side += [Text(_("Notes"), style="bold underline"), notes]
        body = Table.grid(padding=(0, 2), expand=True)
        body.add_column(ratio=1)
        body.add_column(ratio=1)
        body.add_row(facts, Group(*side))
        return Group(head, body)


def precall_day(at) -> str:
    """The pre-call's day in the console's language ('5. dec. 2026')."""
    if not at:
        return ""
    try:
        return present.long_date(datetime.fromisoformat(str(at)).date())
    except ValueError:
        return str(at)[:10]
