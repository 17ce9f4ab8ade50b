"""The clock's automatic transitions, made by the backend and audited like any other."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.services.tick import tick
from backend.storage.models import AuditRow

from .test_api_visits import arrived, book


def test_no_show_after_slot_plus_grace(rec, ctx):
    v = book(rec, minutes_from_now=5)
    ctx.clock.advance(minutes=14)
    assert tick(ctx) == 0
    ctx.clock.advance(minutes=1, seconds=1)
    assert tick(ctx) == 1
    after = rec.get(f"/visits/{v['id']}").json()
    assert after["state"] == "no_show" and after["left_reason"] == "not_arrived"
    with ctx.db.read() as s:
        a = s.scalars(select(AuditRow).where(AuditRow.action == "no_show")).one()
    assert a.actor == "system" and a.detail["automatic"] is True


def test_max_calls_reached_becomes_no_show(rec, cw, ctx):
    arrived(rec)
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    for _ in range(2):
        ctx.clock.advance(seconds=31)
        cw.post(f"/visits/{vid}/recall")
    tick(ctx)
    assert rec.get(f"/visits/{vid}").json()["state"] == "called"
    ctx.clock.advance(seconds=31)
    tick(ctx)
    after = rec.get(f"/visits/{vid}").json()
    assert after["state"] == "no_show" and after["left_reason"] == "max_calls"


def test_closing_the_day(rec, cw, ctx):
    arrived(rec)
    arrived(rec, name="Second")
    vid = cw.post("/sites/test/counters/1/call-next").json()["visit"]["id"]
    cw.post(f"/visits/{vid}/start")
    ctx.clock.set(ctx.clock.now().replace(hour=15, minute=0) + timedelta(minutes=1))
    tick(ctx)
    day = rec.get("/sites/test/day").json()
    states = {v["id"]: (v["state"], v["left_reason"]) for v in day["visits"]}
    assert states[vid] == ("serving", None)  # the caseworker finishes what they started
    assert ("left", "day_closed") in states.values()
    r = rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "Late"})
    assert r.status_code == 409 and r.json()["code"] == "site_closed"


def test_personal_data_is_erased_after_the_retention(rec, ctx, as_role):
    from backend.domain.cpr import keyed_hash
    from backend.services.tick import ERASED, purge_personal_data

    v = arrived(rec, cpr="0101901234")
    rec.post(f"/visits/{v['id']}/notes", json={"text": "Bor på Østergade"})
    ctx.clock.advance(days=30)
    assert purge_personal_data(ctx) == 0  # still within 30 days
    ctx.clock.advance(days=1)
    assert purge_personal_data(ctx) == 1
    after = as_role("reception").get(f"/visits/{v['id']}").json()  # rec's token has expired
    assert after["citizen"] == {"name": ERASED, "cpr": None, "phone": None}
    assert after["notes"] == [] and after["errand"] == "passport_adult"
    with ctx.db.read() as s:
        refs = set(s.scalars(select(AuditRow.citizen_ref).where(
            AuditRow.visit_id == v["id"])))
        purges = s.scalars(select(AuditRow).where(
            AuditRow.action == "purge_personal_data")).all()
    assert keyed_hash("0101901234", ctx.hmac_key) in refs  # still searchable per citizen
    assert len(purges) == 1 and purges[0].actor == "system"
    assert purge_personal_data(ctx) == 0
