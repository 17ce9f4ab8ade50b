"""The audit view's words: every action the backend writes to the audit log and the keys
and values of its details, in the console's language (screens/audit.py)."""

from __future__ import annotations

from typing import Any

from .i18n import N_, _
from .present import DOCS, OUTCOMES, PRECALL_RESULTS, REASONS, Errands, decimal

#: Every action the backend writes to the audit log, as the audit view names it.
AUDIT_ACTIONS = {
    "call_next": N_("called next"), "call": N_("called to a counter"),
    "recall": N_("called again"), "start": N_("started serving"), "park": N_("parked"),
    "resume": N_("resumed"), "requeue": N_("put back in the queue"),
    "no_show": N_("marked no-show"), "undo_no_show": N_("no-show undone"),
    "undo_finish": N_("finish undone"), "walk_out": N_("left"), "finish": N_("finished"),
    "cancel": N_("cancelled"), "check_in": N_("checked in"), "transfer": N_("transferred"),
    "move": N_("moved"), "priority": N_("priority changed"), "document": N_("document ticked"),
    "note": N_("note added"), "reveal_cpr": N_("CPR shown"),
    "search_cpr": N_("searched by CPR"),
    "register_walkin": N_("walk-in registered"), "book": N_("booked"),
    "reschedule": N_("booking moved"), "precall": N_("pre-call recorded"),
    "counter_open": N_("counter opened"), "counter_pause": N_("counter paused"),
    "counter_close": N_("counter closed"), "counter_errands": N_("counter's errands set"),
    "planner_settings": N_("planner settings changed"),
    "audit_search": N_("audit log searched"),
    "purge_personal_data": N_("personal data erased"),
}
#: The keys of an audit entry's details, and the reasons and values they carry.
AUDIT_KEYS = {
    "outcome": N_("outcome"), "reason": N_("reason"), "counter": N_("counter"),
    "errand": N_("errand"), "document": N_("document"), "status": N_("status"),
    "priority": N_("priority"), "result": N_("result"), "attempts": N_("attempts"),
    "by": N_("searched by"), "hits": N_("hits"), "staffed_by": N_("staffed by"),
    "to_pool": N_("to the pool"), "errands": N_("errands"), "visits": N_("visits"),
    "before": N_("before"), "passed_over_minutes": N_("passed-over limit (min)"),
    "duration_quantile": N_("duration quantile"), "automatic": N_("by the clock"),
    "rebooked": N_("new time booked, ref."), "cancelled_booking": N_("booking cancelled, ref."),
}


def audit_action(action: str) -> str:
    return _(AUDIT_ACTIONS[action]) if action in AUDIT_ACTIONS else action.replace("_", " ")


def audit_value(key: str, value: Any, errands: Errands | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        return decimal(value, 2)
    if isinstance(value, list):
        return ", ".join(audit_value(key, v, errands) for v in value) or "—"
    text = str(value)
    if key == "outcome" and text in OUTCOMES:
        return _(OUTCOMES[text])
    if key == "status" and text in DOCS:
        return _(DOCS[text][1])
    if key == "result" and text in PRECALL_RESULTS:
        return _(PRECALL_RESULTS[text])
    if key in ("errand", "errands") and errands is not None:
        return errands.name(text)
    if text in REASONS:
        return _(REASONS[text])
    return text


def audit_detail(detail: dict[str, Any] | None, errands: Errands | None = None) -> str:
    """'udfald: Betjent, ærinde: Pas' — keys and values in words; empty values left out."""
    return ", ".join(
        f"{_(AUDIT_KEYS[k]) if k in AUDIT_KEYS else k}: {audit_value(k, v, errands)}"
        for k, v in (detail or {}).items() if v is not None)
