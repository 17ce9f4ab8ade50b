"""How visits read on screen: state, documents, times and errands in words and symbols.

Pure functions of a visit and the time (no Textual, no I/O), so the queue table, the
citizen card and the tests share them. Status is never told by colour alone: every state
and document status has a symbol and a word.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .i18n import N_, _, current
from .models import Visit

TZ = ZoneInfo("Europe/Copenhagen")

STATES = {
    "booked": ("◌", N_("booked")),
    "waiting": ("●", N_("waiting")),
    "called": ("→", N_("called")),
    "serving": ("▶", N_("serving")),
    "parked": ("‖", N_("parked")),
    "done": ("✔", N_("done")),
    "cancelled": ("–", N_("cancelled")),
    "no_show": ("✘", N_("no-show")),
    "left": ("←", N_("left")),
}
DOCS = {
    "present": ("✔", N_("present")),
    "missing": ("✘", N_("missing")),
    "unknown": ("?", N_("unknown")),
}
OUTCOMES = {
    "served": N_("Served"),
    "missing_documents": N_("Missing documents"),
    "referred": N_("Referred to another authority"),
    "solved_by_phone": N_("Solved by phone"),
    "self_service": N_("Self-service"),
    "other": N_("Other (with a note)"),
}
#: The filters of the queue, in the order the View key cycles through them.
FILTERS = {"mine": N_("mine"), "waiting": N_("waiting"), "all": N_("all"),
           "done": N_("done")}
OPEN_STATES = frozenset({"booked", "waiting", "called", "serving", "parked"})
CLOSED_STATES = frozenset({"done", "cancelled", "no_show", "left"})


def state(v: Visit) -> str:
    symbol, word = STATES.get(v.state, ("·", v.state))
    return f"{symbol} {_(word)}"


def doc_status(status: str) -> str:
    symbol, word = DOCS.get(status, ("?", status))
    return f"{symbol} {_(word)}"


def documents_summary(v: Visit) -> str:
    """'✔ all' / '✘ 1 missing' / '? 2 unknown' / '—' for none asked."""
    if not v.documents:
        return "—"
    missing = sum(d.status == "missing" for d in v.documents)
    unknown = sum(d.status == "unknown" for d in v.documents)
    if missing:
        return f"✘ {missing} {_('missing')}"
    if unknown:
        return f"? {unknown} {_('unknown')}"
    return f"✔ {_('all')}"


def doc_name(doc: Any) -> str:
    """A document's name in the console's language (a model or a catalogue dict)."""
    get = doc.get if isinstance(doc, dict) else lambda key: getattr(doc, key)
    return get("name_da" if current() == "da" else "name_en") or get("code")


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def day_time(at: datetime) -> str:
    """'tir 24.11 10:45': the weekday in the console's language, never the OS locale's."""
    local = at.astimezone(TZ)
    return f"{_(WEEKDAYS[local.weekday()])} {local:%d.%m %H:%M}"


def hhmm(at: datetime | None) -> str:
    return at.astimezone(TZ).strftime("%H:%M") if at else "—"


def booked_time(v: Visit) -> str:
    return hhmm(v.slot_start) if v.slot_start else _("walk-in")


def minutes_waited(v: Visit, now: datetime) -> int | None:
    """Minutes since arrival for citizens not yet served, else None."""
    if v.arrived_at is None or v.state not in ("waiting", "called"):
        return None
    return max(0, int((now - v.arrived_at).total_seconds() // 60))


def arrival(v: Visit) -> str:
    """'09:58, 2 min early' against the slot; just the time for walk-ins."""
    if v.arrived_at is None:
        return _("not arrived")
    if v.slot_start is None:
        return hhmm(v.arrived_at)
    delta = int((v.arrived_at - v.slot_start).total_seconds() // 60)
    if delta < 0:
        return _("{time}, {n} min early").format(time=hhmm(v.arrived_at), n=-delta)
    if delta > 0:
        return _("{time}, {n} min late").format(time=hhmm(v.arrived_at), n=delta)
    return _("{time}, on time").format(time=hhmm(v.arrived_at))


def citizen(v: Visit, revealed: str | None = None) -> str:
    if v.citizen is None:
        return "—"
    cpr = revealed or v.citizen.cpr
    return f"{v.citizen.name} ({cpr})" if cpr else v.citizen.name


def citizen_short(v: Visit) -> str:
    """For the queue's narrow column: the masked CPR (fixed width) first, then the name."""
    if v.citizen is None:
        return "—"
    cpr = v.citizen.cpr or " " * 11
    return f"{cpr} {v.citizen.name}"


