"""Reception's conversations at the desk, one dialog after the other.

- a walk-in: errand (phone/self-service said first), name, CPR (optional), phone
  (optional), the errand's questions ("Er det dit første pas?"), then the documents that
  apply with those answers: all there → queued with a ticket and
  the expected call time; one missing → not queued, the list to take home, and free
  times (today or later) to book there and then;
- finding a booked citizen by booking reference, name or CPR (a POST) and checking in;
- booking a free time for a citizen at the desk.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from console import errors, present
from console.i18n import _

from .dialogs import choose, confirm, prompt
from .finish import free_times, missing_documents
from .pickers import document_check, errand_picker

REF = re.compile(r"^[A-Za-z0-9]{8}$")
CPR = re.compile(r"^\d{6}-?\d{4}$")
PHONE = re.compile(r"^\+?[0-9 ]{8,20}$")


async def ask_citizen(app) -> dict | None:
    name = await app.push_screen_wait(prompt(_("The citizen's name")))
    if not name:
        return None
    cpr = await app.push_screen_wait(prompt(
        _("CPR number (optional)"), required=False, placeholder="DDMMÅÅ-XXXX"))
    if cpr is None:
        return None
    if cpr and not CPR.match(cpr):
        app.notify(_("A CPR number has ten digits, DDMMYY-XXXX."), severity="error")
        return None
    phone = await app.push_screen_wait(prompt(_("Phone (optional)"), required=False))
    if phone is None:
        return None
    if phone and not PHONE.match(phone):
        app.notify(_("A phone number has 8 to 20 digits."), severity="error")
        return None
    return {"name": name, "cpr": cpr or None, "phone": phone or None}


async def offer_times(app, errand: str, citizen: dict, title: str, missing: list[str],
                      note: str | None, walkin: int | None = None) -> None:
    """Free times to book; `walkin`: the queued walk-in a booking replaces (it leaves the
    queue once the time is booked)."""
    try:
        times = await free_times(app, errand, app.now().date(), after=timedelta(0))
    except errors.ApiError:
        times = []
    picked = await app.push_screen_wait(missing_documents(title, missing, times))
    if picked and picked not in ("none", "none-free"):
        booked = await book_at(app, errand, datetime.fromisoformat(picked), citizen, note)
        if booked and walkin is not None:
            await app.act_now("walk_out", _("Left"), "POST", f"/visits/{walkin}/walk-out",
                              {"reason": "booked_instead"})


async def book_at(app, errand: str, start: datetime, citizen: dict, note: str | None
                  ) -> dict | None:
    booked = await app.act_now("book", _("Book"), "POST",
                               f"/sites/{app.config.server.site}/bookings",
                               {"errand": errand, "start": start.isoformat(), **citizen,
                                "note": note})
    if booked:
        show_slip(app, ("booking", None, ""), _(
            "Booked for {name}: {when}, {errand}, ticket {ticket}, booking reference {ref}"
        ).format(name=citizen["name"], when=present.day_time(start),
                 errand=app.errands.name(errand), ticket=booked["ticket"],
                 ref=booked.get("booking_ref") or "—"))
    return booked


async def register_walkin(app) -> None:
    errand = await app.push_screen_wait(errand_picker(app.errands))
    if not errand:
        return
    name = app.errands.name(errand)
    channels = app.errands.solvable(errand)
    if channels:
        how = " / ".join({"phone": _("by phone"), "self_service": _("self-service")}[c]
                         for c in channels)
        hint = app.errands.hint(errand)
        go_on = await app.push_screen_wait(confirm(
            _("{errand} can be solved {how}. {hint} Queue the citizen anyway?").format(
                errand=name, how=how, hint=hint)))
        if not go_on:
            app.notify(_("Not queued: the citizen was told how to solve it {how}.").format(
                how=how))
            return
    citizen = await ask_citizen(app)
    if citizen is None:
        return
    answers: dict[str, bool] = {}
    for q in app.errands.questions(errand):  # e.g. a first passport needs no old passport
        said = await app.push_screen_wait(choose(app.errands.question(q), [
            ("yes", _("Yes")), ("no", _("No"))]))
        if said is None:
            return
        answers[q["code"]] = said == "yes"
    documents = app.errands.needed(errand, answers)
    statuses: dict[str, str] = {}
    if documents:
        statuses = await app.push_screen_wait(document_check(name, documents))
        if statuses is None:
            return
    lacking = [d for d in documents if statuses.get(d["code"]) == "missing"]
    missing = [present.doc_name(d) for d in lacking]
    if lacking and all(d.get("at_counter") for d in lacking):
        queue = await app.push_screen_wait(confirm(
            _("Only {docs} is missing, and Borgerservice can provide it at the counter. "
              "Queue the citizen anyway?").format(docs="; ".join(missing))))
        if queue is None:
            return
        lacking = [] if queue else lacking
    if lacking:
        await offer_times(app, errand, citizen,
                          _("Not queued: {name} lacks documents").format(name=citizen["name"]),
                          missing, _("To bring: {docs}").format(docs="; ".join(missing)))
        return
    visit = await app.act_now("walkin", _("Walk-in"), "POST",
                              f"/sites/{app.config.server.site}/walk-ins",
                              {"errand": errand, **citizen, "documents": statuses,
                               "answers": answers})
    if not visit:
        return
    v = app_visit(visit)
    # the gap as the backend planned it now; the expected time follows the live plan
    show_slip(app, ("walkin", v.id, present.gap(v)), _("Ticket {ticket} for {name}").format(
        ticket=v.ticket, name=citizen["name"]))
    closes = present.closing(app.model.opening)
    if v.estimated_call_at is not None and closes is not None and v.estimated_call_at >= closes:
        await offer_times(app, errand, citizen, _(
            "{ticket} can hardly be called today (expected after closing at {time}): book a "
            "time instead?").format(ticket=v.ticket, time=present.hhmm(closes)), [], None,
            walkin=v.id)


def show_slip(app, what: tuple, text: str) -> None:
    """The ticket or booking on reception's screen until dismissed (t shows it again);
    elsewhere a notice."""
    screen = app.main_screen()
    if screen is not None:
        screen.show_slip(what, text)
    else:
        app.notify(text, timeout=20)


def _arrival_note(v) -> str:
    return _("{ticket} {name} checked in: {arrival}.").format(
        ticket=v["ticket"], name=(v.get("citizen") or {}).get("name", ""),
        arrival=present.arrival(app_visit(v)))


def app_visit(v: dict):
    from console.models import Visit

    return Visit.model_validate(v)


async def check_in(app, visit_id: int) -> None:
    v = await app.act_now("check_in", _("Check in"), "POST", f"/visits/{visit_id}/check-in")
    if v:
        app.notify(_arrival_note(v), timeout=12)


async def find_and_check_in(app) -> None:
    text = await app.push_screen_wait(prompt(
        _("Find a booking: reference, name or CPR number"),
        hint=_("A CPR number is sent in the request body, never in an address.")))
    if not text:
        return
    if REF.match(text) and not text.isalpha():
        v = await app.act_now("check_in", _("Check in"), "POST",
                              f"/sites/{app.config.server.site}/check-in",
                              {"booking_ref": text.upper()})
        if v:
            app.notify(_arrival_note(v), timeout=12)
        return
    body = {"cpr": text, "name": None} if CPR.match(text) else {"name": text, "cpr": None}
    found = await app.act_now("search", _("Find"), "POST",
                              f"/sites/{app.config.server.site}/search", body)
    if found is None:
        return
    rows = [r for r in found if r["state"] == "booked"] if isinstance(found, list) else []
    if not rows:
        app.notify(_("No booking today that is not checked in matches."), severity="warning")
        return
    choices = [(str(r["id"]), f"{r['ticket']}  {present.hhmm(app_visit(r).slot_start)}  "
                f"{r['citizen']['name']}  {app.errands.name(r['errand'])}") for r in rows]
    picked = await app.push_screen_wait(choose(_("Check in whom?"), choices))
    if picked:
        await check_in(app, int(picked))


async def book_for_citizen(app) -> None:
    errand = await app.push_screen_wait(errand_picker(app.errands))
    if not errand:
        return
    try:
        times = await free_times(app, errand, app.now().date(), after=timedelta(0))
    except errors.ApiError as exc:
        app.notify(errors.said(exc), severity="error")
        return
    choices = [(t.isoformat(), present.day_time(t)) for t in times]
    if not choices:
        app.notify(_("No free time in the next {n} days").format(n=7), severity="warning")
        return
    picked = await app.push_screen_wait(choose(
        _("Free times for {errand}").format(errand=app.errands.name(errand)), choices))
    if not picked:
        return
    citizen = await ask_citizen(app)
    if citizen:
        await book_at(app, errand, datetime.fromisoformat(picked), citizen, None)
