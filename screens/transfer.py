"""Transferring the counter's citizen: to another open or paused counter, or to another
errand (whichever counter handles it calls them next)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console import present
from console.i18n import _
from console.models import Visit

from .dialogs import choose

if TYPE_CHECKING:
    from .counter import CounterScreen


async def run(screen: CounterScreen, v: Visit) -> None:
    app = screen.app
    counters = sorted((c for c in app.model.counters.values()
                       if c.number != screen.number and c.state != "closed"),
                      key=lambda c: c.number)
    choices = [(f"counter:{c.number}", f"{c.name} ({present.counter_state(c.state)})")
               for c in counters]
    choices += [(f"errand:{code}", _("Errand: {name}").format(name=app.errands.name(code)))
                for code in app.errands.by_code if code != v.errand]
    picked = await app.push_screen_wait(choose(
        _("Transfer {ticket} to").format(ticket=v.ticket), choices))
    if not picked:
        return
    what, value = picked.split(":", 1)
    body = {"counter": int(value), "errand": None} if what == "counter" else \
        {"counter": None, "errand": value}
    screen.visit_action("transfer", _("Transfer"), "transfer", v, body)
