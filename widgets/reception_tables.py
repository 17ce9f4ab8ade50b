"""Reception's two lists: booked citizens not yet arrived, and the waiting walk-ins."""

from __future__ import annotations

from rich.cells import cell_len

from console import present
from console.i18n import N_, _
from console.models import Visit

from .queue_table import VisitTable, cut


class ArrivalsTable(VisitTable):
    """Today's bookings not checked in yet, by slot."""

    COLUMNS = (("ticket", N_("Ticket"), 6), ("time", N_("Time"), 5),
               ("citizen", N_("Citizen"), 20), ("errand", N_("Errand"), 18))
    FLEX = ("citizen", "errand")
    MIN_FLEX = 7  # half the screen: at 80 columns each list has 40

    def cells(self, v: Visit, mine: int) -> tuple:
        return (v.ticket, cut(present.hhmm(v.slot_start)),
                cut(v.citizen.name if v.citizen else "—"), cut(self.errands.name(v.errand)))


class WalkinsTable(VisitTable):
    """The waiting walk-ins in the backend's order, with the planner's estimated time."""

    COLUMNS = (("ticket", N_("Ticket"), 6), ("citizen", N_("Citizen"), 15),
               ("errand", N_("Errand"), 13), ("waited", N_("Waited"), 6),
               ("estimate", N_("Expected"), 10))
    FLEX = ("citizen", "errand")
    OPTIONAL = ("waited",)
    MIN_FLEX = 7

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        # the expected time as the language says it ("ca. 10:45", "about 10:45") fits whole
        room = max(cell_len(_("ca. {time}").format(time="10:45")), cell_len(_("not today")))
        self.COLUMNS = tuple((k, label, max(w, room) if k == "estimate" else w)
                             for k, label, w in self.COLUMNS)

    def cells(self, v: Visit, mine: int) -> tuple:
        waited = present.minutes_waited(v, self.now())
        estimate = present.estimate(v, self.now(), present.closing(self.app.model.opening))
        return (v.ticket, cut(v.citizen.name if v.citizen else "—"),
                cut(self.errands.name(v.errand)),
                cut("" if waited is None else f"{waited} min"), cut(estimate))
