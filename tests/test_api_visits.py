"""Each lifecycle endpoint over HTTP, as reception and a caseworker use them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .helpers import T0

CPR = "0101901234"


def book(rec, minutes_from_now=0, errand="passport_adult", name="Karen Jensen", cpr=CPR,
         **extra):
    start = (T0 + timedelta(minutes=minutes_from_now)).isoformat()
    r = rec.post("/sites/test/bookings", json={"errand": errand, "start": start,
                                               "name": name, "cpr": cpr, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def arrived(rec, **kw):
    v = book(rec, **kw)
    r = rec.post(f"/visits/{v['id']}/check-in")
    assert r.status_code == 200, r.text
    return r.json()


def walkin(rec, errand="health_card", name="Ole Hansen", **kw):
    r = rec.post("/sites/test/walk-ins", json={"errand": errand, "name": name, **kw})
    assert r.status_code == 201, r.text
    return r.json()


def test_booking_then_check_in_then_full_visit(rec, cw):
    v = book(rec)
    assert v["state"] == "booked" and v["ticket"] == "B001" and len(v["booking_ref"]) == 8
    assert v["citizen"]["cpr"] == "010190-XXXX"
    assert {d["code"] for d in v["documents"]} >= {"old_passport"}
    v = rec.post(f"/visits/{v['id']}/check-in").json()
    assert v["state"] == "waiting" and v["queue_rank"] == 1
    called = cw.post("/sites/test/counters/1/call-next").json()
    assert called["reason"] == "booked_due" and called["visit"]["ticket"] == "B001"
    assert called["visit"]["counter_name"] == "Skranke 1"
    assert called["visit"]["notes"] == []
    vid = called["visit"]["id"]
    started = cw.post(f"/visits/{vid}/start").json()
    assert (started["state"], started["counter"], started["counter_name"]) == (
        "serving", 1, "Skranke 1")
    r = cw.put(f"/visits/{vid}/documents/old_passport", json={"status": "present"})
    assert r.status_code == 200
    assert {d["code"]: d["status"] for d in r.json()["documents"]}["old_passport"] == "present"
    r = cw.post(f"/visits/{vid}/notes", json={"text": "Nyt pas bestilt."})
    assert r.json()["notes"][0]["text"] == "Nyt pas bestilt."
    assert r.json()["notes"][0]["author"] == "anne"
    done = cw.post(f"/visits/{vid}/finish", json={"outcome": "served"}).json()
    assert done["state"] == "done" and done["outcome"] == "served"
    # a later change's answer still carries the visit's notes
    assert [(n["author"], n["text"]) for n in done["notes"]] == [("anne", "Nyt pas bestilt.")]


def test_call_next_when_nobody_is_due_names_the_next_booking(rec, cw):
    book(rec, minutes_from_now=45)
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["visit"] is None and r["reason"] == "nobody"
    assert r["next_booking_at"].startswith("2026-11-24T10:45")


def test_call_next_at_busy_counter_is_409(rec, cw):
    arrived(rec)
    arrived(rec, minutes_from_now=0, name="B")
    assert cw.post("/sites/test/counters/1/call-next").status_code == 200
    r = cw.post("/sites/test/counters/1/call-next")
    assert r.status_code == 409 and r.json()["code"] == "counter_busy"
    assert r.json()["ticket"] == "B001"


def test_call_next_at_closed_or_paused_counter(as_role, rec):
    other = as_role("caseworker", "bo")
    r = other.post("/sites/test/counters/2/call-next")
    assert r.status_code == 403  # not staffed by bo
    other.post("/sites/test/counters/2/open")
    assert other.post("/sites/test/counters/2/pause").json()["state"] == "paused"
    r = other.post("/sites/test/counters/2/call-next")
    assert r.status_code == 409 and r.json()["code"] == "counter_not_open"


def test_walkin_called_when_it_fits(rec, cw):
    w = walkin(rec, phone="+45 12 34 56 78", documents={"photo_id": "present"})
    assert w["ticket"] == "C001" and w["kind"] == "walkin" and w["state"] == "waiting"
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["reason"] == "walkin_fits" and r["visit"]["id"] == w["id"]


def test_walkin_waits_when_a_booking_is_due_soon(rec, cw):
    walkin(rec, errand="pension")  # 20 minutes
    book(rec, minutes_from_now=10)
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["visit"] is None and r["walkins_waiting"] == 1


def test_call_chosen_and_already_called(rec, cw, as_role):
    v = arrived(rec)
    other = as_role("caseworker", "bo")
    other.post("/sites/test/counters/2/open")
    r = other.post(f"/visits/{v['id']}/call", json={"counter": 2})
    assert r.status_code == 200 and r.json()["counter"] == 2
    r = cw.post(f"/visits/{v['id']}/call", json={"counter": 1})
    assert r.status_code == 409
    assert r.json()["code"] == "already_called"
    assert r.json()["by_counter"] == "Skranke 2"
    # a caseworker may not call to a counter they do not staff
    v2 = arrived(rec, name="X")
    assert cw.post(f"/visits/{v2['id']}/call", json={"counter": 2}).status_code == 403


def test_recall_limits(rec, cw, ctx):
    arrived(rec)
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    r = cw.post(f"/visits/{vid}/recall")
    assert r.status_code == 429 and r.json()["code"] == "recall_too_soon"
    assert int(r.headers["Retry-After"]) > 0
    ctx.clock.advance(seconds=31)
    assert cw.post(f"/visits/{vid}/recall").json()["call_count"] == 2
    ctx.clock.advance(seconds=31)
    assert cw.post(f"/visits/{vid}/recall").json()["call_count"] == 3
    ctx.clock.advance(seconds=31)
    r = cw.post(f"/visits/{vid}/recall")
    assert r.status_code == 409 and r.json()["code"] == "max_calls_reached"


def test_requeue_park_resume_transfer(rec, cw, as_role):
    arrived(rec)
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    v = cw.post(f"/visits/{vid}/requeue").json()
    assert v["state"] == "waiting" and v["counter"] is None
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    cw.post(f"/visits/{vid}/start")
    v = cw.post(f"/visits/{vid}/park").json()
    assert v["state"] == "parked"
    v = cw.post(f"/visits/{vid}/resume").json()
    assert v["state"] == "waiting" and v["counter"] == 1
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["reason"] == "assigned" and r["visit"]["id"] == vid
    cw.post(f"/visits/{vid}/start")
    bo = as_role("caseworker", "bo")
    bo.post("/sites/test/counters/2/open")
    v = cw.post(f"/visits/{vid}/transfer", json={"counter": 2, "errand": "mitid"}).json()
    assert (v["state"], v["counter"], v["errand"], v["expected_minutes"]) == (
        "waiting", 2, "mitid", 15)
    from backend.catalogue import load_catalogue

    mitid_docs = {d.code for d in load_catalogue().by_code["mitid"].documents}
    assert {d["code"] for d in v["documents"]} == mitid_docs
    assert bo.post("/sites/test/counters/2/call-next").json()["visit"]["id"] == vid
    r = cw.post(f"/visits/{vid}/transfer", json={})
    assert r.status_code == 403  # no longer at anne's counter


def test_move_priority_walkout_cancel(rec, sup):
    a = arrived(rec)
    b = arrived(rec, name="Bent")
    v = sup.post(f"/visits/{b['id']}/priority", json={"priority": 2}).json()
    assert v["queue_rank"] == 1 and v["priority"] == 2
    v = sup.post(f"/visits/{a['id']}/move", json={"counter": 3}).json()
    assert v["counter"] == 3
    v = sup.post(f"/visits/{a['id']}/move", json={"counter": None}).json()
    assert v["counter"] is None
    assert rec.post(f"/visits/{a['id']}/walk-out").json()["state"] == "left"
    c = book(rec, minutes_from_now=60, name="C")
    v = rec.post(f"/visits/{c['id']}/cancel", json={"reason": "citizen_called"}).json()
    assert v["state"] == "cancelled" and v["left_reason"] == "citizen_called"


def test_no_show_and_undo(rec, cw):
    arrived(rec)
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    assert cw.post(f"/visits/{vid}/no-show").json()["state"] == "no_show"
    v = cw.post(f"/visits/{vid}/undo-no-show").json()
    assert v["state"] == "waiting" and v["counter"] is None


def test_finish_outcomes(rec, cw):
    for outcome, extra, status in [
        ("referred", {}, 422), ("referred", {"referred_to": "SIRI"}, 200),
    ]:
        arrived(rec, name=outcome)
        vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
        cw.post(f"/visits/{vid}/start")
        r = cw.post(f"/visits/{vid}/finish", json={"outcome": outcome, **extra})
        assert r.status_code == status, r.text
        if status != 200:
            assert r.json()["code"] == "referral_needs_authority"
            cw.post(f"/visits/{vid}/finish", json={"outcome": "missing_documents"})


def test_illegal_transition_answers_409_with_state(rec, cw):
    v = book(rec)
    r = rec.post(f"/visits/{v['id']}/walk-out")
    assert r.status_code == 409
    assert r.json()["code"] == "illegal_transition" and r.json()["state"] == "booked"


def test_stale_if_match_is_412_with_current_state(rec, cw):
    v = arrived(rec)
    r = rec.put(f"/visits/{v['id']}/documents/old_passport", json={"status": "present"},
                headers={"If-Match": f'"{v["version"]}"'})
    assert r.status_code == 200 and r.headers["ETag"] == f'"{v["version"] + 1}"'
    r = rec.put(f"/visits/{v['id']}/documents/old_passport", json={"status": "missing"},
                headers={"If-Match": f'"{v["version"]}"'})
    assert r.status_code == 412 and r.json()["code"] == "stale_version"
    docs = {d["code"]: d["status"] for d in r.json()["current"]["documents"]}
    assert docs["old_passport"] == "present"


def test_counter_open_pause_close_and_errands(as_role, sup, rec):
    bo = as_role("caseworker", "bo")
    assert bo.post("/sites/test/counters/2/open").json()["staffed_by"] == "bo"
    r = bo.post("/sites/test/counters/3/open")
    assert r.status_code == 409 and r.json()["code"] == "already_staffing"
    other = as_role("caseworker", "cy")
    r = other.post("/sites/test/counters/2/open")
    assert r.status_code == 409 and r.json()["code"] == "counter_staffed"
    v = arrived(rec)
    sup.post(f"/visits/{v['id']}/move", json={"counter": 2})
    r = sup.put("/sites/test/counters/2/errands", json={"errands": ["mitid", "health_card"]})
    assert r.json()["errands"] == ["health_card", "mitid"]
    r = sup.put("/sites/test/counters/2/errands", json={"errands": ["nope"]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_errand"
    closed = bo.post("/sites/test/counters/2/close").json()
    assert closed["state"] == "closed" and closed["staffed_by"] is None
    assert rec.get(f"/visits/{v['id']}").json()["counter"] is None  # back to the pool
    counters = rec.get("/sites/test/counters").json()
    assert [c["name"] for c in counters][:2] == ["Skranke 1", "Skranke 2"]


def test_close_counter_holding_a_citizen_is_refused(rec, cw):
    arrived(rec)
    cw.post("/sites/test/counters/1/call-next")
    r = cw.post("/sites/test/counters/1/close")
    assert r.status_code == 409 and r.json()["code"] == "counter_busy"


def test_kiosk_checks_in_by_booking_ref(rec, as_role):
    v = book(rec)
    kiosk = as_role("kiosk", "kiosk-entrance")
    r = kiosk.post("/sites/test/check-in", json={"booking_ref": v["booking_ref"].lower()})
    assert r.status_code == 200 and r.json()["state"] == "waiting"
    r = kiosk.post("/sites/test/check-in", json={"booking_ref": "ZZZZZZZZ"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_booking"


def test_check_in_on_another_day_is_refused(rec):
    start = (T0 + timedelta(days=1)).isoformat()
    v = rec.post("/sites/test/bookings", json={"errand": "mitid", "start": start,
                                               "name": "Tomorrow"}).json()
    r = rec.post(f"/visits/{v['id']}/check-in")
    assert r.status_code == 409 and r.json()["code"] == "not_today"


def test_reveal_cpr_is_audited(rec, ctx):
    from sqlalchemy import select

    from backend.storage.models import AuditRow

    v = book(rec)
    r = rec.post(f"/visits/{v['id']}/cpr")
    assert r.json()["cpr"] == "010190-1234"
    with ctx.db.read() as s:
        actions = s.scalars(select(AuditRow.action).where(AuditRow.visit_id == v["id"])).all()
    assert "reveal_cpr" in actions


def test_day_snapshot_and_board(rec, cw, as_role):
    arrived(rec)
    arrived(rec, name="B")
    book(rec, minutes_from_now=60, name="C")
    cw.post("/sites/test/counters/1/call-next")
    day = rec.get("/sites/test/day").json()
    assert day["date"] == "2026-11-24" and day["seq"] > 0
    ranks = [v["queue_rank"] for v in day["visits"] if v["state"] == "waiting"]
    assert ranks == [1]
    board = as_role("display", "screen").get("/sites/test/board").json()
    assert board["called"] == [{"ticket": "B001", "counter": "Skranke 1",
                                "called_at": board["called"][0]["called_at"], "call_count": 1}]
    assert board["waiting"] == 1
    assert "citizen" not in str(board)


@pytest.mark.parametrize("path", ["/errands", "/sites", "/me"])
def test_meta_endpoints(rec, path):
    assert rec.get(path).status_code == 200
