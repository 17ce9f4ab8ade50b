"""Bad input gets a clear JSON error with a stable code and loses nothing; never a 500."""

from __future__ import annotations

import pytest

from .test_api_visits import arrived, book


def test_malformed_json(rec):
    r = rec.c.post("/sites/test/walk-ins", content=b'{"errand": "mitid", "name": ',
                   headers={**rec.h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


@pytest.mark.parametrize("body, field", [
    ({"errand": "mitid", "name": "A", "colour": "red"}, "body.colour"),
    ({"errand": "mitid", "name": 5}, "body.name"),
    ({"errand": "mitid"}, "body.name"),
    ({"errand": "mitid", "name": "A", "phone": "call me"}, "body.phone"),
    ({"errand": "mitid", "name": "A", "documents": {"photo_id": "maybe"}}, "body.documents"),
    ({"errand": "mitid", "name": "A", "priority": "high"}, "body.priority"),
])
def test_unknown_fields_and_wrong_types_are_422(rec, body, field):
    r = rec.post("/sites/test/walk-ins", json=body)
    assert r.status_code == 422, r.text
    j = r.json()
    assert j["code"] == "invalid_request" and any(e["field"].startswith(field)
                                                  for e in j["errors"])
    assert j["message"]


def test_unknown_ids_are_404(rec, sup):
    assert rec.get("/visits/424242").json()["code"] == "unknown_visit"
    r = sup.post("/sites/nowhere/counters/1/open")
    assert r.status_code == 404 and r.json()["code"] == "unknown_site"
    r = sup.post("/sites/test/counters/99/open")
    assert r.status_code == 404 and r.json()["code"] == "unknown_counter"
    r = rec.get("/bookings/ZZZZZZZZ")
    assert r.status_code == 404 and r.json()["code"] == "unknown_booking"
    r = rec.post("/sites/test/walk-ins", json={"errand": "teleport", "name": "A"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_errand"


@pytest.mark.parametrize("path", ["/visits/abc", "/visits/-1", "/visits/99999999999999999999"])
def test_bad_path_values_are_422(rec, path):
    r = rec.get(path)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_unknown_route_and_method_are_json(rec):
    r = rec.get("/no/such/thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = rec.c.request("DELETE", "/sites/test/day", headers=rec.h)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_bad_headers(rec):
    v = arrived(rec)
    r = rec.put(f"/visits/{v['id']}/documents/old_passport", json={"status": "present"},
                headers={"If-Match": "yesterday"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_if_match"
    r = rec.post(f"/visits/{v['id']}/notes", json={"text": "x"},
                 headers={"X-Occurred-At": "last tuesday"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_occurred_at"
    r = rec.post(f"/visits/{v['id']}/notes", json={"text": "x"},
                 headers={"Idempotency-Key": "a" * 300})
    assert r.status_code == 400 and r.json()["code"] == "invalid_idempotency_key"


def test_failed_change_leaves_state_untouched(rec, ctx):
    v = arrived(rec)
    before = rec.get(f"/visits/{v['id']}").json()
    r = rec.post(f"/visits/{v['id']}/check-in")
    assert r.status_code == 409
    after = rec.get(f"/visits/{v['id']}").json()
    assert after == before


def test_idempotency_same_key_same_answer_one_effect(rec, ctx):
    from sqlalchemy import func, select

    from backend.storage.models import VisitRow

    body = {"errand": "health_card", "name": "Idem Potent"}
    h = {"Idempotency-Key": "walkin-123"}
    first = rec.post("/sites/test/walk-ins", json=body, headers=h)
    second = rec.post("/sites/test/walk-ins", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(VisitRow)) == 1
    other = rec.post("/sites/test/walk-ins", json={**body, "name": "Other"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_token(as_role, ctx):
    a, b = as_role("reception"), as_role("reception")
    body = {"errand": "health_card", "name": "X"}
    h = {"Idempotency-Key": "same"}
    assert a.post("/sites/test/walk-ins", json=body, headers=h).json()["ticket"] == "C001"
    assert b.post("/sites/test/walk-ins", json=body, headers=h).json()["ticket"] == "C002"


def test_idempotency_keys_kept_48_hours_then_purged(rec, ctx):
    from sqlalchemy import func, select

    from backend.services.tick import tick
    from backend.storage.models import IdempotencyRow

    rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "K"})
    ctx.clock.advance(hours=47)
    tick(ctx)
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRow)) == 1
    ctx.clock.advance(hours=2)
    tick(ctx)
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRow)) == 0


def test_occurred_at_is_recorded_beside_server_time(rec, ctx):
    from sqlalchemy import select

    from backend.storage.models import AuditRow, NoteRow

    v = arrived(rec)
    rec.post(f"/visits/{v['id']}/notes", json={"text": "offline"},
             headers={"X-Occurred-At": "2026-11-24T09:55:00+01:00"})
    with ctx.db.read() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "note")).one()
        note = s.scalars(select(NoteRow)).one()
    assert audit.occurred_at.isoformat() == "2026-11-24T08:55:00+00:00"
    assert audit.at.isoformat() == "2026-11-24T09:00:00+00:00"
    assert note.occurred_at == audit.occurred_at


def test_booking_rules(rec, ctx):
    r = rec.post("/sites/test/bookings", json={"errand": "mitid", "name": "A",
                                               "start": "2026-11-24T09:00:00+01:00"})
    assert r.status_code == 422 and r.json()["code"] == "time_passed"
    r = rec.post("/sites/test/bookings", json={"errand": "mitid", "name": "A",
                                               "start": "2026-11-24T10:02:00+01:00"})
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable"
    r = rec.post("/sites/test/bookings", json={"errand": "mitid", "name": "A",
                                               "start": "2026-11-24T10:00:00"})
    assert r.status_code == 422  # a time without its offset is ambiguous
    for _ in range(4):  # capacity 4 per slot
        book(rec, minutes_from_now=30, name="Full")
    r = rec.post("/sites/test/bookings", json={"errand": "mitid", "name": "A",
                                               "start": "2026-11-24T10:30:00+01:00"})
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable"
