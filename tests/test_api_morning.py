"""The backend half of issue 22's morning: undo of a finish, who call next holds back and
why, and a citizen transferred to a busy counter called there first."""

from __future__ import annotations

from .helpers import T0
from .test_api_visits import arrived, book, walkin


def serving(cw):
    v = cw.post("/sites/test/counters/1/call-next").json()["visit"]
    return cw.post(f"/visits/{v['id']}/start").json()


def test_a_finish_is_undone_within_five_minutes_and_audited(rec, cw, ctx, sup):
    arrived(rec)
    v = serving(cw)
    done = cw.post(f"/visits/{v['id']}/finish", json={"outcome": "served"}).json()
    assert done["state"] == "done"
    ctx.clock.advance(minutes=2)
    back = cw.post(f"/visits/{v['id']}/undo-finish")
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "serving" and back.json()["outcome"] is None
    entries = sup.post("/audit/search", json={"user": "anne"}).json()["entries"]
    assert any(e["action"] == "undo_finish" and e["detail"] == {"outcome": "served"}
               for e in entries)
    cw.post(f"/visits/{v['id']}/finish", json={"outcome": "served"})
    ctx.clock.advance(minutes=6)
    late = cw.post(f"/visits/{v['id']}/undo-finish")
    assert late.status_code == 409 and late.json()["code"] == "undo_too_late"


def test_undo_finish_refused_when_the_counter_has_the_next_citizen(rec, cw):
    arrived(rec)
    arrived(rec, minutes_from_now=5, name="Ib Holm")
    v = serving(cw)
    cw.post(f"/visits/{v['id']}/finish", json={"outcome": "served"})
    cw.post("/sites/test/counters/1/call-next")
    r = cw.post(f"/visits/{v['id']}/undo-finish")
    assert r.status_code == 409 and r.json()["code"] == "counter_busy"


def test_call_next_names_the_walk_in_it_holds_back(rec, cw):
    book(rec, minutes_from_now=5)  # a booking in 5 minutes: a 10-minute walk-in waits
    w = walkin(rec, errand="passport_adult")
    r = cw.post("/sites/test/counters/1/call-next").json()
    assert r["visit"] is None
    assert r["held"] == {"id": w["id"], "ticket": w["ticket"]}
    assert r["next_booking_at"].startswith((T0.replace(minute=5)).isoformat()[:16])


def test_a_transferred_walk_in_is_called_first_at_the_busy_counter(rec, cw, as_role):
    two = as_role("caseworker", "bo")
    assert two.post("/sites/test/counters/2/open").status_code == 200
    w = walkin(rec)
    v = cw.post("/sites/test/counters/1/call-next").json()["visit"]
    assert v["id"] == w["id"]
    cw.post(f"/visits/{v['id']}/start")
    for minutes in range(0, 30, 10):  # booked citizens keep coming, due, at Skranke 2
        arrived(rec, minutes_from_now=minutes, name=f"Booked {minutes}")
    cw.post(f"/visits/{v['id']}/transfer", json={"counter": 2, "errand": None})
    r = two.post("/sites/test/counters/2/call-next").json()
    assert r["visit"]["id"] == w["id"] and r["reason"] == "assigned"


def _free_time(cw, errand: str) -> str:
    day = cw.get("/sites/test/free-times", params={"date": T0.date().isoformat(),
                                                   "errand": errand}).json()
    return day["times"][-1]


def test_undoing_a_finish_cancels_the_rebooking_it_made(rec, cw, ctx, sup):
    arrived(rec)
    v = serving(cw)
    at = _free_time(cw, v["errand"])
    done = cw.post(f"/visits/{v['id']}/finish", json={
        "outcome": "missing_documents", "note": "Medbring gammelt pas", "rebook_at": at})
    assert done.status_code == 200, done.text
    booking = done.json()["rebooking"]
    assert booking["state"] == "booked" and booking["slot_start"][:16] == at[:16]
    assert rec.get(f"/bookings/{booking['booking_ref']}").json()["citizen"]["name"] == \
        v["citizen"]["name"]
    ctx.clock.advance(minutes=2)
    back = cw.post(f"/visits/{v['id']}/undo-finish")
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "serving"
    assert back.json()["rebooking"]["state"] == "cancelled"
    assert rec.get(f"/bookings/{booking['booking_ref']}").json()["state"] == "cancelled"
    entries = sup.post("/audit/search", json={"user": "anne"}).json()["entries"]
    assert any(e["action"] == "undo_finish" and e["detail"] == {
        "outcome": "missing_documents", "cancelled_booking": booking["booking_ref"]}
        for e in entries)


def test_a_finish_that_is_not_for_missing_documents_does_not_rebook(rec, cw):
    arrived(rec)
    v = serving(cw)
    r = cw.post(f"/visits/{v['id']}/finish", json={
        "outcome": "served", "rebook_at": _free_time(cw, v["errand"])})
    assert r.status_code == 422 and r.json()["code"] == "rebook_needs_missing_documents"
    assert rec.get(f"/visits/{v['id']}").json()["state"] == "serving"

