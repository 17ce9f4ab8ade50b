"""The audit view (supervisor): who did what to a citizen's visits, or what a user did.
`a` asks for a CPR number, a name or @user; the search is itself recorded."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.widgets import DataTable

from console import audit_words, present
from console.i18n import N_, _
from widgets.queue_table import cut

from .dialogs import prompt
from .reception_flows import CPR
from .sub import TableScreen

COLUMNS = (("at", N_("Time"), 15), ("actor", N_("User"), 12), ("role", N_("Role"), 11),
           ("action", N_("Action"), 18), ("ticket", N_("Ticket"), 6),
           ("detail", N_("Details"), 38))


class AuditScreen(TableScreen):
    SCOPES = ("audit",)
    COLUMNS = COLUMNS
    FLEX = ("detail", "actor")
    OPTIONAL = ("role",)
    HEADING = N_("Audit log: press a to search by CPR, name or @user")

    def start(self) -> None:
        self.action_search()

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
        self.say(_("Audit log for {who}: {n} entries").format(who=shown, n=answer["count"]))
        self.query_one(DataTable).clear()
        for i, e in enumerate(answer["entries"]):
            at = datetime.fromisoformat(e["at"])
            detail = audit_words.audit_detail(e["detail"], self.app.errands)
            self.add_row({"at": Text(present.day_time(at)), "actor": cut(e["actor"]),
                          "role": cut(_(present.ROLES.get(e["role"], e["role"]))),
                          "action": cut(audit_words.audit_action(e["action"])),
                          "ticket": Text(e["ticket"] or ""), "detail": cut(detail)},
                         key=str(i))
