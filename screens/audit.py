"""The audit view (supervisor): who did what to a citizen's visits, or what a user did.
`a` asks for a CPR number, a name or @user; the search is itself recorded."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer
from textual.worker import Worker

from console import present
from console.i18n import N_, _

from .base import Line
from .dialogs import prompt
from .reception_flows import CPR

COLUMNS = (("at", N_("Time"), 17), ("actor", N_("User"), 16), ("role", N_("Role"), 11),
           ("action", N_("Action"), 18), ("ticket", N_("Ticket"), 7),
           ("detail", N_("Details"), 40))


class AuditScreen(Screen):
    SCOPES = ("audit",)
    DEFAULT_CSS = """
    AuditScreen .heading { text-style: bold; padding: 0 1; background: $boost; }
    AuditScreen DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Line(_("Audit log: press a to search by CPR, name or @user"), classes="heading",
                   id="title")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(_(label), key=key, width=width)
        self.action_search()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.on_worker_state_changed(event)

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_search(self) -> None:
        text = await self.app.push_screen_wait(prompt(
            _("Search the audit log"), placeholder=_("CPR number, name or @user"),
            hint=_("The search itself is recorded in the audit log.")))
        if not text:
            return
        if CPR.match(text):
            body, shown = {"cpr": text}, text[:6] + "-XXXX"
        elif text.startswith("@"):
            body, shown = {"user": text[1:]}, text
        else:
            body, shown = {"name": text}, text
        answer = await self.app.act_now("audit", _("Audit log"), "POST", "/audit/search",
                                        body)
        if answer is None:
            return
        self.query_one("#title", Line).update(_("Audit log for {who}: {n} entries").format(
            who=shown, n=answer["count"]))
        table = self.query_one(DataTable)
        table.clear()
        for e in answer["entries"]:
            at = datetime.fromisoformat(e["at"])
            detail = ", ".join(f"{k}={v}" for k, v in (e["detail"] or {}).items())
            table.add_row(Text(present.day_time(at)), Text(e["actor"]), Text(e["role"]),
                          Text(e["action"]), Text(e["ticket"] or ""), Text(detail[:80]))

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return True
