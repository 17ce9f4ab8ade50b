"""The booking calendar, opening hours, Danish holidays, and settings validation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.domain import calendar
from backend.settings import SettingsError, load_settings

from .helpers import CPH, T0, site_dict
from .test_api_visits import book


def dt(h, m=0):
    return datetime(2026, 11, 24, h, m, tzinfo=CPH)


def test_free_times_respect_capacity_and_consecutive_slots():
    windows = [(dt(9), dt(10))]
    bookings = [(dt(9, 10), 10)] * 2  # two booked over 9:10–9:20
    free = calendar.free_times(windows, 5, 2, bookings, 10)
    assert dt(9, 0) in free and dt(9, 5) not in free and dt(9, 10) not in free
    assert dt(9, 20) in free
    assert dt(9, 55) not in free  # a 10-minute errand does not fit before closing
    assert calendar.slots_needed(12, 5) == 3


def test_free_times_api_and_booking_takes_a_slot(rec):
    day = "2026-11-24"
    r = rec.get("/sites/test/free-times", params={"errand": "mitid", "date": day}).json()
    assert r["minutes"] == 15 and r["times"][0].startswith("2026-11-24T10:00")
    assert all(t >= "2026-11-24T10:00" for t in r["times"])
    for _ in range(4):
        book(rec, minutes_from_now=0, errand="health_card")
    r = rec.get("/sites/test/free-times", params={"errand": "mitid", "date": day}).json()
    assert not r["times"][0].startswith("2026-11-24T10:00")


def test_move_and_cancel_booking_via_booking_system(as_role):
    ext = as_role("booking", "citizen-portal")
    v = book(ext, minutes_from_now=60)
    ref = v["booking_ref"]
    tomorrow = (T0 + timedelta(days=1, hours=1)).isoformat()
    moved = ext.patch(f"/bookings/{ref}", json={"start": tomorrow}).json()
    assert moved["day"] == "2026-11-25" and moved["slot_start"].startswith("2026-11-25T11:00")
    assert moved["ticket"] == "B001"
    r = ext.delete(f"/bookings/{ref}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = ext.delete(f"/bookings/{ref}")
    assert r.status_code == 409 and r.json()["state"] == "cancelled"


def test_closed_days_refuse_bookings(tmp_path):
    s = load_settings(None, sites=[site_dict(public_holidays=True,
                                             closed_on_customary_days=True,
                                             closed_dates=["2026-11-27"])])
    site = s.sites[0]
    assert site.closed_reason(date(2026, 12, 25)) == "Juledag"
    assert site.closed_reason(date(2026, 12, 24)) == "Juleaftensdag"
    assert site.closed_reason(date(2027, 3, 26)) == "Langfredag"
    assert site.closed_reason(date(2026, 11, 27)) == "Lukket"
    assert site.closed_reason(date(2026, 11, 24)) is None
    assert site.windows(date(2026, 12, 25)) == []
    assert site.open_days(date(2026, 12, 23), 3) == [date(2026, 12, 23), date(2026, 12, 27),
                                                     date(2026, 12, 28)]


def test_weekday_without_hours_is_closed():
    s = load_settings(None, sites=[site_dict(hours={"mon": "09:00-12:00, 13:00-15:00"})])
    site = s.sites[0]
    assert site.closed_reason(date(2026, 11, 24)) == "Lukket (ugedag)"
    assert len(site.windows(date(2026, 11, 23))) == 2


@pytest.mark.parametrize("toml, words", [
    ('port = "eighty"', ["port"]),
    ("[[sites]]\nid = 'Bad Id'\nname = 'x'", ["sites.0.id"]),
    ("[[sites]]\nid = 'a'\nname = 'x'\nhours = { mon = '15:00-09:00' }", ["closes before"]),
    ("[[sites]]\nid = 'a'\nname = 'x'\nhours = { funday = '09:00-10:00' }", ["funday"]),
    ("[[sites]]\nid = 'a'\nname = 'x'\ntimezone = 'Mars/Olympus'", ["time zone"]),
    ("[[sites]]\nid = 'a'\nname = 'x'\ncolour = 'red'", ["colour"]),
    ("idempotency_hours = 1", ["idempotency_hours"]),
    ("this is = not toml", ["not valid TOML"]),
])
def test_bad_settings_name_file_and_key(tmp_path, toml, words):
    path = tmp_path / "site.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    text = str(exc.value)
    assert str(path) in text
    for w in words:
        assert w in text


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = tmp_path / "site.toml"
    path.write_text("port = 9000\n")
    assert load_settings(path).port == 9000
    monkeypatch.setenv("SKRANKE_PORT", "9100")
    assert load_settings(path).port == 9100
    monkeypatch.setenv("SKRANKE_SITES", '[{"id": "odense", "name": "Borgerservice Odense"}]')
    assert load_settings(path).sites[0].id == "odense"


def test_shipped_defaults_load():
    s = load_settings(None)
    assert s.sites[0].counters == 6 and s.idempotency_hours >= 48


def test_catalogue_has_real_errands():
    from backend.catalogue import load_catalogue

    cat = load_catalogue()
    codes = set(cat.by_code)
    assert len(codes) >= 12
    assert {"passport_adult", "passport_child", "driving_licence_renewal",
            "driving_licence_exchange", "health_card", "mitid", "change_of_address",
            "name_change", "pension", "ehic_card", "residence_documents"} <= codes
    for e in cat.errand:
        assert e.name_da and e.name_en and e.minutes > 0 and e.documents
        if e.phone or e.self_service:
            assert e.hint_da and e.hint_en


def test_bad_catalogue_is_refused(tmp_path):
    from backend.catalogue import CatalogueError, load_catalogue

    p = tmp_path / "errands.toml"
    p.write_text('[[errand]]\ncode = "x"\nname_da = "a"\nname_en = "b"\nminutes = 0\n')
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(p)
    assert "minutes" in str(exc.value) and str(p) in str(exc.value)