def counter(v: Visit) -> str:
    if v.counter is None:
        return ""
    return v.counter_name or _("Counter {n}").format(n=v.counter)


@dataclass(frozen=True)
class Errands:
    """The errand catalogue as the backend serves it, named in the console's language."""

    by_code: dict[str, dict[str, Any]]

    def name(self, code: str) -> str:
        e = self.by_code.get(code)
        if e is None:
            return code
        return e["name_da"] if current() == "da" else e["name_en"]

    def hint(self, code: str) -> str:
        e = self.by_code.get(code) or {}
        return (e.get("hint_da") if current() == "da" else e.get("hint_en")) or ""

    def documents(self, code: str) -> list[dict[str, Any]]:
        return list((self.by_code.get(code) or {}).get("documents", []))

    def solvable(self, code: str) -> list[str]:
        """The channels that can solve this errand without a visit: phone, self_service."""
        e = self.by_code.get(code) or {}
        return [k for k in ("phone", "self_service") if e.get(k)]

    def minutes(self, code: str) -> int:
        return int((self.by_code.get(code) or {}).get("minutes", 0))


def in_filter(v: Visit, name: str, my_counter: int) -> bool:
    if name == "mine":
        return v.counter == my_counter and v.state in OPEN_STATES
    if name == "waiting":
        return v.state in ("waiting", "called") or (
            v.counter == my_counter and v.state in OPEN_STATES)
    if name == "done":
        return v.state in CLOSED_STATES
    return True


def is_mine(v: Visit, my_counter: int) -> bool:
    return v.counter == my_counter and v.state in ("called", "serving")


def estimate(v: Visit, now: datetime) -> str:
    """A walk-in's expected call time ('ca. 10:45'), or its place in the queue."""
    if v.estimated_call_at is not None:
        return _("ca. {time}").format(time=hhmm(max(v.estimated_call_at, now)))
    if v.queue_rank is not None:
        return _("no. {n}").format(n=v.queue_rank)
    return "—"


def gap(v: Visit) -> str:
    """Where a walk-in is planned: 'Skranke 3, before the 10:55 booking'."""
    g = v.planned_gap
    if g is None:
        return ""
    if g.until is None:  # no booking follows within what the planner looks ahead
        return _("at counter {n}").format(n=g.counter)
    return _("at counter {n}, in the gap before the {time} booking").format(
        n=g.counter, time=hhmm(g.until))


def until(at: datetime, now: datetime) -> str:
    minutes = max(0, int((at - now) / timedelta(minutes=1)))
    return _("{time} (in {n} min)").format(time=hhmm(at), n=minutes)


def unknown_text(p: Any) -> str:
    """An action sent and not yet answered (console/unknown.py Pending), in words: never
    "failed", and the server's own reason when it gave one (a 503's "databasen er
    optaget"), not the network's."""
    if p.overdue:
        minutes = max(1, round((time.monotonic() - p.started) / 60))
        return _("{action}: no answer for {n} min. Check that the server runs and the "
                 "network; the console keeps asking with the same key, so it happens at "
                 "most once.").format(action=p.label, n=minutes)
    text = _("{action} sent — waiting for the answer").format(action=p.label)
    if p.reason:
        text += " (" + _("the server says: {reason}").format(reason=p.reason) + ")"
    return text
