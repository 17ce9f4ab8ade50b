"""Every waiting-room page at each of its sizes: screenshots kept in tests/browser/output,
no text overflowing its box, no serious or critical accessibility violation (axe-core,
vendored), no inline script against the CSP; and no name, CPR or phone number in anything
these devices receive."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import pytest

from ..helpers import token
from .conftest import AXE, CPR, NAMES, OUT, PHONE, no_overflow
from .test_display import text, until
from .test_kiosk import choose, kiosk

DISPLAY_SIZES = ((1920, 1080), (1280, 720))
KIOSK_SIZES = ((1080, 1920), (1280, 1024))
PHONE_SIZE = (390, 844)
#: axe's impacts that fail a page.
FAILING = ("serious", "critical")


def check(page, name: str) -> list[str]:
    """Screenshot, overflow and axe for the page as it is now; the problems found."""
    OUT.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(OUT / f"{name}-{size['width']}x{size['height']}.png"))
    problems = [f"{name}: {p}" for p in no_overflow(page)]
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document,
        {resultTypes: ['violations']})).violations.map(v =>
        ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))""")
    problems += [f"{name}: axe {v['id']} ({v['impact']}) at {v['nodes'][:3]}"
                 for v in violations if v["impact"] in FAILING]
    return problems


@pytest.fixture
def busy_room(room):
    """A board with calls at two counters, a recall and people waiting."""
    for _ in range(9):
        room.walk_in()
    mine = room.ticket(minutes=60)  # not due: the walk-ins go first
    bo = room.cw.__class__(room.http, token(room.ctx, "caseworker", "bo"))
    assert bo.post("/sites/test/counters/2/open").status_code == 200
    for _ in range(6):
        visit = room.call_next()["visit"]
        room.cw.post(f"/visits/{visit['id']}/start")
        room.cw.post(f"/visits/{visit['id']}/finish", json={"outcome": "served"})
        room.ctx.clock.advance(minutes=1)
    room.held = room.call_next()["visit"]
    room.ctx.clock.advance(seconds=40)
    assert bo.post("/sites/test/counters/2/call-next").status_code == 200
    room.mine = mine
    return room


def test_every_page_at_every_size_fits_and_passes_axe(busy_room):
    room = busy_room
    problems: list[str] = []
    for size in DISPLAY_SIZES:
        page = room.page(size, role="display", bypass_csp=True)
        page.wait_for_selector(".call.newest")
        until(lambda p=page: p.locator("#recent li").count() == 8)
        problems += check(page, "display")
        room.server.stop()
        page.wait_for_selector("#stale:not([hidden])", timeout=10_000)
        problems += check(page, "display-stale")
        room.server.start()
        page.wait_for_selector("#stale", state="hidden", timeout=15_000)

    for size in KIOSK_SIZES:
        page = kiosk(room, size, bypass_csp=True)
        problems += check(page, "kiosk-start")
        page.click("button.lang[data-lang=ar]")
        problems += check(page, "kiosk-start-ar")
        page.click("button.lang[data-lang=da]")
        choose(page, "Sundhedskort")
        page.wait_for_selector("#s-hint:not([hidden])")
        problems += check(page, "kiosk-hint")
        page.click("#s-hint #wait")
        page.wait_for_selector("#s-doc:not([hidden])")
        problems += check(page, "kiosk-document")
        page.click("#doc-no")
        page.wait_for_selector("#times button.time", timeout=5000)
        page.locator("#times button.time").first.click()
        problems += check(page, "kiosk-missing")
        page.click("#s-missing .done")
        page.click("#walkin")
        page.wait_for_selector("#s-errand:not([hidden])")
        problems += check(page, "kiosk-errands")
        page.click("button.lang[data-lang=en]")
        problems += check(page, "kiosk-errands-en")
        page.click("button.errand:has-text('Passport, adult')")
        page.wait_for_selector("#s-question:not([hidden])")
        problems += check(page, "kiosk-question")
        page.click("#q-yes")  # a first passport: two documents
        for _ in range(2):
            page.wait_for_selector("#s-doc:not([hidden])")
            page.click("#doc-yes")
        page.wait_for_selector("#s-ticket:not([hidden])", timeout=5000)
        problems += check(page, "kiosk-ticket")
        page.emulate_media(media="print")
        problems += check(page, "kiosk-ticket-print")
        page.emulate_media(media="screen")

    phone = room.page(PHONE_SIZE, path=room.mine["url"].replace(room.url, ""),
                      bypass_csp=True)
    until(lambda: text(phone, "#number") == "B001")
    problems += check(phone, "ticket-waiting")
    visit = room.held
    for _ in range(6):  # until B001 is called
        room.cw.post(f"/visits/{visit['id']}/start")
        room.cw.post(f"/visits/{visit['id']}/finish", json={"outcome": "served"})
        visit = room.call_next()["visit"]
        if visit["ticket"] == "B001":
            break
    phone.wait_for_selector("#called:not([hidden])", timeout=5000)
    problems += check(phone, "ticket-called")

    for path, name in (("/display/test", "unpaired"), ("/t/AAAAAAAAAAAAAAAAAAAAAAAA",
                                                        "unknown-ticket")):
        page = room.page(PHONE_SIZE, path=path, bypass_csp=True)
        problems += check(page, name)
    assert problems == [], "\n".join(problems)


