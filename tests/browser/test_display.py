"""The call display and the citizen's ticket page, live in Chromium."""

from __future__ import annotations

import time

from .conftest import NAMES

SECOND = 1000


def text(page, selector: str) -> str:
    return page.inner_text(selector)


def until(check, timeout: float = 5.0) -> None:
    """Poll `check` from here: the pages' CSP forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_call_appears_on_the_display_and_on_the_ticket_page(room):
    display = room.page(role="display")
    mine = room.ticket(name=NAMES[0])
    phone = room.page((390, 844), path=mine["url"].replace(room.url, ""))
    until(lambda: text(phone, "#number") == "B001")
    # the place comes with the plan that covers the new ticket ("–" until then)
    until(lambda: text(phone, "#place") == "1")
    assert phone.is_hidden("#called")

    room.call_next()
    display.wait_for_selector(".call.newest", timeout=5 * SECOND)
    assert text(display, ".call.newest .ticket") == "B001"
    assert text(display, ".call.newest .counter") == "Skranke 1"
    assert "B001" in text(display, "#recent")
    phone.wait_for_selector("#called:not([hidden])", timeout=5 * SECOND)
    assert text(phone, "#called-da") == "Du bliver kaldt nu — gå til Skranke 1"
    assert display.errors == [] and phone.errors == []


def test_a_recall_is_shown_again_and_the_newest_call_is_highlighted(room):
    display = room.page(role="display")
    first = room.ticket(name=NAMES[0])
    room.ticket(name=NAMES[1])
    room.call_next()
    display.wait_for_selector(".call.newest", timeout=5 * SECOND)
    key = display.get_attribute(".call.newest", "data-key")
    room.ctx.clock.advance(seconds=60)  # past the site's recall_min_seconds
    r = room.cw.post(f"/visits/{first['visit_id']}/recall")
    assert r.status_code == 200, r.text
    until(lambda: display.get_attribute(".call.newest", "data-key") != key)
    assert "Kaldt igen" in text(display, ".call.newest")
    assert text(display, "#waiting") == "1"
    # a second counter's call becomes the newest; the first stays on the board below it
    from ..helpers import Api, token

    bo = Api(room.http, token(room.ctx, "caseworker", "bo"))
    assert bo.post("/sites/test/counters/2/open").status_code == 200
    room.ctx.clock.advance(seconds=5)
    assert bo.post("/sites/test/counters/2/call-next").status_code == 200
    until(lambda: display.locator(".call").count() == 2)
    assert text(display, ".call.newest .ticket") == "B002"
    assert text(display, ".call.newest .counter") == "Skranke 2"
    assert text(display, "#waiting") == "0"


def test_the_display_survives_the_backend_stopping_and_starting(room):
    display = room.page(role="display")
    display.evaluate("window.__marker = 42")  # gone if the page were reloaded
    room.server.stop()
    display.wait_for_selector("#stale:not([hidden])", timeout=10 * SECOND)
    assert "Forbindelsen er afbrudt" in text(display, "#stale")
    room.server.start()
    display.wait_for_selector("#stale", state="hidden", timeout=15 * SECOND)
    room.ticket()
    room.call_next()
    display.wait_for_selector(".call.newest", timeout=10 * SECOND)
    assert text(display, ".call.newest .ticket") == "B001"
    assert display.evaluate("window.__marker") == 42


def test_an_unpaired_browser_gets_no_data(room):
    room.ticket(name=NAMES[0])
    room.call_next()
    page = room.page()
    for path in ("/display/test", "/kiosk/test"):
        r = page.goto(room.url + path)
        assert r.status == 401
        assert "ikke parret" in page.content()
        assert "B001" not in page.content()
    for path in ("/device/test/board", "/device/test/stream",
                 "/kiosk/test/api/free-times?errand=mitid"):
        r = room.http.get(path)
        assert r.status_code == 401 and "B001" not in r.text
    r = room.http.post("/kiosk/test/api/check-in", json={"booking_ref": "ABCDEFGH"},
                       headers={"Idempotency-Key": "k1"})
    assert r.status_code == 401


def test_a_pairing_url_works_once_and_a_revoked_device_is_shut_out(room):
    code = room.pairing_code("display")
    first = room.page()
    first.goto(f"{room.url}/pair/{code}")
    first.wait_for_url("**/display/test", timeout=5 * SECOND)
    cookie = next(c for c in first.context.cookies() if c["name"] == "skranke_device")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    second = room.page()
    assert second.goto(f"{room.url}/pair/{code}").status == 404
    assert second.goto(f"{room.url}/display/test").status == 401
    # the kiosk's token cannot open the display, nor the display's the kiosk
    kiosk = room.page(role="kiosk")
    assert kiosk.goto(f"{room.url}/display/test").status == 403
    assert first.goto(f"{room.url}/kiosk/test").status == 403
    # revoke the display's token: it is shut out (after the token cache's few seconds)
    from backend.api import deps
    from backend.services import tokens

    with room.ctx.db.write() as s:
        listing = tokens.listing(s)
        device = next(t for t in listing if t["role"] == "display")
        tokens.revoke(s, device["id"], room.ctx.clock.now())
    deps._token_cache.clear()
    assert first.goto(f"{room.url}/display/test").status == 401


def test_a_ticket_code_of_another_day_or_a_guessed_one_gets_nothing(room):
    mine = room.ticket()
    path = mine["url"].replace(room.url, "")
    page = room.page((390, 844))
    assert page.goto(room.url + path).status == 200
    last = "y" if path.endswith("x") else "x"  # one letter off the real code
    for guess in ("/t/AAAAAAAAAAAAAAAAAAAAAAAA", "/t/" + path[3:-1] + last,
                  "/t/short"):
        r = room.http.get(guess)
        assert r.status_code in (404, 422) and "B001" not in r.text, guess
        assert room.http.get(guess + "/status").status_code in (404, 422)
    room.ctx.clock.advance(days=1)  # the next day: yesterday's code is spent
    r = room.http.get(path)
    assert r.status_code == 404 and "B001" not in r.text
    assert room.http.get(path + "/status").status_code == 404
    assert room.http.get(path + "/stream").status_code == 404


def test_the_display_dom_stays_bounded(room):
    display = room.page(role="display")
    for _ in range(12):
        room.walk_in()
    for _ in range(12):
        visit = room.call_next()["visit"]
        assert room.cw.post(f"/visits/{visit['id']}/start").status_code == 200
        assert room.cw.post(f"/visits/{visit['id']}/finish",
                            json={"outcome": "served"}).status_code == 200
    time.sleep(0.5)
    until(lambda: display.locator("#recent li").count() == 8)
    assert display.evaluate("document.getElementsByTagName('*').length") < 200
