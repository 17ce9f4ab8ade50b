"""The day timeline: a row per counter across the opening hours, and the booked demand.

Counter rows show what happened and happens (facts from the live model): served visits,
the visit in service up to its expected end, an overrun past it, the current time. The
"booked" row shows how many booked citizens each slot holds against the counters open
now, so gaps stand out, and where the planner expects to call each waiting walk-in.
Told by symbol, not colour alone:

    █ served   ▒ in service (expected)   ! overrun   │ now
    booked row: 1-9 booked citizens in the slot, · gap (fewer bookings than open
    counters), W a walk-in expected there
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.widgets import Static

from console import present
from console.i18n import _

LABEL = 11


class DayTimeline(Static):
    DEFAULT_CSS = """
    DayTimeline { height: auto; padding: 0 1; border: round $primary; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.border_title = _("Day timeline")

    def show(self, model, now: datetime, width: int) -> None:
        self.update(self.render_day(model, now, max(20, width - LABEL - 4)))

    def render_day(self, model, now: datetime, cells: int) -> Text:
        if not model.opening:
            return Text(_("No opening hours today."))
        start = min(a for a, _b in model.opening)
        end = max(b for _a, b in model.opening)
        step = max(1, -(-int((end - start).total_seconds() // 60) // cells))  # min per cell
        span = int((end - start).total_seconds() // 60 // step) + 1

        def col(at: datetime) -> int:
            return max(0, min(span - 1, int((at - start).total_seconds() // 60 // step)))

        out = Text()
        ruler = [" "] * span
        free_from = 0  # labels never overlap
        for i in range(span):
            at = start + timedelta(minutes=i * step)
            # the whole hour inside this cell, named as that hour (not the cell's own time:
            # with 8 minutes a cell the ruler read 01:04, 03:04)
            hour = at.replace(minute=0, second=0, microsecond=0)
            if hour < at:
                hour += timedelta(hours=1)
            if hour < at + timedelta(minutes=step) and i >= free_from and i + 5 <= span:
                ruler[i:i + 5] = list(present.hhmm(hour))
                free_from = i + 6
        out.append(" " * LABEL + "".join(ruler)[:span] + "\n", style="dim")
        now_col = col(now)
        counters = sorted(model.counters.values(), key=lambda c: c.number)
        for c in counters:
            row = [" "] * span
            for v in model.visits.values():
                if v.counter_id != c.id or v.started_at is None:
                    continue
                expected = v.started_at + timedelta(minutes=v.expected_minutes)
                finished = v.finished_at or (now if v.state == "serving" else None)
                if finished is None:
                    continue
                for i in range(col(v.started_at), col(finished) + 1):
                    row[i] = "█" if v.finished_at else "▒"
                if v.state == "serving":
                    for i in range(col(now) + 1, col(expected) + 1):
                        row[i] = "▒"
                    if now > expected:
                        for i in range(col(expected) + 1, col(now) + 1):
                            row[i] = "!"
            row[now_col] = "│"
            state = {"open": "", "paused": " ‖", "closed": " ✕"}.get(c.state, "")
            out.append(f"{(c.name + state)[:LABEL - 1]:<{LABEL}}")
            out.append("".join(row) + "\n")
        open_now = max(1, sum(1 for c in counters if c.state == "open"))
        booked = [0] * span
        for v in model.visits.values():
            if v.slot_start is not None and v.state not in ("cancelled", "no_show"):
                for i in range(col(v.slot_start),
                               col(v.slot_start + timedelta(minutes=v.expected_minutes)) + 1):
                    booked[i] += 1
        row = [("·" if n < open_now else str(min(n, 9))) if i >= now_col else " "
               for i, n in enumerate(booked)]
        for v in model.visits.values():
            if v.kind == "walkin" and v.state == "waiting" and v.estimated_call_at:
                row[col(max(v.estimated_call_at, now))] = "W"
        row[now_col] = "│"
        out.append(f"{_('booked'):<{LABEL}}" + "".join(row) + "\n")
        out.append(_("█ served  ▒ in service  ! overrun  │ now  · gap  W walk-in expected"),
                   style="dim")
        return out
