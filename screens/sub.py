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
    """COLUMNS are the widths at 120 columns. On a narrower terminal the OPTIONAL columns
    are left out, in that order, and the FLEX ones shrink (to MIN_FLEX), so that the table
    fits: never a sideways scroll (80×24). Rows are added with `add_row`, by column key."""

    COLUMNS: tuple[tuple[str, str, int], ...] = ()
    FLEX: tuple[str, ...] = ()
    OPTIONAL: tuple[str, ...] = ()
    MIN_FLEX = 10

    def compose(self) -> ComposeResult:
        yield self.heading()
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self.columns_shown = fit(self.COLUMNS, self.app.size.width, self.FLEX, self.OPTIONAL,
                         self.MIN_FLEX, 2 * table.cell_padding)
        for key, label, width in self.columns_shown:
            table.add_column(heading(_(label), width), key=key, width=width)
        self.start()

    def add_row(self, cells: dict, key: str) -> None:
        """A row from its cells by column key (the columns left out are skipped)."""
        self.query_one(DataTable).add_row(*(cells[k] for k, _l, _w in self.columns_shown), key=key)


def fit(columns, width: int, flex, optional, min_flex: int, pad: int
        ) -> tuple[tuple[str, str, int], ...]:
    """The columns and widths for a table `width` cells wide (2 kept for the scrollbar)."""
    def need(cols) -> int:
        return sum(w + pad for _k, _l, w in cols) + 2

    def shrinkable(cols) -> int:
        return sum(max(0, w - min_flex) for k, _l, w in cols if k in flex)

    cols = list(columns)
    for key in optional:
        if need(cols) - shrinkable(cols) <= width:
            break
        cols = [c for c in cols if c[0] != key]
    over = need(cols) - width
    while over > 0 and shrinkable(cols):
        widest = max((c for c in cols if c[0] in flex), key=lambda c: c[2])
        cols = [(k, label, w - 1) if (k, label, w) == widest else (k, label, w)
                for k, label, w in cols]
        over -= 1
    return tuple(cols)

    def start(self) -> None:
        """What the screen does once its table is ready."""
