"""Reception's pickers: an errand by typing part of its name, and which documents a
citizen has with them."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from console import present
from console.i18n import _
from widgets.key_footer import KeyFooter

from .base import Line, localized
from .dialogs import Dialog
from .documents import Checklist


class ErrandPicker(Dialog[str | None]):
    """Type to narrow the list; arrows and Enter choose; Escape cancels."""

    def __init__(self, errands: present.Errands) -> None:
        super().__init__()
        self.errands = errands

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(_("Which errand?"), classes="title")
            field = Input(placeholder=_("Type part of the name, e.g. pas"))
            field.cursor_blink = False
            yield field
            yield OptionList(*self._options(""))
            yield Line(_("Type to search; arrows and Enter choose; Escape cancels."),
                       classes="hint")
        yield KeyFooter()

    def _options(self, text: str) -> list[Option]:
        text = text.strip().lower()
        names = sorted((self.errands.name(code), code) for code in self.errands.by_code)
        found = [(name, code) for name, code in names
                 if not text or text in name.lower() or text in code]
        # names that begin with the text first: "pas" and Enter is a passport, not the
        # lost passport that sorts before it
        found.sort(key=lambda nc: not nc[0].lower().startswith(text))
        return [Option(name, id=code) for name, code in found]

    @on(Input.Changed)
    def _narrow(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.set_options(self._options(event.value))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted)
    def _take_first(self, _event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_key(self, event) -> None:
        if event.key in ("down", "up") and isinstance(self.focused, Input):
            options = self.query_one(OptionList)
            options.focus()
            event.stop()
            options.action_cursor_down() if event.key == "down" else options.action_cursor_up()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class DocumentCheck(Checklist):
    """Ask, one by one, which of the errand's documents the citizen has: p has it, m does
    not; Enter when done. Every document starts unknown."""

    def __init__(self, errand_name: str, documents: list[dict]) -> None:
        super().__init__({d["code"]: d for d in documents},
                         {d["code"]: "unknown" for d in documents})
        self.errand_name = errand_name

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(_("Documents for {errand}: which has the citizen brought?").format(
                errand=self.errand_name), classes="title")
            yield self.options()
            yield Line(_("p has it · m missing · Enter done · Escape cancels"),
                       classes="hint")
        yield KeyFooter()

    @on(OptionList.OptionSelected)
    def _done(self, _event: OptionList.OptionSelected) -> None:
        self.dismiss(dict(self.status))


def errand_picker(errands: present.Errands) -> ErrandPicker:
    return localized(ErrandPicker)(errands)


def document_check(errand_name: str, documents: list[dict]) -> DocumentCheck:
    return localized(DocumentCheck)(errand_name, documents)
