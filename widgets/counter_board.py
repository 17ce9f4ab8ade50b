"""All counters live: state, who staffs it, the citizen at it, minutes against expected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from console import present
from console.i18n import N_, _
from console.models import Counter, Visit

from .queue_table import cut, heading

COLUMNS = (("counter", N_("Counter"), 11), ("state", N_("Status"), 9),
           ("staff", N_("Staffed by"), 16), ("citizen", N_("Citizen"), 26),
           ("minutes", N_("Minutes"), 22), ("errands", N_("Errands"), 16))
#: under 120 columns: narrower fixed columns, the citizen's takes the rest (never a
#: sideways scroll at 80)
NARROW = {"staff": 10, "minutes": 12, "errands": 10}
STATES = {"open": ("●", N_("open")), "paused": ("‖", N_("paused")),
          "closed": ("✕", N_("closed"))}


class CounterBoard(DataTable):
    DEFAULT_CSS = """
    CounterBoard { height: auto; max-height: 14; }
    """

    def __init__(self, errands: present.Errands, now: Callable[[], datetime], **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.errands, self.now = errands, now
        self._shown: dict[int, tuple] = {}
        self._widths: tuple[int, ...] = ()
        self._last: tuple | None = None

    def on_mount(self) -> None:
        self.fit(self.size.width)

    def on_resize(self, event) -> None:
        self.fit(event.size.width)

    def fit(self, width: int) -> None:
        """Fixed columns, and the citizen's (ticket, state, errand) takes the width there is:
        at 160 columns it was cut at 26 while 48 stayed empty."""
        widths = [w for _k, _l, w in COLUMNS]
        if 0 < width < 120:
            widths = [NARROW.get(k, w) for k, _l, w in COLUMNS]
        if width > 0:
            rest = width - 2 - sum(w + 2 for w in widths) + widths[3]
            widths[3] = max(10, rest)
        if tuple(widths) == self._widths:
            return
        self._widths = tuple(widths)
        self.clear(columns=True)  # a new layout: the few counters' rows are made again
        self._shown.clear()
        for (key, label, _w), w in zip(COLUMNS, widths, strict=True):
            self.add_column(heading(_(label), w), key=key, width=w)
        if self._last is not None:
            self.sync(*self._last)

    @property
    def counter_id(self) -> int | None:
        if not self.row_count:
            return None
        return int(self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value)

    def cells(self, c: Counter, at: Visit | None) -> tuple:
        symbol, word = STATES.get(c.state, ("?", c.state))
        minutes = Text("")
        if at is not None and at.state == "serving" and at.started_at:
            spent = max(0, int((self.now() - at.started_at).total_seconds() // 60))
            over = spent > at.expected_minutes
            minutes = Text(f"{spent}/{at.expected_minutes} min"
                           + (f" ! {_('overrun')}" if over else ""),
                           style="bold reverse" if over else "")
        elif at is not None:
            minutes = Text(_("called {time}").format(time=present.hhmm(at.called_at)))
        citizen = f"{at.ticket} {present.state(at)} · {self.errands.name(at.errand)}" \
            if at else ""
        errands = _("all") if c.errands is None else ", ".join(
            self.errands.name(e)[:12] for e in c.errands)
        minutes.overflow, minutes.no_wrap = "ellipsis", True
        return (c.name, cut(f"{symbol} {_(word)}"), cut(c.staffed_by or "—"),
                cut(citizen), minutes, cut(errands))

    def sync(self, counters: list[Counter], at: dict[int, Visit]) -> None:
        self._last = (counters, at)
        with self.app.batch_update():
            for c in counters:
                cells = self.cells(c, at.get(c.id))
                if c.id not in self._shown:
                    self.add_row(*cells, key=str(c.id))
                elif cells != self._shown[c.id]:
                    for (col, _l, _w), new, was in zip(COLUMNS, cells, self._shown[c.id],
                                                       strict=True):
                        if new != was:
                            self.update_cell(str(c.id), col, new)
                self._shown[c.id] = cells
