"""The waiting room's server side, without a browser: pairing, the device routes' trust,
the kiosk's rules, ticket codes, the pages' headers (tests/browser drives the pages)."""

from __future__ import annotations

import re

from backend.web import pairing

from .helpers import Api, token
from .test_api_visits import CPR, book
from .test_cli import run


def pair(ctx, client, role: str) -> None:
    with ctx.db.write() as s:
        code, _ = pairing.create(s, role, f"{role}-device", "test", ctx.clock.now(), 30, 24)
    r = client.get(f"/pair/{code}")
    assert r.status_code == 200 and f"/{role}/test" in r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get(f"/pair/{code}").status_code == 404  # once only


def test_token_create_for_a_device_prints_a_one_time_pairing_url(tmp_path):
    p = run(tmp_path, "token", "create", "--role", "display", "--person", "tv-1")
    url = p.stdout.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:8470/pair/[A-Za-z0-9_-]{32}", url), url
    assert "revoke" in p.stderr
    p = run(tmp_path, "token", "create", "--role", "kiosk", "--person", "k", "--bearer")
    assert p.stdout.strip().startswith("skr_")  # for scripts and tools


def test_a_paired_display_reads_its_board_and_an_unpaired_one_nothing(ctx, client, rec, cw):
    b = book(rec)
    rec.post(f"/visits/{b['id']}/check-in")
    cw.post("/sites/test/counters/1/call-next")
    assert client.get("/device/test/board").status_code == 401
    page = client.get("/display/test")
    assert page.status_code == 401 and "B001" not in page.text
    pair(ctx, client, "display")
    page = client.get("/display/test")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text  # no inline script: only src= and JSON data blocks
    board = client.get("/device/test/board").json()
    assert board["current"][0]["ticket"] == "B001"
    assert board["current"][0]["counter"] == "Skranke 1"
    assert "Karen" not in str(board) and CPR[:6] not in str(board)
    assert client.get("/kiosk/test").status_code == 403  # a display is not a kiosk


def test_the_kiosk_checks_in_with_its_rules_and_idempotency(ctx, client, rec):
    kiosk = Api(client, token(ctx, "kiosk"))
    early = book(rec, minutes_from_now=30)
    r = kiosk.post("/kiosk/test/api/check-in", json={"booking_ref": early["booking_ref"]})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["ticket"] == "B001" and a["early_minutes"] == 30 and a["expected"] == "10:30"
    assert a["qr"].startswith("data:image/svg+xml") and "/t/" in a["url"]
    assert "Karen" not in r.text and "citizen" not in a
    late = book(rec, minutes_from_now=0)
    ctx.clock.advance(minutes=11)
    r = kiosk.post("/kiosk/test/api/check-in", json={"booking_ref": late["booking_ref"]})
    assert r.status_code == 409 and r.json()["code"] == "too_late"
    assert r.json()["slot"] == "10:00" and r.json()["grace_minutes"] == 10
    # no Idempotency-Key, no write; the same key, one walk-in
    body = {"errand": "health_card", "documents": {"photo_id": True}}
    r = client.post("/kiosk/test/api/walk-in", json=body, headers=kiosk.h)
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    headers = {**kiosk.h, "Idempotency-Key": "walk-1"}
    first = client.post("/kiosk/test/api/walk-in", json=body, headers=headers)
    again = client.post("/kiosk/test/api/walk-in", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["ticket"] == again.json()["ticket"] == "C001"
    # a missing document: refused by the server too
    r = kiosk.post("/kiosk/test/api/walk-in", json={"errand": "health_card", "documents": {}})
    assert r.status_code == 409 and r.json()["code"] == "missing_documents"
    walkins = [v for v in rec.get("/sites/test/day").json()["visits"] if v["kind"] == "walkin"]
    assert len(walkins) == 1 and walkins[0]["citizen"]["name"] == "(kiosk)"


def test_the_kiosk_books_with_name_and_phone_and_answers_without_them(ctx, client, rec):
    kiosk = Api(client, token(ctx, "kiosk"))
    times = kiosk.get("/kiosk/test/api/free-times", params={"errand": "passport_adult"})
    assert times.status_code == 200 and len(times.json()["times"]) == 6
    start = times.json()["times"][0]["start"]
    r = kiosk.post("/kiosk/test/api/book", json={
        "errand": "passport_adult", "start": start, "name": "Mette Hansen",
        "phone": "+45 11 22 33 44"})
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"booking_ref", "day", "time", "errand"}
    assert "Mette" not in r.text and "11 22" not in r.text


def test_a_ticket_code_works_on_its_day_only(ctx, client, rec):
    kiosk = Api(client, token(ctx, "kiosk"))
    b = book(rec, minutes_from_now=20)
    url = kiosk.post("/kiosk/test/api/check-in", json={"booking_ref": b["booking_ref"]}
                     ).json()["url"]
    path = url.split(str(client.base_url).rstrip("/"), 1)[-1]
    status = client.get(f"{path}/status")
    assert status.status_code == 200
    assert status.json()["ticket"] == "B001" and status.json()["place"] in (1, None)
    assert "Karen" not in status.text
    assert client.get("/t/" + "A" * 24).status_code == 404
    ctx.clock.advance(days=1)
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/status").status_code == 404
