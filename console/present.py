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

from babel.dates import format_date
from babel.numbers import format_decimal

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
COUNTER_STATES = {"open": N_("open"), "paused": N_("paused"), "closed": N_("closed")}
ROLES = {"caseworker": N_("caseworker"), "reception": N_("reception"),
         "supervisor": N_("supervisor"), "admin": N_("administrator"), "kiosk": N_("kiosk"),
         "display": N_("call display"), "booking": N_("booking site"),
         "system": N_("system")}
PRECALL_RESULTS = {"needs_visit": N_("Needs the visit"),
                   "solved_by_phone": N_("Solved by phone"),
                   "self_service": N_("Sent to self-service"),
                   "not_reached": N_("Not reached")}
REASONS = {
    "booked_due": N_("booked, due"), "assigned": N_("assigned to the counter"),
    "walkin_fits": N_("walk-in fits the gap"), "booked_early": N_("booked, early"),
    "nobody": N_("nobody"), "manual": N_("by hand"), "not_arrived": N_("did not arrive"),
    "max_calls": N_("called too many times"), "day_closed": N_("the day closed"),
    "left": N_("left"), "cancelled": N_("cancelled"),
    "booked_instead": N_("booked a time instead"), "cpr": N_("CPR number"),
    "name": N_("name"), "user": N_("user"), "finish_undone": N_("finish undone"),
}

#: The filters of the queue, in the order the View key cycles through them.
FILTERS = {"mine": N_("mine"), "waiting": N_("waiting"), "all": N_("all"),
           "done": N_("done")}
OPEN_STATES = frozenset({"booked", "waiting", "called", "serving", "parked"})
CLOSED_STATES = frozenset({"done", "cancelled", "no_show", "left"})


def decimal(x: float | int | None, digits: int = 1, fixed: bool = False) -> str:
    """A number in the console's language: '6,7' in Danish, '6.7' in English; `fixed`:
    always that many decimals ('13,0' beside '9,3' in a column)."""
    if x is None:
        return "—"
    return format_decimal(x, format="#,##0." + ("0" if fixed else "#") * digits,
                          locale=current())


def percent(x: float | int | None) -> str:
    return "—" if x is None else f"{decimal(x)} %"


def long_date(d) -> str:
    """'3. dec. 2026' / '3 Dec 2026': a date in the console's language."""
    return format_date(d, format="medium", locale=current())


def counter_state(state_: str) -> str:
    return _(COUNTER_STATES[state_]) if state_ in COUNTER_STATES else state_


def state(v: Visit) -> str:
    """'● waiting'; a finished visit by its outcome ('✔ Served', '✔ Missing documents')."""
    symbol, word = STATES.get(v.state, ("·", v.state))
    if v.state == "done" and v.outcome in OUTCOMES:
        return f"{symbol} {_(OUTCOMES[v.outcome])}"
    return f"{symbol} {_(word)}"


def ticket(v: Visit) -> str:
    """The ticket with its priority when raised or lowered: 'C025 ↑', 'B003 ↓'."""
    if v.priority > 0:
        return f"{v.ticket} ↑{v.priority if v.priority > 1 else ''}"
    if v.priority < 0:
        return f"{v.ticket} ↓"
    return v.ticket


def priority(v: Visit) -> str:
    return _("priority {n:+d}").format(n=v.priority) if v.priority else ""


