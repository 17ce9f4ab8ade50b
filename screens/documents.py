"""The documents checklist: tick each document present or missing, one by one.

Each mark is sent at once (through the counter screen, which keeps it in the outbox when
the backend cannot be reached); the list shows the status as word and symbol.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList
from textual.widgets.option_list import Option

from console import present
from console.i18n import _
from console.models import Visit

from .base import Line, localized
from .dialogs import Dialog


class Documents(Dialog[None]):
    SCOPES = ("documents", "dialog")

    def __init__(self, visit: Visit, on_mark: Callable[[str, str], None]) -> None:
        super().__init__()
        self.visit = visit
        self.on_mark = on_mark
        self.status = {d.code: d.status for d in visit.documents}

    def _prompt(self, doc) -> str:
        return f"{present.doc_status(self.status[doc.code]):<14} {present.doc_name(doc)}"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(_("Documents for {ticket}").format(ticket=self.visit.ticket),
                        classes="title")
            if not self.visit.documents:
                yield Line(_("This errand needs no documents."))
            yield OptionList(*[Option(self._prompt(d), id=d.code)
                               for d in self.visit.documents])
            yield Line(_("p present · m missing · u unknown · Escape closes"),
                        classes="hint")
        yield Footer()

    def action_mark(self, status: str) -> None:
        options = self.query_one(OptionList)
        option = options.highlighted_option
        if option is None or option.id is None:
            return
        self.status[option.id] = status
        doc = next(d for d in self.visit.documents if d.code == option.id)
        options.replace_option_prompt(option.id, self._prompt(doc))
        self.on_mark(option.id, status)
        if options.highlighted is not None and options.highlighted < options.option_count - 1:
            options.highlighted += 1


def documents(visit: Visit, on_mark: Callable[[str, str], None]) -> Documents:
    return localized(Documents)(visit, on_mark)
