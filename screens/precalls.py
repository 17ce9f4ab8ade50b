"""The pre-call list: call booked citizens ahead and record what came of it."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import work
from textual.widgets import DataTable

from console import errors, present
from console.i18n import N_, _
from console.models import Visit
from widgets.queue_table import cut

from .dialogs import prompt
from .sub import TableScreen

COLUMNS = (("when", N_("Time"), 15), ("ticket", N_("Ticket"), 6),
           ("citizen", N_("Citizen"), 20), ("phone", N_("Phone"), 16),
           ("errand", N_("Errand"), 20), ("note", N_("Citizen's note"), 20),
           ("tries", N_("Tries"), 7))


class PrecallScreen(TableScreen):
    SCOPES = ("precalls",)
    COLUMNS = COLUMNS
    FLEX = ("citizen", "errand", "note")
    OPTIONAL = ("note", "tries")
    HEADING = N_("Pre-calls")

    def __init__(self) -> None:
        super().__init__()
        self.visits: dict[int, Visit] = {}

    def start(self) -> None:
        self.load()

    @work(group="precalls", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            answer = await self.app.client.request(
                "GET", f"/sites/{self.app.config.server.site}/precalls")
        except errors.ApiError as exc:
            self.notify(errors.said(exc), severity="error")
            return
        self.show(answer)

    def show(self, answer: dict) -> None:
        self.visits = {v["id"]: Visit.model_validate(v) for v in answer["visits"]}
        self.say(_(
            "Pre-calls {start} – {end}: {called} of {total} called ahead, {solved} solved "
            "without a visit, {left} to call").format(
            start=present.long_date(date.fromisoformat(answer["from"])),
            end=present.long_date(date.fromisoformat(answer["to"])), called=answer["called"],
            total=answer["total"], solved=answer["solved"], left=len(self.visits)))
        self.query_one(DataTable).clear()
        for v in self.visits.values():
            tries = (v.precall or {}).get("attempts", 0)
            self.add_row({
                "when": Text(present.day_time(v.slot_start) if v.slot_start else "—"),
                "ticket": v.ticket, "citizen": cut(v.citizen.name if v.citizen else "—"),
                "phone": Text((v.citizen.phone if v.citizen else None) or "—"),
                "errand": cut(self.app.errands.name(v.errand)),
                "note": cut(v.citizen_note or ""), "tries": Text(str(tries) if tries else "")},
                key=str(v.id))

    @property
    def current(self) -> Visit | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self.visits.get(int(key))

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_record(self, result: str) -> None:
        v = self.current
        if v is None:
            return
        body: dict = {"result": result, "note": None, "prepared_notes": None}
        if result == "needs_visit":
            notes = await self.app.push_screen_wait(prompt(
                _("Prepared notes for {name}'s visit").format(
                    name=v.citizen.name if v.citizen else v.ticket),
                hint=_("What the caseworker should know; what to bring."), required=False))
            if notes is None:
                return
            body["prepared_notes"] = notes or None
        if result == "self_service" and self.app.errands.hint(v.errand):
            self.notify(self.app.errands.hint(v.errand), timeout=15)
        done = await self.app.act_now("precall", _("Pre-calls"), "POST",
                                      f"/visits/{v.id}/precall", body)
        if done:
            self.load()