def view_marker(current_view: str) -> str:
    """'View: ▸ 2 Waiting ◂  1 Mine  3 All  4 Done  (v next)': which view is on."""
    keys = {"mine": "1", "waiting": "2", "all": "3", "done": "4"}
    parts = [f"▸ {keys[name]} {_(label).capitalize()} ◂" if name == current_view
             else f"{keys[name]} {_(label).capitalize()}" for name, label in FILTERS.items()]
    return _("View:") + " " + "  ".join(parts) + "  " + _("(v next)")


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
    """'tir 24.11 10:45' in Danish, 'Tue 24 Nov 10:45' in English ('24.11' read as a
    day.month only in Danish): the console's language, never the OS locale's."""
    local = at.astimezone(TZ)
    if current() == "da":
        return f"{_(WEEKDAYS[local.weekday()])} {local:%d.%m %H:%M}"
    return f"{_(WEEKDAYS[local.weekday()])} {format_date(local, 'd MMM', locale=current())} " \
        f"{local:%H:%M}"


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

    def questions(self, code: str) -> list[dict[str, Any]]:
        """The errand's yes/no questions, asked before its documents ("Er det dit første
        pas?"): their answers decide which documents apply (the catalogue's when/unless)."""
        return list((self.by_code.get(code) or {}).get("questions", []))

    @staticmethod
    def question(q: dict[str, Any]) -> str:
        return q["text_da"] if current() == "da" else q["text_en"]

    def needed(self, code: str, answers: dict[str, bool]) -> list[dict[str, Any]]:
        """The documents that apply with these answers (a question not answered: all)."""
        def applies(d: dict[str, Any]) -> bool:
            if d.get("when"):
                return answers.get(d["when"]) is not False
            if d.get("unless"):
                return answers.get(d["unless"]) is not True
            return True
        return [d for d in self.documents(code) if applies(d)]

    def condition(self, code: str, doc: str, on_visit: set[str]) -> str:
        """'only if yes to: Er det dit første pas?' for a document that applies with one
        answer only, while the visit's documents do not show that answer (a booking: its
        question was never asked); '' otherwise."""
        docs = self.documents(code)
        d = next((x for x in docs if x["code"] == doc), None)
        q = d and (d.get("when") or d.get("unless"))
        if not q:
            return ""
        other = "unless" if d.get("when") else "when"
        others = {x["code"] for x in docs if x.get(other) == q}
        if others and not others & on_visit:
            return ""  # answered: only this side's documents were kept
        text = next((self.question(x) for x in self.questions(code) if x["code"] == q), q)
        return (_("only if yes to: {question}") if d.get("when") else
                _("only if no to: {question}")).format(question=text)

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


def closing(opening) -> datetime | None:
    """When the day's last opening hours end (the day snapshot's `opening`)."""
    return max((end for _start, end in opening), default=None)


def estimate(v: Visit, now: datetime, closes: datetime | None = None) -> str:
    """A walk-in's expected call time ('ca. 10:45'), 'not today' when that falls after
    closing, or its place in the queue."""
    if v.estimated_call_at is not None:
        if closes is not None and v.estimated_call_at >= closes:
            return _("not today")
        return _("ca. {time}").format(time=hhmm(max(v.estimated_call_at, now)))
    if v.queue_rank is not None:
        return _("no. {n}").format(n=v.queue_rank)
    return "—"


def walkin_slip(v: Visit, now: datetime, closes: datetime | None, planned: str = "") -> str:
    """What reception tells a queued walk-in, from the same live estimate as the table;
    `planned`: the gap as planned at registration (the live events carry no gaps)."""
    if v.state != "waiting":
        return _("{state} now").format(state=state(v))
    when = estimate(v, now, closes)
    if v.estimated_call_at is not None and closes is not None and \
            v.estimated_call_at >= closes:
        return _("expected to be called: not today (after closing at {time})").format(
            time=hhmm(closes))
    if v.planned_gap is not None or planned:
        return _("expected to be called {when}, {gap}").format(
            when=when, gap=gap(v) if v.planned_gap is not None else planned)
    if v.estimated_call_at is not None:
        return _("expected to be called {when}").format(when=when)
    return _("number {n} in the queue").format(n=v.queue_rank or "—")


def held(answer: dict, v: Visit | None, now: datetime, closes: datetime | None) -> str:
    """Who waits though call next called nobody, and why (the planner holds a walk-in back
    for a booking); `v` is that visit as the console knows it, for its estimate."""
    at = answer.get("next_booking_at")
    text = _("{ticket} is waiting: held back for the {time} booking (a walk-in never "
             "delays a booked citizen).").format(
        ticket=answer["held"]["ticket"], time=hhmm(datetime.fromisoformat(at)) if at else "—")
    if v is not None and v.estimated_call_at is not None:
        text += " " + _("Expected to be called {when}.").format(
            when=estimate(v, now, closes))
    return text


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
