"""Reception's search: today's visits by name or CPR, in a POST body."""

from __future__ import annotations

from .console_ui import seed_day


def test_search_by_name_and_by_cpr(rec, cw, as_role):
    seed_day(rec)
    by_name = rec.ok("post", "/sites/test/search", {"name": "carl"})
    assert [v["citizen"]["name"] for v in by_name] == ["Carl Nielsen"]
    by_cpr = rec.ok("post", "/sites/test/search", {"cpr": "010190-1234"})
    assert [v["ticket"] for v in by_cpr] == ["B001"]
    assert by_cpr[0]["citizen"]["cpr"] == "010190-XXXX"  # masked in the answer
    assert rec.ok("post", "/sites/test/search", {"name": "nobody"}) == []


def test_search_refuses_both_none_and_bad_cpr_and_kiosks(rec, as_role):
    r = rec.post("/sites/test/search", {"name": None, "cpr": None})
    assert r.status_code == 422 and r.json()["code"] == "invalid_search"
    r = rec.post("/sites/test/search", {"cpr": "991399-1234"})
    assert r.status_code == 422 and "991399" not in r.text
    kiosk = as_role("kiosk")
    assert kiosk.post("/sites/test/search", {"name": "carl"}).status_code == 403
