"""Small modal dialogs: confirm, a line of text, a choice from a list (digits pick).

Every dialog fits the terminal, 80×24 included: its list (or scrolling part) gets the rows
the title, texts and hint leave, and scrolls; the hint and the footer stay on screen.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, SelectionList
from textual.widgets.option_list import Option

from console.i18n import _
from widgets.key_footer import KeyFooter

from .base import Line, localized

V = TypeVar("V")

DIALOG_CSS = """
Dialog { align: center middle; }
Dialog > Vertical {
    width: 80; max-width: 95%; height: auto; max-height: 100%;
    border: thick $primary; background: $surface; padding: 0 1;
}
Dialog .title { text-style: bold; margin-bottom: 1; width: 100%; }
Dialog .hint { color: $text-muted; margin-top: 1; width: 100%; }
Dialog OptionList { height: auto; max-height: 20; }
"""


class Dialog(ModalScreen[V], Generic[V]):
    DEFAULT_CSS = DIALOG_CSS
    SCOPES = ("dialog",)
    #: the most rows the list takes when there is room
    LIST_ROWS = 20

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Give the list the rows the rest of the dialog leaves: it scrolls, and the texts
        and the hint below it stay on screen."""
        boxes = self.query("Dialog > Vertical")
        if not boxes:
            return
        box = boxes.first()
        flexible = [w for w in box.children
                    if isinstance(w, (OptionList, SelectionList, VerticalScroll))]
        if not flexible:
            return
        part = flexible[0]
        footer = self.query(KeyFooter)
        below = footer.first().outer_size.height if footer else 0
        others = box.virtual_size.height - part.outer_size.height
        room = self.size.height - below - box.gutter.height - others
        rows = max(3, min(self.LIST_ROWS, room))
        if part.styles.max_height is None or part.styles.max_height.value != rows:
            part.styles.max_height = rows

    def action_close(self) -> None:
        self.dismiss(None)


class Confirm(Dialog[bool]):
    """y / j (ja) or 1 confirms, n or 2 or Escape declines (digits pick, as in every list)."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(self.question, classes="title")
            yield OptionList(Option("1  " + _("Yes"), id="yes"), Option("2  " + _("No"), id="no"))
            yield Line(_("Enter chooses, or the digit (or j / n); Escape cancels."),
                       classes="hint")
        yield KeyFooter()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id == "yes")

    def on_key(self, event) -> None:
        if event.character in ("y", "j", "1"):
            event.stop()
            self.dismiss(True)
        elif event.character in ("n", "2"):
            event.stop()
            self.dismiss(False)

    def action_close(self) -> None:
        self.dismiss(False)


class Prompt(Dialog[str | None]):
    """One line of text; Enter accepts (not empty when `required`), Escape cancels."""

    def __init__(self, title: str, *, placeholder: str = "", value: str = "",
                 required: bool = True, hint: str = "") -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value = title, placeholder, value
        self.required, self.hint = required, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(self.title_text, classes="title")
            if self.hint:
                yield Line(self.hint)
            field = Input(value=self.value, placeholder=self.placeholder)
            field.cursor_blink = False
            yield field
            yield Line(_("Enter accepts, Escape cancels."), classes="hint")
        yield KeyFooter()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.notify(_("Please write something first."), severity="warning")
            return
        self.dismiss(text)


class Choose(Dialog[str | None]):
    """Pick one of `choices` (id, label); digits 1–9 pick directly."""

    def __init__(self, title: str, choices: list[tuple[str, str]], *,
                 text: str = "") -> None:
        super().__init__()
        self.title_text, self.choices, self.text = title, choices, text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(self.title_text, classes="title")
            if self.text:
                yield Line(self.text)
            options = [Option(f"{i}  {label}" if i <= 9 else f"   {label}", id=value)
                       for i, (value, label) in enumerate(self.choices, start=1)]
            yield OptionList(*options)
            yield Line(_("Arrows and Enter, or the digit; Escape cancels."), classes="hint")
        yield KeyFooter()

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self.choices):
                event.stop()
                self.dismiss(self.choices[index][0])

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def confirm(question: str) -> Confirm:
    return localized(Confirm)(question)


def prompt(title: str, **kw) -> Prompt:
    return localized(Prompt)(title, **kw)


def choose(title: str, choices: list[tuple[str, str]], **kw) -> Choose:
    return localized(Choose)(title, choices, **kw)
