"""Today's queue: one keyed row per visit, in the backend's order.

Rows are diffed, never cleared and rebuilt: a change updates the cells that differ,
adds and removes only the rows that enter or leave the filter, and moves only the rows
whose place in the backend's order changed (RowTable, which also redraws only the rows
that changed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.text import Text
from textual.widgets.data_table import RowKey

from console import present
from console.i18n import N_, _
from console.models import Visit

from .row_table import RowTable

#: key, heading, width: fixed widths, so rows never jump; 118 columns in all (fits 120).
COLUMNS = (
    ("ticket", N_("Ticket"), 6), ("time", N_("Time"), 8), ("citizen", N_("Citizen"), 27),
    ("errand", N_("Errand"), 22), ("state", N_("Status"), 12), ("waited", N_("Waited"), 6),
    ("docs", N_("Documents"), 12), ("counter", N_("Counter"), 9),
)


class VisitTable(RowTable):
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
        self._keys: dict[int, RowKey] = {}  # visit id -> its row
        self._made: dict[int, tuple[Visit, tuple, tuple]] = {}  # id -> (visit, marks, cells)
        #: visits with an action sent and not yet answered: their state cell says so
        self.unknown: set[int] = set()

    def on_mount(self) -> None:
        for key, label, width in self.COLUMNS:
            self.add_column(_(label), key=key, width=width)

    def cells(self, v: Visit, mine: int) -> tuple:
        raise NotImplementedError

    def timed(self, v: Visit) -> bool:
        """Whether the visit's cells follow the clock (minutes waited, expected time)."""
        return v.state in ("waiting", "called")

    def _cells(self, v: Visit, mine: int) -> tuple:
        """The visit's cells, made again only when the visit changed (the model replaces a
        visit on every change) or they follow the clock."""
        made = self._made.get(v.id)
        marked = (mine, v.id in self.unknown)
        if made is not None and made[0] is v and made[1] == marked and not self.timed(v):
            return made[2]
        cells = self.cells(v, mine)
        self._made[v.id] = (v, marked, cells)
        return cells

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
        shown, keys = self._shown, self._keys
        under_cursor = self.visit_id
        wanted_ids = {v.id for v in wanted}
        gone = [vid for vid in shown if vid not in wanted_ids]
        with self.app.batch_update():
            if len(gone) > 20:  # a new view, not a change: DataTable removes rows in O(n)
                self.clear()
                shown.clear()
                keys.clear()
                gone = []
            for vid in gone:
                self.remove_row(keys.pop(vid))
                del shown[vid]
            added = False
            for v in wanted if changed is None else [v for v in wanted if v.id in changed
                                                     or v.id not in shown]:
                cells = self._cells(v, mine)
                old = shown.get(v.id)
                if old is cells:
                    continue
                shown[v.id] = cells
                if old is None:
                    keys[v.id] = self.add_row(*cells, key=str(v.id))
                    added = True
                    continue
                for (col, _label, _w), new, was in zip(self.COLUMNS, cells, old, strict=True):
                    if new != was:
                        self.update_cell(keys[v.id], col, new)
            if reorder or added:  # only the rows whose place changed are moved
                self.move_rows([keys[v.id] for v in wanted])
            if under_cursor in shown:  # the cursor stays on its citizen
                row = self.get_row_index(keys[under_cursor])
                if row != self.cursor_row:
                    self.move_cursor(row=row, animate=False)


class QueueTable(VisitTable):
    """The counter screen's queue."""

    COLUMNS = COLUMNS

    def cells(self, v: Visit, mine: int) -> tuple:
        waited = present.minutes_waited(v, self.now())
        if v.id in self.unknown:  # sent, no answer yet: neither done nor failed
            state = Text("⧗ " + _("awaiting"), style="bold reverse")
        else:
            state = Text(present.state(v), style="bold" if present.is_mine(v, mine) else "")
        # Text cells, not str: DataTable would parse every str as console markup
        return (v.ticket, Text(present.booked_time(v)), Text(present.citizen_short(v)),
                Text(self.errands.name(v.errand)), state,
                Text("" if waited is None else f"{waited} min"),
                Text(present.documents_summary(v)), Text(present.counter(v)))
