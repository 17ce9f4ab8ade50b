"""Screens opened on top of a main screen (pre-calls, audit, statistics): a heading line,
Escape back, worker failures to the app's one handler. `TableScreen` adds one keyed-row
table with fixed-width COLUMNS."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker

from console.i18n import _
from widgets.key_footer import KeyFooter
from widgets.queue_table import heading

from .base import Line


class SubScreen(Screen):
    DEFAULT_CSS = """
    SubScreen .heading { text-style: bold; padding: 0 1; background: $boost; }
    SubScreen DataTable { height: 1fr; }
    """
    HEADING = ""

    def heading(self) -> Line:
        return Line(_(self.HEADING), classes="heading", id="title")

    def say(self, text: str) -> None:
        self.query_one("#title", Line).update(text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.on_worker_state_changed(event)  # StateChanged does not bubble

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return True


class TableScreen(SubScreen):
    COLUMNS: tuple[tuple[str, str, int], ...] = ()

    def compose(self) -> ComposeResult:
        yield self.heading()
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in self.COLUMNS:
            table.add_column(heading(_(label), width), key=key, width=width)
        self.start()

    def start(self) -> None:
        """What the screen does once its table is ready."""
