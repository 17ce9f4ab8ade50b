"""Least data: a kiosk is told tickets and times only; CPR searches are audited like
reveals; personal-data answers are neither cached nor sniffed; a CPR hidden in a query
string by percent-encoding is masked in the log; no API docs page loads a CDN's script."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ..helpers import T0

CPR = "0101901234"
PERSONAL = ("citizen", "name", "phone", "cpr", "notes", "citizen_note", "prepared_notes",
            "booking_ref", "precall")


def test_a_kiosk_gets_the_ticket_and_its_times_only(as_role, rec):
    kiosk = as_role("kiosk", "entrance")
    r = kiosk.post("/sites/test/walk-ins", json={"errand": "health_card", "name": "Ole Hansen",
                                                 "phone": "12345678", "cpr": CPR})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ticket"] and body["state"] == "waiting" and "estimated_call_at" in body
    assert not set(body) & set(PERSONAL), body
    assert "Ole" not in r.text and "12345678" not in r.text and "010190" not in r.text
    start = (T0 + timedelta(minutes=5)).isoformat()
    booked = rec.ok("post", "/sites/test/bookings", {"errand": "passport_adult", "start": start,
                                                     "name": "Karen Jensen", "cpr": CPR,
                                                     "phone": "87654321", "note": "wheelchair"})
    r = kiosk.post("/sites/test/check-in", json={"booking_ref": booked["booking_ref"]})
    assert r.status_code == 200, r.text
    assert not set(r.json()) & set(PERSONAL), r.json()
    for secret in ("Karen", "87654321", "wheelchair", "010190"):
        assert secret not in r.text
    # reception, checking in the same way, still sees who it is
    staff = rec.ok("post", "/sites/test/walk-ins", {"errand": "health_card", "name": "Bo Ib"})
    assert staff["citizen"]["name"] == "Bo Ib"


def test_a_cpr_search_is_audited_like_a_reveal(rec, sup):
    rec.ok("post", "/sites/test/walk-ins", {"errand": "health_card", "name": "Ole", "cpr": CPR})
    found = rec.ok("post", "/sites/test/search", {"cpr": "010190-1234"})
    assert len(found) == 1
    audit = sup.ok("post", "/audit/search", {"cpr": CPR})
    searches = [e for e in audit["entries"] if e["action"] == "search_cpr"]
    assert len(searches) == 1 and searches[0]["detail"] == {"hits": 1}
    assert searches[0]["visit_id"] == found[0]["id"]
    assert CPR not in str(audit)


def test_personal_data_answers_are_not_cached_or_sniffed(rec, client):
    v = rec.ok("post", "/sites/test/walk-ins", {"errand": "health_card", "name": "Ole",
                                                "cpr": CPR})
    answers = [rec.get("/sites/test/day"), rec.get(f"/visits/{v['id']}"),
               rec.post("/sites/test/search", json={"name": "Ole"}),
               rec.post(f"/visits/{v['id']}/cpr"), rec.get("/sites/test/nowhere")]
    for r in answers:
        assert r.headers["Cache-Control"] == "no-store", (r.url, r.headers)
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.url
    # no interactive docs that load a CDN's script; the contract is served
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_a_percent_encoded_cpr_in_a_query_string_is_masked_in_the_log(served):
    srv = served()
    secret = srv.token("reception", "rita")
    h = {"Authorization": f"Bearer {secret}"}
    for query in ("cpr=010190%2D1234", "c=%30%31%30%31%39%30%31%32%33%34",
                  "x=0101901234"):
        httpx.get(f"{srv.url}/sites/test/counters?{query}", headers=h)
    srv.stop()
    log = srv.log.read_text()
    assert "/sites/test/counters" in log
    assert "%2D1234" not in log and "%32%33%34" not in log and "0101901234" not in log
    assert log.count("010190-XXXX") >= 3
