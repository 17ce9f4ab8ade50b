"""The check-in kiosk in Chromium: check-in by reference, walk-ins with and without their
documents, self-service, languages, keyboard, idle reset."""

from __future__ import annotations

import time

from .conftest import NAMES, PHONE
from .test_display import text, until

PORTRAIT = (1080, 1920)


def kiosk(room, viewport=PORTRAIT, **context_kw):
    page = room.page(viewport, role="kiosk", **context_kw)
    page.posts = []
    page.on("request", lambda r: page.posts.append(r) if r.method == "POST" else None)
    page.wait_for_selector("#s-start:not([hidden])")
    return page


def day_visits(room) -> list[dict]:
    return room.rec.get("/sites/test/day").json()["visits"]


def test_check_in_by_booking_reference_typed_or_scanned(room):
    v = room.book(minutes=30)
    page = kiosk(room)
    assert page.evaluate("document.activeElement.id") == "ref"  # a scanner types here
    page.keyboard.type(v["booking_ref"].lower())
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-ticket:not([hidden])", timeout=5000)
    assert text(page, "#ticket-msg") == ("Du er tjekket ind — nummer B001, forventet kaldt "
                                         "ca. 10:30.")
    assert text(page, "#ticket-early") == "Du er 30 min. før din tid kl. 10:30."
    assert text(page, "#t-number") == "B001"
    assert page.get_attribute("#t-qr", "src").startswith("data:image/svg+xml")
    until(lambda: page.evaluate("document.getElementById('t-qr').naturalWidth") > 0)
    assert page.posts and all(r.headers.get("idempotency-key") for r in page.posts)
    assert next(x for x in day_visits(room) if x["id"] == v["id"])["state"] == "waiting"
    # the QR code's page is the citizen's own ticket
    phone = room.page((390, 844), path=page.get_attribute("#t-qr", "data-url")
                      .replace(room.url, ""))
    until(lambda: text(phone, "#number") == "B001")
    assert page.errors == []


def test_too_late_by_the_sites_rule_is_told_what_to_do(room):
    v = room.book(minutes=0)
    room.ctx.clock.advance(minutes=15)  # the site's grace is 10 minutes
    page = kiosk(room)
    page.fill("#ref", v["booking_ref"])
    page.click("#checkin-form button[type=submit]")
    page.wait_for_selector("#s-message:not([hidden])", timeout=5000)
    assert "mere end 10 min. forsinket" in text(page, "#message")
    assert "receptionen" in text(page, "#message")
    assert next(x for x in day_visits(room) if x["id"] == v["id"])["state"] == "booked"
    page.click("#s-message .done")
    page.fill("#ref", "NOSUCHREF")
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-message:not([hidden])", timeout=5000)
    assert "kan ikke finde" in text(page, "#message")


def choose(page, errand_name: str):
    page.click("#walkin")
    page.wait_for_selector("#s-errand:not([hidden])")
    page.click(f"button.errand:has-text('{errand_name}')")


def first_passport(page, yes: bool) -> None:
    """The passport's question comes before its documents."""
    page.wait_for_selector("#s-question:not([hidden])")
    assert text(page, "#q-text") == "Er det dit første pas?"
    page.click("#q-yes" if yes else "#q-no")


def test_a_walk_in_with_every_document_gets_a_ticket_with_a_qr_code(room):
    page = kiosk(room)
    choose(page, "Pas til voksen")
    first_passport(page, yes=True)
    page.wait_for_selector("#s-doc:not([hidden])")
    seen = []
    for _ in range(2):
        until(lambda: text(page, "#doc-name") not in seen)
        seen.append(text(page, "#doc-name"))
        page.click("#doc-yes")
    page.wait_for_selector("#s-ticket:not([hidden])", timeout=5000)
    # a first passport: never asked for the old one
    assert seen == ["Anden billedlegitimation, fx kørekort", "Fødsels-, dåbs- eller navneattest"]
    assert text(page, "#t-number") == "C001"
    assert text(page, "#ticket-msg").startswith("Du er tjekket ind — nummer C001, forventet")
    assert page.get_attribute("#t-qr", "src").startswith("data:image/svg+xml")
    until(lambda: page.evaluate("document.getElementById('t-qr').naturalWidth") > 0)
    walkins = [x for x in day_visits(room) if x["kind"] == "walkin"]
    assert len(walkins) == 1 and walkins[0]["state"] == "waiting"
    assert {d["status"] for d in walkins[0]["documents"]} == {"present"}
    assert all(r.headers.get("idempotency-key") for r in page.posts)


