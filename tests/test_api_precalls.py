"""The pre-call list and recording calls ahead."""

from __future__ import annotations

from datetime import timedelta

from .helpers import T0


def book(rec, minutes: int, name: str, days: int = 0) -> dict:
    return rec.ok("post", "/sites/test/bookings", {
        "errand": "health_card", "name": name, "phone": "+45 11 22 33 44",
        "start": (T0 + timedelta(days=days, minutes=minutes)).isoformat()}, status=201)


def test_the_list_and_each_result(rec, sup, as_role):
    a, b, c, d = (book(rec, 30, "A"), book(rec, 60, "B"), book(rec, 30, "C", days=1),
                  book(rec, 30, "D", days=2))
    far = book(rec, 30, "Far", days=6)
    listed = rec.ok("get", "/sites/test/precalls")
    assert [v["citizen"]["name"] for v in listed["visits"]] == ["A", "B", "C", "D"]
    assert far["id"] not in {v["id"] for v in listed["visits"]}
    assert listed["visits"][0]["citizen"]["phone"] == "+45 11 22 33 44"
    # solved by phone: cancelled, the slot free again
    free_before = rec.ok("get", f"/sites/test/free-times?errand=health_card&date={T0.date()}")
    v = rec.ok("post", f"/visits/{a['id']}/precall", {"result": "solved_by_phone",
                                                      "note": "Løst i telefonen"})
    assert v["state"] == "cancelled" and v["precall"]["result"] == "solved_by_phone"
    free_after = rec.ok("get", f"/sites/test/free-times?errand=health_card&date={T0.date()}")
    assert len(free_after["times"]) >= len(free_before["times"])
    assert a["slot_start"] in free_after["times"]
    # needs the visit: prepared notes the caseworker will read
    v = sup.ok("post", f"/visits/{b['id']}/precall", {
        "result": "needs_visit", "prepared_notes": "Husk gammelt pas"})
    assert (v["state"], v["prepared_notes"]) == ("booked", "Husk gammelt pas")
    # not reached: stays on the list, attempts counted
    v = rec.ok("post", f"/visits/{c['id']}/precall", {"result": "not_reached"})
    assert v["precall"]["attempts"] == 1
    v = rec.ok("post", f"/visits/{d['id']}/precall", {"result": "self_service"})
    assert v["state"] == "cancelled"
    listed = rec.ok("get", "/sites/test/precalls")
    assert [x["citizen"]["name"] for x in listed["visits"]] == ["C"]
    assert (listed["called"], listed["solved"]) == (3, 2)
    # a cancelled visit cannot be called ahead again; caseworkers may not at all
    r = rec.post(f"/visits/{a['id']}/precall", {"result": "needs_visit"})
    assert r.status_code == 409 and r.json()["code"] == "not_precallable"
    cw = as_role("caseworker")
    assert cw.get("/sites/test/precalls").status_code == 403
    assert cw.post(f"/visits/{c['id']}/precall", {"result": "not_reached"}).status_code == 403
    assert rec.post(f"/visits/{c['id']}/precall", {"result": "maybe"}).status_code == 422
