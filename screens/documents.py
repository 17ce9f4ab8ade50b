"""The documents checklist: tick each document present or missing, one by one.

Each mark is sent at once (through the counter screen, which keeps it in the outbox when
the backend cannot be reached); the list shows the status as word and symbol.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from console import present
from console.i18n import _
from console.models import Visit
from widgets.key_footer import KeyFooter

from .base import Line, localized
from .dialogs import Dialog


class Checklist(Dialog):
    """Documents one per line, status by symbol and word; p/m/u mark the highlighted one
    and move on. Subclasses set `docs` (code -> the document, a model or a catalogue dict)
    and say in `marked` what a mark does."""

    SCOPES = ("documents", "dialog")

    def __init__(self, docs: dict, status: dict[str, str],
                 conditions: dict[str, str] | None = None) -> None:
        super().__init__()
        self.docs, self.status = docs, status
        #: code -> 'only if yes to: …' for a document whose question was not answered
        self.conditions = conditions or {}

    def _prompt(self, code: str) -> str:
        condition = self.conditions.get(code)
        return (f"{present.doc_status(self.status[code]):<14} {present.doc_name(self.docs[code])}"
                + (f" ({condition})" if condition else ""))

    def options(self) -> OptionList:
        return OptionList(*[Option(self._prompt(code), id=code) for code in self.docs])

    def marked(self, code: str, status: str) -> None:
        """Called after each mark."""

    def action_mark(self, status: str) -> None:
        options = self.query_one(OptionList)
        option = options.highlighted_option
        if option is None or option.id is None:
            return
        self.status[option.id] = status
        options.replace_option_prompt(option.id, self._prompt(option.id))
        self.marked(option.id, status)
        if options.highlighted is not None and options.highlighted < options.option_count - 1:
            options.highlighted += 1


class Documents(Checklist):
    """A visit's checklist at the counter: each mark is sent at once."""

    def __init__(self, visit: Visit, on_mark: Callable[[str, str], None],
                 conditions: dict[str, str] | None = None) -> None:
        super().__init__({d.code: d for d in visit.documents},
                         {d.code: d.status for d in visit.documents}, conditions)
        self.visit, self.on_mark = visit, on_mark

    def marked(self, code: str, status: str) -> None:
        self.on_mark(code, status)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(_("Documents for {ticket}").format(ticket=self.visit.ticket),
                       classes="title")
            if not self.visit.documents:
                yield Line(_("This errand needs no documents."))
            yield self.options()
            yield Line(_("p present · m missing · u unknown · Escape closes"),
                       classes="hint")
        yield KeyFooter()


def documents(visit: Visit, on_mark: Callable[[str, str], None],
              conditions: dict[str, str] | None = None) -> Documents:
    return localized(Documents)(visit, on_mark, conditions)
