"""Today's queue: one keyed row per visit, in the backend's order.

Rows are diffed, never cleared and rebuilt: a change updates the cells that differ,
adds and removes only the rows that enter or leave the filter, and moves only the rows
whose place in the backend's order changed (RowTable, which also redraws only the rows
that changed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widgets.data_table import RowKey

from console import present
from console.i18n import N_, _
from console.models import Visit

from .row_table import RowTable

#: key, heading, width: the widths at 120 columns; citizen and errand take what the screen
#: has beyond that (cut with "…"), and narrower screens drop the optional columns first.
COLUMNS = (
    ("ticket", N_("Ticket"), 6), ("time", N_("Time"), 8), ("citizen", N_("Citizen"), 27),
    ("errand", N_("Errand"), 22), ("state", N_("Status"), 12), ("waited", N_("Waited"), 6),
    ("docs", N_("Documents"), 12), ("counter", N_("Counter"), 9),
)


def cut(text: str, style: str = "") -> Text:
    """A cell's text, cut with "…" when its column is narrower (never a sideways scroll)."""
    return Text(text, style=style, overflow="ellipsis", no_wrap=True)


def heading(label: str, width: int) -> Text:
    """A column's heading, cut with "…" when its column is narrower ("Bemandet…")."""
    if cell_len(label) > width:
        label = set_cell_size(label, max(0, width - 1)).rstrip() + "…"
    return Text(label, no_wrap=True)


class VisitTable(RowTable):
    """A keyed row per visit; subclasses name their COLUMNS and say how a visit reads.

    The columns fit the table's width: FLEX columns share what is left beyond the others'
    widths (or give it up, down to MIN_FLEX), and OPTIONAL columns are left out, in that
    order, while the rest would not fit. Rows stay one line; text is cut with "…"."""

    COLUMNS: tuple[tuple[str, str, int], ...] = ()
    FLEX: tuple[str, ...] = ()
    OPTIONAL: tuple[str, ...] = ()
    #: columns that grow to this width first when the screen has room to spare (the flex
    #: columns keep at least ROOM more than their own): "✔ Manglende dokumenter" was cut to
    #: "✔ Manglende…" at 160 columns while the citizen's column had room to spare
    GROW: dict[str, int] = {}
    ROOM = 20
    MIN_FLEX = 16
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
        self._layout: tuple[tuple[str, str, int], ...] = ()
        self._index: tuple[int, ...] = ()  # the COLUMNS shown, by index
        self._last: tuple | None = None  # the last sync's (ordered, show, mine)

    def on_mount(self) -> None:
        self.fit(self.size.width)

    def on_resize(self, event) -> None:
        self.fit(event.size.width)

    def layout_for(self, width: int) -> tuple[tuple[str, str, int], ...]:
        """The columns and their widths for a table `width` cells wide."""
        if width <= 0:
            return self.COLUMNS
        pad = 2 * self.cell_padding

        def need(cols) -> int:
            return sum(w + pad for _k, _l, w in cols) + 2  # 2: the vertical scrollbar

        cols = list(self.COLUMNS)
        flex = [c for c in cols if c[0] in self.FLEX]
        for key in self.OPTIONAL:
            shrunk = need(cols) - sum(max(0, w - self.MIN_FLEX) for _k, _l, w in flex)
            if shrunk <= width:
                break
            cols = [c for c in cols if c[0] != key]
        widths = {k: w for k, _l, w in flex}
        spare = width - need(cols)
        shown = {k for k, _l, _w in cols}
        for key, target in self.GROW.items():
            base = next((w for k, _l, w in cols if k == key), target)
            if key in shown and target > base and spare >= target - base + self.ROOM:
                widths[key] = target
                spare -= target - base
        widths_flex = {k: widths[k] for k in widths if k in self.FLEX}
        grown = {k: widths[k] for k in widths if k not in self.FLEX}
        widths = widths_flex
        while widths and spare:  # one cell at a time, never below MIN_FLEX
            movable = [k for k in widths if spare > 0 or widths[k] > self.MIN_FLEX]
            if not movable:
                break
            for k in movable[:abs(spare)]:
                widths[k] += 1 if spare > 0 else -1
            spare += (-1 if spare > 0 else 1) * min(len(movable), abs(spare))
        widths |= grown
        return tuple((k, label, widths.get(k, w)) for k, label, w in cols)

    def fit(self, width: int) -> None:
        layout = self.layout_for(width)
        if layout == self._layout:
            return
        self._layout = layout
        shown = {k for k, _l, _w in layout}
        self._index = tuple(i for i, (k, _l, _w) in enumerate(self.COLUMNS) if k in shown)
        # a new layout (a resize across widths), not a change of rows: built again once
        RowTable.clear(self, columns=True)
        self._shown.clear()
        self._keys.clear()
        for key, label, width_ in layout:
            self.add_column(heading(_(label), width_), key=key, width=width_)
        if self._last is not None:
            self.sync(*self._last)

    def _project(self, cells: tuple) -> tuple:
        return tuple(cells[i] for i in self._index)

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
        self._last = (ordered, show, mine)
        wanted = [v for v in ordered if show(v)]
        shown, keys = self._shown, self._keys
        under_cursor = self.visit_id
        wanted_ids = {v.id for v in wanted}
        gone = [vid for vid in shown if vid not in wanted_ids]
        with self.app.batch_update():
            for vid in gone:  # cells are kept for the rows on screen only
                self._made.pop(vid, None)
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
                    keys[v.id] = self.add_row(*self._project(cells), key=str(v.id))
                    added = True
                    continue
                for i in self._index:
                    if cells[i] != old[i]:
                        self.update_cell(keys[v.id], self.COLUMNS[i][0], cells[i])
            if reorder or added:  # only the rows whose place changed are moved
                self.move_rows([keys[v.id] for v in wanted])
            if under_cursor in shown:  # the cursor stays on its citizen
                row = self.get_row_index(keys[under_cursor])
                if row != self.cursor_row:
                    self.move_cursor(row=row, animate=False)


class QueueTable(VisitTable):
    """The counter screen's queue."""

    COLUMNS = COLUMNS
    FLEX = ("citizen", "errand")
    OPTIONAL = ("counter", "waited", "time")
    GROW = {"state": 23}  # "✔ Manglende dokumenter", the longest state or outcome

    def cells(self, v: Visit, mine: int) -> tuple:
        waited = present.minutes_waited(v, self.now())
        if v.id in self.unknown:  # sent, no answer yet: neither done nor failed
            state = cut("⧗ " + _("awaiting"), "bold reverse")
        else:
            state = cut(present.state(v), "bold" if present.is_mine(v, mine) else "")
        # Text cells, not str: DataTable would parse every str as console markup
        return (cut(present.ticket(v)), cut(present.booked_time(v)),
                cut(present.citizen_short(v)), cut(self.errands.name(v.errand)), state,
                cut("" if waited is None else f"{waited} min"),
                cut(present.documents_summary(v)), cut(present.counter(v)))
