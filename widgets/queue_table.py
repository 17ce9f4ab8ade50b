"""Today's queue: one keyed row per visit, in the backend's order.

Rows are diffed, never cleared and rebuilt: a change updates the cells that differ,
adds and removes only the rows that enter or leave the filter, and re-sorts only when the
backend's order changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from console import present
from console.i18n import N_, _
from console.models import Visit

#: key, heading, width: fixed widths, so rows never jump; 118 columns in all (fits 120).
COLUMNS = (
    ("ticket", N_("Ticket"), 6), ("time", N_("Time"), 8), ("citizen", N_("Citizen"), 27),
    ("errand", N_("Errand"), 22), ("state", N_("Status"), 12), ("waited", N_("Waited"), 6),
    ("docs", N_("Documents"), 12), ("counter", N_("Counter"), 9),
)


class VisitTable(DataTable):
    """A keyed row per visit; subclasses name their COLUMNS and say how a visit reads."""

    COLUMNS: tuple[tuple[str, str, int], ...] = ()
    DEFAULT_CSS = """
    VisitTable { height: 1fr; }
    """

    def __init__(self, errands: present.Errands, now: Callable[[], datetime],
                 **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.errands = errands
        self.now = now
        self._shown: dict[int, tuple] = {}  # visit id -> the cells on screen

    def on_mount(self) -> None:
        for key, label, width in self.COLUMNS:
            self.add_column(_(label), key=key, width=width)

    def cells(self, v: Visit, mine: int) -> tuple:
        raise NotImplementedError

    @property
    def visit_id(self) -> int | None:
        """The visit under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key
        return int(key.value) if key.value is not None else None

    def sync(self, ordered: Iterable[Visit], show: Callable[[Visit], bool], mine: int,
             changed: set[int] | None = None, reorder: bool = True) -> None:
        """Bring the rows in line with `ordered` (filtered by `show`); `changed` names the
        visits whose cells may differ (None: check all); `reorder` False when the backend's
        order cannot have changed (rows that enter still go to their place)."""
        wanted = [v for v in ordered if show(v)]
        wanted_ids = {v.id for v in wanted}
        under_cursor = self.visit_id
        gone = [vid for vid in self._shown if vid not in wanted_ids]
        with self.app.batch_update():
            if len(gone) > 20:  # a new view, not a change: DataTable removes rows in O(n)
                self.clear()
                self._shown.clear()
                gone = []
            for vid in gone:
                self.remove_row(str(vid))
                del self._shown[vid]
            added = False
            for v in wanted:
                if v.id not in self._shown:
                    added = True
                    cells = self.cells(v, mine)
                    self.add_row(*cells, key=str(v.id))
                    self._shown[v.id] = cells
                elif changed is None or v.id in changed:
                    cells = self.cells(v, mine)
                    old = self._shown[v.id]
                    for (col, _label, _w), new, was in zip(self.COLUMNS, cells, old,
                                                           strict=True):
                        if new != was:
                            self.update_cell(str(v.id), col, new)
                    self._shown[v.id] = cells
            order = [str(v.id) for v in wanted]
            if (reorder or added) and [row.key.value for row in self.ordered_rows] != order:
                position = {v.ticket: i for i, v in enumerate(wanted)}
                self.sort("ticket", key=lambda ticket: position.get(ticket, 0))
            if under_cursor in self._shown:  # the cursor stays on its citizen
                row = self.get_row_index(str(under_cursor))
                if row != self.cursor_row:
                    self.move_cursor(row=row, animate=False)


class QueueTable(VisitTable):
    """The counter screen's queue."""

    COLUMNS = COLUMNS

    def cells(self, v: Visit, mine: int) -> tuple:
        waited = present.minutes_waited(v, self.now())
        state = Text(present.state(v), style="bold" if present.is_mine(v, mine) else "")
        # Text cells, not str: DataTable would parse every str as console markup
        return (v.ticket, Text(present.booked_time(v)), Text(present.citizen_short(v)),
                Text(self.errands.name(v.errand)), state,
                Text("" if waited is None else f"{waited} min"),
                Text(present.documents_summary(v)), Text(present.counter(v)))