def test_one_missing_document_is_not_queued_but_offered_a_time_to_book(room):
    page = kiosk(room)
    choose(page, "Pas til voksen")
    first_passport(page, yes=True)
    page.wait_for_selector("#s-doc:not([hidden])")
    page.click("#doc-yes")
    until(lambda: text(page, "#doc-of") == "Dokument 2 af 2")
    page.click("#doc-no")
    page.wait_for_selector("#s-missing:not([hidden])")
    assert text(page, "#missing-list .lacking").startswith("Fødsels-, dåbs- eller")
    assert page.locator("#missing-list li").count() == 2
    page.wait_for_selector("#times button.time", timeout=5000)
    assert [x for x in day_visits(room) if x["kind"] == "walkin"] == []
    page.locator("#times button.time").first.click()
    page.fill("#b-name", NAMES[2])
    page.fill("#b-phone", PHONE)
    page.click("#book-form button[type=submit]")
    until(lambda: text(page, "#booked").startswith("Din tid er booket"))
    assert NAMES[2] not in page.content() and PHONE not in page.content()
    booked = [x for x in day_visits(room) if x["kind"] == "booked"]
    assert len(booked) == 1 and booked[0]["citizen"]["name"] == NAMES[2]
    assert booked[0]["booking_ref"] in text(page, "#booked")


def test_a_renewal_is_asked_for_the_old_passport_only_by_keyboard_and_in_english(room):
    page = kiosk(room)
    page.click("button.lang[data-lang=en]")
    choose(page, "Passport, adult")
    page.wait_for_selector("#s-question:not([hidden])")
    assert text(page, "#q-text") == "Is this your first passport?"
    assert text(page, "#s-question .muted") == "First, a question"
    assert page.evaluate("document.activeElement.id") == "q-yes"
    page.click("button.lang[data-lang=ar]")  # the question follows the language
    assert text(page, "#q-text") == "هل هذا أول جواز سفر لك؟"
    page.click("button.lang[data-lang=en]")
    page.focus("#q-yes")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q-no"
    page.keyboard.press("Enter")  # not the first passport: a renewal
    page.wait_for_selector("#s-doc:not([hidden])")
    assert text(page, "#doc-name") == "Current or previous passport"
    assert text(page, "#doc-of") == "Document 1 of 1"
    page.keyboard.press("Enter")  # yes, it is here
    page.wait_for_selector("#s-ticket:not([hidden])", timeout=5000)
    walkins = [x for x in day_visits(room) if x["kind"] == "walkin"]
    assert [{d["code"]: d["status"] for d in w["documents"]} for w in walkins] == [
        {"old_passport": "present"}]
    assert page.errors == []


def test_an_errand_self_service_solves_is_said_first_and_not_queued(room):
    page = kiosk(room)
    choose(page, "Sundhedskort")
    page.wait_for_selector("#s-hint:not([hidden])")
    assert "borger.dk" in text(page, "#hint-text")
    assert text(page, "#hint-ways") == "Det kan klares selv på nettet."
    page.click("#self")
    page.wait_for_selector("#s-message:not([hidden])")
    assert text(page, "#message").startswith("Godt. Så behøver du ikke vente her i dag.")
    assert day_visits(room) == []
    # or the citizen chooses to wait: then the documents, one by one
    page.click("#s-message .done")
    choose(page, "Sundhedskort")
    page.click("#wait")
    page.wait_for_selector("#s-doc:not([hidden])")


def test_search_languages_and_keyboard(room):
    page = kiosk(room)
    page.click("button.lang[data-lang=en]")
    assert text(page, "#s-start h1") == "Welcome to Citizen Service"
    page.click("button.lang[data-lang=ar]")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ar"
    page.click("button.lang[data-lang=da]")
    # keyboard only: from the reference field to "no appointment", search, choose, answer
    page.focus("#ref")
    for _ in range(5):
        if page.evaluate("document.activeElement.id") == "walkin":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "walkin"
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-errand:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("kørekort")
    assert page.locator("button.errand").count() == 3
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the first errand found
    page.wait_for_selector("#s-doc:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "doc-yes"


def test_the_kiosk_resets_itself_after_idle_and_shows_nothing_of_the_citizen(room):
    v = room.book(minutes=0)
    page = kiosk(room)
    page.click("button.lang[data-lang=en]")
    page.fill("#ref", v["booking_ref"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#s-ticket:not([hidden])", timeout=5000)
    assert text(page, "#t-number") == "B001"
    time.sleep(room.ctx.settings.kiosk_idle_seconds + 1)
    assert page.is_visible("#s-start") and page.is_hidden("#s-ticket")
    assert page.evaluate("document.documentElement.lang") == "da"
    html = page.content()
    assert "B001" not in html and v["booking_ref"] not in html
    assert page.get_attribute("#t-qr", "src") is None
