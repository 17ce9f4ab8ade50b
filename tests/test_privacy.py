"""No response, event, log line or error message carries a full CPR number."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from backend.logs import scrub
from backend.storage.models import AuditRow, EventRow

from .test_api_visits import arrived

CPRS = ["0101901234", "311299-4321", "1506551111"]
FULL = re.compile(r"0101901234|010190-1234|3112994321|311299-4321|1506551111|150655-1111")


def test_no_full_cpr_anywhere(rec, cw, sup, ctx, caplog, client):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def keep(r):
        seen.append(r.text)
        seen.extend(f"{k}: {v}" for k, v in r.headers.items())
        return r

    for i, cpr in enumerate(CPRS):
        v = arrived(rec, name=f"Borger {i}", cpr=cpr)
        keep(rec.get(f"/visits/{v['id']}"))
        keep(rec.get(f"/bookings/{v['booking_ref']}"))
    w = keep(rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "W",
                                                    "cpr": "1506551111"})).json()
    vid = keep(cw.post("/sites/test/counters/1/call-next")).json()["visit"]["id"]
    keep(cw.post(f"/visits/{vid}/start"))
    keep(cw.post(f"/visits/{vid}/finish", json={"outcome": "served"}))
    keep(rec.get("/sites/test/day"))
    keep(sup.post(f"/visits/{w['id']}/priority", json={"priority": 1}))
    # invalid CPRs are refused without being repeated
    for bad in ("3213901234", "01019012345", "0101901234 OR 1=1"):
        r = keep(rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "X",
                                                        "cpr": bad}))
        assert r.status_code == 422 and bad not in r.text
    # wrong type: pydantic would echo the input; our errors never do
    r = keep(rec.post("/sites/test/walk-ins", json={"errand": "mitid", "name": "X",
                                                    "cpr": 101901234}))
    assert r.status_code == 422 and "101901234" not in r.text
    for text in seen:
        assert not FULL.search(text), text[:300]
    with ctx.db.read() as s:
        events = [str(e.data) for e in s.scalars(select(EventRow))]
        audit = [str(a.detail) + str(a.citizen_ref) for a in s.scalars(select(AuditRow))]
    assert events and not any(FULL.search(e) or "Borger" in e for e in events)
    assert not any(FULL.search(a) for a in audit)
    assert not any(FULL.search(r.getMessage()) for r in caplog.records)


def test_revealing_is_the_only_way_to_see_it(rec):
    v = arrived(rec, cpr="0101901234")
    assert rec.get(f"/visits/{v['id']}").json()["citizen"]["cpr"] == "010190-XXXX"
    assert rec.post(f"/visits/{v['id']}/cpr").json()["cpr"] == "010190-1234"


def test_log_filter_scrubs_cpr_from_any_message(caplog):
    from backend.logs import install

    install()
    log = logging.getLogger("skranke.test")
    with caplog.at_level(logging.INFO):
        log.info("looked up %s and 311299-4321", "0101901234")
    assert "0101901234" not in caplog.text and "4321" not in caplog.text
    assert scrub("x 010190-1234 y") == "x 010190-XXXX y"


@pytest.mark.parametrize(("msg", "args"), [
    ("request %s %s for %s: %d", ("POST", "/visits/3/cpr", "0101901234", 200)),
    ("%(who)s at %(where)s", {"who": "2912991234", "where": "Skranke 3"}),
    ("cpr 010190-1234 in the message itself", ()),
    ("%s - \"%s %s HTTP/%s\" %d", ("127.0.0.1:5555", "GET", "/x?cpr=0101901234", "1.1", 200)),
])
def test_the_log_filter_scrubs_a_cpr_wherever_the_record_holds_it(msg, args):
    from backend.logs import _FILTER

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    log = logging.getLogger(f"skranke.test.filter.{len(msg)}")
    handler = Keep()
    for where in (log, handler):  # as install() puts it: on the logger and its handlers
        where.addFilter(_FILTER)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info(msg, args) if isinstance(args, dict) else log.info(msg, *args)
    finally:
        log.removeHandler(handler)
    assert len(lines) == 1 and not FULL.search(lines[0]) and "1234" not in lines[0]


def test_the_log_filter_leaves_text_without_a_cpr_as_it_was(caplog):
    from backend.logs import install

    install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("skranke.test").info("visit %s at %s: 12345 and 2026-12-02", 17,
                                               "Skranke 3")
    assert "visit 17 at Skranke 3: 12345 and 2026-12-02" in caplog.text


def test_audit_refers_to_citizen_by_keyed_hash(rec, ctx):
    from backend.domain.cpr import keyed_hash

    v = arrived(rec, cpr="0101901234")
    with ctx.db.read() as s:
        refs = {a.citizen_ref for a in s.scalars(select(AuditRow).where(
            AuditRow.visit_id == v["id"]))}
    assert refs == {keyed_hash("0101901234", ctx.hmac_key)}


def test_audit_log_is_append_only(rec, ctx):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    arrived(rec)
    with pytest.raises(DatabaseError), ctx.db.write() as s:
        s.execute(text("UPDATE audit SET actor = 'x'"))
    with pytest.raises(DatabaseError), ctx.db.write() as s:
        s.execute(text("DELETE FROM audit"))
