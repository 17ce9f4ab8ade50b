"""Finishing a visit: the outcome, and what each outcome asks for.

- served, solved by phone, self-service: finished at once;
- missing documents: the list to hand the citizen, then a free time to rebook (today or
  the next days), booked there and then;
- referred: to which authority (common ones listed, or written);
- other: a note is required.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console import errors, present
from console.i18n import N_, _
from console.models import Visit
from widgets.key_footer import KeyFooter

from .base import Line, localized
from .dialogs import Dialog, choose, confirm, prompt

if TYPE_CHECKING:
    from .counter import CounterScreen

AUTHORITIES = (N_("Udbetaling Danmark"), N_("Skattestyrelsen"), N_("Politiet"),
               N_("Familieretshuset"), N_("SIRI (residence and work permits)"),
               N_("Jobcenter"))
REBOOK_DAYS = 7
REBOOK_TIMES = 8
#: the citizen has to fetch the documents first: no new time sooner than this
REBOOK_AFTER = timedelta(hours=1)


class MissingDocuments(Dialog[str | None]):
    """The documents to bring next time, and free times to rebook (id 'none' for no)."""

    DEFAULT_CSS = """
    MissingDocuments #list { margin-bottom: 1; }
    """

    def __init__(self, title: str, missing: list[str], times: list[datetime]) -> None:
        super().__init__()
        self.title_text, self.missing, self.times = title, missing, times

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Line(self.title_text, classes="title")
            if self.missing:  # none when a walk-in is offered a time instead of the queue
                yield Line(_("Hand the citizen this list to bring next time:"))
                yield Static("\n".join(f"  ✘ {name}" for name in self.missing), id="list")
            yield Line(_("Book a new time now?"))
            # "no new time" first: it stays in sight when the times scroll (80×24)
            options = [Option(_("0  No new time"), id="none")]
            options += [Option(f"{i}  {present.day_time(t)}", id=t.isoformat())
                        for i, t in enumerate(self.times, start=1)]
            if not self.times:
                options.append(Option(_("No free time in the next {n} days").format(
                    n=REBOOK_DAYS), id="none-free", disabled=True))
            yield OptionList(*options)
            yield Line(_("Enter books the time; Escape goes back."), classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.times:  # Enter books the first free time, as before
            self.query_one(OptionList).highlighted = 1

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_key(self, event) -> None:
        """Digits pick at once, as in every list (0: no new time)."""
        if event.character and event.character.isdigit():
            index = int(event.character)
            if index == 0:
                event.stop()
                self.dismiss("none")
            elif index <= len(self.times):
                event.stop()
                self.dismiss(self.times[index - 1].isoformat())


def missing_documents(title: str, missing: list[str], times: list[datetime]
                      ) -> MissingDocuments:
    return localized(MissingDocuments)(title, missing, times)


async def free_times(app, errand: str, start: date, after: timedelta = REBOOK_AFTER
                     ) -> list[datetime]:
    found: list[datetime] = []
    for offset in range(REBOOK_DAYS):
        answer = await app.client.free_times(errand, start + timedelta(days=offset))
        found += [t for t in answer.times if t >= app.now() + after]
        if len(found) >= REBOOK_TIMES:
            break
    return found[:REBOOK_TIMES]


async def run(screen: CounterScreen, v: Visit) -> None:
    app = screen.app
    outcome = await app.push_screen_wait(choose(
        _("Finish {ticket}: outcome").format(ticket=v.ticket),
        [(code, _(label)) for code, label in present.OUTCOMES.items()]))
    if not outcome:
        return
    if outcome == "served" and v.documents and all(d.status == "unknown"
                                                   for d in v.documents):
        sure = await app.push_screen_wait(confirm(_(
            "No document of {ticket} has been ticked present or missing (d). Finish as "
            "served anyway?").format(ticket=v.ticket)))
        if not sure:
            return
    body: dict[str, Any] = {"outcome": outcome, "note": None, "referred_to": None}
    rebook: datetime | None = None
    if outcome == "missing_documents":
        codes = {d.code for d in v.documents}

        def named(d) -> str:  # a document whose question was never asked says for which answer
            condition = app.errands.condition(v.errand, d.code, codes)
            return present.doc_name(d) + (f" ({condition})" if condition else "")
        missing = [named(d) for d in v.documents if d.status == "missing"] or \
            [named(d) for d in v.documents if d.status == "unknown"]
        try:
            times = await free_times(app, v.errand, app.now().date())
        except errors.ApiError:
            times = []
        picked = await app.push_screen_wait(missing_documents(
            _("Missing documents: {ticket}").format(ticket=v.ticket), missing, times))
        if picked is None:
            return
        if picked not in ("none", "none-free"):
            rebook = datetime.fromisoformat(picked)
        body["note"] = _("To bring: {docs}").format(docs="; ".join(missing)) if missing \
            else None
    elif outcome == "referred":
        choices = [(a, _(a)) for a in AUTHORITIES] + [("other", _("Another authority…"))]
        where = await app.push_screen_wait(choose(_("Referred to which authority?"), choices))
        if where == "other":
            where = await app.push_screen_wait(prompt(_("Name of the authority")))
        if not where:
            return
        body["referred_to"] = _(where) if where in AUTHORITIES else where
    elif outcome == "other":
        note = await app.push_screen_wait(prompt(_("What happened? (required)")))
        if not note:
            return
        body["note"] = note
    if rebook is not None:  # booked in the same change: undoing the finish cancels it
        body["rebook_at"] = rebook.isoformat()
    done = await app.act_now("finish", _("Finish"), "POST", f"/visits/{v.id}/finish", body)
    if done is None:
        return
    if not done.get("queued"):
        screen.remember_undo("finish", v)
    booked = done.get("rebooking")
    if booked:
        screen.notify(_("New time booked: {when}, ticket {ticket}, ref. {ref}").format(
            when=present.day_time(rebook), ticket=booked["ticket"],
            ref=booked.get("booking_ref") or "—"), timeout=12)