def _read_stream(url: str, headers: dict, seconds: float, into: list[str]) -> None:
    try:
        with httpx.stream("GET", url, headers=headers, timeout=seconds + 5) as r:
            into.append(f"status {r.status_code}")
            deadline = time.monotonic() + seconds
            for chunk in r.iter_text():
                into.append(chunk)
                if time.monotonic() > deadline:
                    break
    except httpx.HTTPError as exc:
        into.append(f"error {exc!r}")


def test_no_page_answer_or_stream_for_these_devices_holds_personal_data(room):
    """A day with names, CPR numbers and phones in it, worked while a display, a kiosk and
    a ticket page watch; every page, answer and stream they get is scanned."""
    received: list[str] = []
    csp: list[str] = []

    def watch(page):
        def on_response(r):
            if "text/event-stream" not in (r.headers.get("content-type") or ""):
                with contextlib.suppress(Exception):  # a redirect has no body
                    received.append(r.text())
        page.on("response", on_response)
        page.on("console", lambda m: csp.append(m.text)
                if "Content Security Policy" in m.text else None)
        return page

    mine = room.ticket(name=NAMES[0])
    display = watch(room.page(role="display"))
    phone = watch(room.page(PHONE_SIZE))
    phone.goto(mine["url"])
    page = watch(kiosk(room))
    display_token = token(room.ctx, "display", "scan")
    streams = [(f"{room.url}/device/test/stream", {"Authorization": f"Bearer {display_token}"}),
               (f"{mine['url']}/stream", {}),
               (f"{room.url}/sites/test/events?since=0",
                {"Authorization": f"Bearer {display_token}"})]
    threads = [threading.Thread(target=_read_stream, args=(u, h, 6, received))
               for u, h in streams]
    for t in threads:
        t.start()
    v = room.book(minutes=20, name=NAMES[1])
    page.fill("#ref", v["booking_ref"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-ticket:not([hidden])", timeout=5000)
    page.click("#s-ticket .done")
    choose(page, "Pas til voksen")
    page.click("#q-no")
    page.wait_for_selector("#s-doc:not([hidden])")
    page.click("#doc-no")
    page.wait_for_selector("#times button.time", timeout=5000)
    page.locator("#times button.time").first.click()
    page.fill("#b-name", NAMES[2])
    page.fill("#b-phone", PHONE)
    page.click("#book-form button[type=submit]")
    until(lambda: text(page, "#booked").startswith("Din tid er booket"))
    room.walk_in()
    room.call_next()
    room.ctx.clock.advance(seconds=40)
    room.cw.post(f"/visits/{mine['visit_id']}/recall")
    phone.wait_for_selector("#called:not([hidden])", timeout=5000)
    received += [display.content(), phone.content(), page.content()]
    for t in threads:
        t.join(timeout=15)
    received += [room.http.get("/device/test/board", headers={
        "Authorization": f"Bearer {display_token}"}).text,
        room.http.get(f"{mine['url']}/status").text]
    everything = "\n".join(received)
    assert "B001" in everything and "event: state" in everything  # it did see the day
    assert "visit.call_next" in everything  # and the staff's stream too
    for secret in (*NAMES, CPR, CPR[:6] + "-" + CPR[6:], PHONE, PHONE.replace(" ", "")[3:],
                   "12 34 56 78"):
        assert secret not in everything, secret
    assert csp == []
