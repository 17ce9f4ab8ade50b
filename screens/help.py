"""`?`: every key of the screen it was opened on, from the command registry."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from console import commands
from console.i18n import _
from widgets.key_footer import KeyFooter

from .base import Line, localized
from .dialogs import Dialog


class Help(Dialog[None]):
    DEFAULT_CSS = """
    Help > Vertical { width: 100; }
    Help VerticalScroll { height: auto; max-height: 30; }
    """
    LIST_ROWS = 30

    def __init__(self, scopes: tuple[str, ...], keys: dict[str, str], role: str) -> None:
        super().__init__()
        self.scopes, self.keys, self.role = scopes, keys, role

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column()
        for scope in (*self.scopes, "app"):
            for c in commands.for_scope(scope, self.role):
                table.add_row(commands.key_label(self.keys[c.id]), _(c.label), _(c.help))
        with Vertical():
            yield Line(_("Keys"), classes="title")
            with VerticalScroll():
                yield Static(table)
            yield Line(_("Keys can be changed in [keymap] of config.toml. "
                          "Ctrl+P searches all commands. Escape closes."), classes="hint")
        yield KeyFooter()


def help_screen(scopes: tuple[str, ...], keys: dict[str, str], role: str) -> Help:
    return localized(Help)(scopes, keys, role)
