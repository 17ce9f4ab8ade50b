"""Statistics against a hand-built day whose figures are worked out by hand here."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, datetime

import pytest
import tomlkit

from backend.services import stats as statslib
from backend.storage.models import CounterRow, VisitRow

from .helpers import CPH, T0, make_ctx, site_dict

DAY = date(2026, 11, 24)
#: What a staffed counter hour costs at the test site (the idle minutes' value).
STAFF_HOUR_DKK = 450


@pytest.fixture
def ctx(tmp_path):
    c = make_ctx(tmp_path, staff_hour_dkk=STAFF_HOUR_DKK)
    yield c
    c.db.dispose()


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 11, 24, hh, mm, tzinfo=CPH)


def visit(**kw) -> VisitRow:
    base = dict(site_id="test", day=DAY, ticket="X", ticket_seq=0, errand="passport_adult",
                expected_minutes=10, priority=0, citizen_name="—", documents={},
                call_count=0, created_at=T0, updated_at=T0, version=1)
    base.update(kw)
    return VisitRow(**base)


def build(ctx) -> None:
    """Five booked (one no-show, one cancelled by a pre-call), two walk-ins."""
    with ctx.db.write() as s:
        c1 = s.query(CounterRow).filter_by(site_id="test", number=1).one().id
        rows = [
            # booked 09:00, arrived 08:58, called 09:04, served 09:05-09:17 (12 min)
            visit(ticket="B001", ticket_seq=1, kind="booked", state="done", outcome="served",
                  slot_start=at(9, 0), arrived_at=at(8, 58), called_at=at(9, 4),
                  started_at=at(9, 5), finished_at=at(9, 17), counter_id=c1),
            # booked 09:20, arrived 09:25 (late), called 09:27 -> waited 2
            visit(ticket="B002", ticket_seq=2, kind="booked", state="done",
                  outcome="missing_documents", slot_start=at(9, 20), arrived_at=at(9, 25),
                  called_at=at(9, 27), started_at=at(9, 28), finished_at=at(9, 36),
                  counter_id=c1),
            # booked 09:40, no-show
            visit(ticket="B003", ticket_seq=3, kind="booked", state="no_show",
                  slot_start=at(9, 40)),
            # booked 10:00, arrived 09:50, called 10:10 -> waited 10; referred
            visit(ticket="B004", ticket_seq=4, kind="booked", state="done",
                  outcome="referred", slot_start=at(10, 0), arrived_at=at(9, 50),
                  called_at=at(10, 10), started_at=at(10, 11), finished_at=at(10, 21),
                  counter_id=c1),
            # cancelled after a pre-call: solved by phone
            visit(ticket="B005", ticket_seq=5, kind="booked", state="cancelled",
                  slot_start=at(11, 0), precall={"result": "solved_by_phone"}),
            # walk-ins: arrived 09:00 called 09:30 (30), arrived 10:00 called 10:06 (6)
            visit(ticket="C001", ticket_seq=1, kind="walkin", state="done", outcome="served",
                  errand="health_card", expected_minutes=5, arrived_at=at(9, 0),
                  called_at=at(9, 30), started_at=at(9, 40), finished_at=at(9, 46),
                  counter_id=c1),
            visit(ticket="C002", ticket_seq=2, kind="walkin", state="waiting",
                  errand="health_card", expected_minutes=5, arrived_at=at(10, 0),
                  called_at=at(10, 6)),
        ]
        s.add_all(rows)


def test_figures_by_hand(ctx, sup):
    build(ctx)
    f = sup.ok("get", "/sites/test/stats?from=2026-11-24")
    assert (f["visits"], f["booked"], f["walkins"], f["cancelled"]) == (6, 4, 2, 1)
    assert f["booked_share"] == round(100 * 4 / 6, 1) == 66.7
    assert f["no_show_rate"] == 25.0                       # 1 of 4 booked
    assert f["missing_documents_rate"] == 25.0             # 1 of 4 finished
    assert f["referred_rate"] == 25.0
    # booked waits: 4 (09:00->09:04), 2 (09:25->09:27), 10 (10:00->10:10)
    assert f["waiting_booked"] == {"mean": round(16 / 3, 1), "p90": 10.0, "n": 3}
    assert f["waiting_walkin"] == {"mean": 18.0, "p90": 30.0, "n": 2}
    service = {s["errand"]: s for s in f["service"]}
    assert service["passport_adult"]["mean"] == 10.0 and service["passport_adult"]["n"] == 3
    assert service["health_card"] == {"errand": "health_card", "n": 1, "mean": 6.0,
                                      "expected": 5}
    # Skranke 1 served 12 + 8 + 10 + 6 = 36 minutes of the 8-hour (480 min) day
    assert f["utilisation"] == [{"counter": "Skranke 1", "busy": 36.0, "open": 480.0,
                                 "utilisation": 7.5, "idle": 444.0}]
    # the counters' idle minutes together, and what that staff time cost at DKK 450 an hour
    assert f["idle"] == {"minutes": 444.0, "per_day": 444.0, "dkk": 3330,
                         "staff_hour_dkk": STAFF_HOUR_DKK}
    assert f["precalls"] == {"solved_by_phone": 1}
    hours = {h["hour"]: h for h in f["by_hour"]}
    assert hours[9]["called"] == 3 and hours[8]["arrived"] == 1


def test_idle_minutes_of_several_counters_and_days_and_no_value_without_a_rate():
    def served(counter: int, day: date, minutes: int) -> VisitRow:
        start = datetime.combine(day, at(9, 0).timetz())
        return visit(ticket="B001", ticket_seq=1, kind="booked", state="done",
                     outcome="served", day=day, slot_start=start, arrived_at=start,
                     called_at=start, started_at=start,
                     finished_at=start.replace(minute=minutes) if minutes < 60
                     else start.replace(hour=10), counter_id=counter)

    other = date(2026, 11, 25)
    rows = [served(1, DAY, 30), served(2, DAY, 60), served(1, other, 60)]
    opening = {DAY: 480.0, other: 240.0}
    f = statslib.summarise(rows, {1: "Skranke 1", 2: "Skranke 2"}, opening, CPH, 450)
    # 450 + 420 idle on the first day, 180 on the second (Skranke 2 did not serve then)
    assert f["idle"] == {"minutes": 1050.0, "per_day": 525.0, "dkk": 7875,
                         "staff_hour_dkk": 450}
    f = statslib.summarise(rows, {1: "Skranke 1", 2: "Skranke 2"}, opening, CPH)
    assert f["idle"]["minutes"] == 1050.0 and f["idle"]["dkk"] is None
    assert statslib.summarise([], {}, {}, CPH, 450)["idle"] == {
        "minutes": 0.0, "per_day": None, "dkk": 0, "staff_hour_dkk": 450}


def test_csv_export_equals_the_figures(ctx, sup, tmp_path):
    build(ctx)
    f = sup.ok("get", "/sites/test/stats?from=2026-11-24&to=2026-11-24")
    rows = list(csv.DictReader(io.StringIO(statslib.to_csv(f))))
    got = {(r["section"], r["key"]): r["value"] for r in rows}
    assert got[("total", "booked_share")] == str(f["booked_share"])
    assert got[("waiting_walkin", "p90")] == "30.0"
    assert got[("utilisation", "Skranke 1")] == "7.5"


def test_stats_export_cli(ctx, tmp_path):
    build(ctx)
    out = tmp_path / "s.csv"
    cfg = tmp_path / "server.toml"
    cfg.write_text(tomlkit.dumps({"database_url": ctx.settings.database_url,
                                  "key_file": ctx.settings.key_file,
                                  "sites": [site_dict()]}), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "backend.cli", "--config", str(cfg), "stats",
                        "export", "--from", "2026-11-24", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {"section": "total", "key": "visits", "value": "6"} in rows


def test_only_supervisors_and_a_sane_range(as_role, sup):
    assert as_role("caseworker").get("/sites/test/stats?from=2026-11-24").status_code == 403
    assert as_role("reception").get("/sites/test/stats?from=2026-11-24").status_code == 403
    r = sup.get("/sites/test/stats?from=2026-11-24&to=2026-11-01")
    assert r.status_code == 422 and r.json()["code"] == "invalid_range"


def test_the_statistics_screen_shows_the_figures_and_its_csv_equals_them(
        server, ctx, tmp_path, monkeypatch):
    import asyncio

    import screens.stats as stats_screen

    from .console_ui import console, plain
    from .console_ui import until as wait

    build(ctx)
    monkeypatch.setattr(stats_screen, "export_path",
                        lambda start, end: tmp_path / f"stats-{start}-{end}.csv")
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def go():
        async with app.run_test(size=(120, 36)) as pilot:
            from screens.floor import FloorScreen
            await wait(pilot, lambda: isinstance(app.screen, FloorScreen)
                       and app.connection == "online")
            await pilot.press("t")
            await wait(pilot, lambda: isinstance(app.screen, stats_screen.StatsScreen)
                       and app.screen.figures is not None)
            text = plain(app.screen.query_one("#figures").content)
            await pilot.press("x")
            await wait(pilot, lambda: getattr(app.screen, "exported", None) is not None)
            return text, app.screen.figures, app.screen.exported
    text, figures, path = asyncio.run(go())
    assert "Andel bookede (mål 70 %)" in text and "66,7 %" in text  # Danish decimals
    assert "Ventetid, uden tid: gns. / p90" in text and "18 / 30 min" in text
    assert "Skranke 1" in text and "7,5 %" in text
    assert "Ledige skrankeminutter" in text and "444 min" in text
    assert "Værdi ved 450 kr. i timen" in text and "3.330 kr." in text
    rows = {(r["section"], r["key"]): r["value"]
            for r in csv.DictReader(path.open(encoding="utf-8"))}
    assert rows[("total", "booked_share")] == str(figures["booked_share"])
    assert rows[("waiting_walkin", "mean")] == str(figures["waiting_walkin"]["mean"])
    assert rows[("utilisation", "Skranke 1")] == "7.5"
    assert rows[("idle", "minutes")] == "444.0" and rows[("idle", "dkk")] == "3330"
