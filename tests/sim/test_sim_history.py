"""`simulate --from-history` (issue 21): parameters measured from the visit facts of a
backend that has run a demo day reproduce that day's no-show rate and service times within
their sampling error."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from backend.demo import generate
from backend.services.stats import summarise
from backend.sim import history, params, world
from backend.storage.models import VisitRow

from ..helpers import CPH, make_ctx

EVENING = datetime(2026, 11, 24, 17, 0, tzinfo=CPH)  # the demo day played out to closing


def test_from_history_reproduces_the_demo_day(tmp_path):
    ctx = make_ctx(tmp_path, start=EVENING, staff_hour_dkk=520)
    generate(ctx, seed=4, now=EVENING)
    p = history.measure(ctx, params.default(), 1)
    with ctx.db.read() as s:
        rows = [r for r in s.scalars(select(VisitRow)) if r.day == EVENING.date()]
    site = ctx.settings.sites[0]
    figures = summarise(rows, {}, {EVENING.date(): 480.0}, site.tz)
    assert p.counters >= 1 and p.open.hour == 8 and p.close.hour == 16
    assert p.source.startswith("history test")
    assert p.staff_hour_dkk == 520  # the site's own, not the parameters file's 450
    # the no-show rate
    booked = figures["booked"]
    measured = figures["no_show_rate"] / 100
    sim_booked = [b for i in range(40) for b in world.make(p, 9, i).booked]
    simulated = sum(b.no_show for b in sim_booked) / len(sim_booked)
    se = math.sqrt(measured * (1 - measured) / booked + simulated * (1 - simulated)
                   / len(sim_booked))
    assert abs(simulated - measured) <= 3 * max(se, 0.01), (simulated, measured)
    # the service times of each errand seen often enough
    sims: dict[str, list[float]] = {}
    for i in range(40):
        w = world.make(p, 9, i)
        for x in (*w.booked, *w.walkins):
            sims.setdefault(x.errand, []).append(x.service / 60)
    spent = {}
    for r in rows:
        if r.state == "done" and r.started_at and r.finished_at:
            spent.setdefault(r.errand, []).append(
                (r.finished_at - r.started_at) / timedelta(minutes=1))
    checked = 0
    for s in figures["service"]:
        xs = spent[s["errand"]]
        if len(xs) < 8:
            continue
        got = float(np.mean(sims[s["errand"]]))
        se = float(np.std(xs, ddof=1)) / math.sqrt(len(xs))
        assert abs(got - s["mean"]) <= 3 * se + 0.1, (s, got, se)
        checked += 1
    assert checked >= 3


def test_from_history_on_the_command_line(tmp_path, capsys):
    """The command measures the site of its settings (on the real clock: today's demo)."""
    from backend.cli import main

    now = datetime.now(CPH).replace(hour=17, minute=0, second=0, microsecond=0)
    ctx = make_ctx(tmp_path, start=now)
    generate(ctx, seed=4, now=now)
    ctx.db.dispose()
    hours = ", ".join(f'{d} = "08:00-16:00"' for d in ("mon", "tue", "wed", "thu", "fri",
                                                        "sat", "sun"))
    cfg = tmp_path / "server.toml"
    cfg.write_text(f'database_url = "{ctx.settings.database_url}"\n'
                   f'key_file = "{(tmp_path / "skranke.keys").as_posix()}"\n'
                   '[[sites]]\nid = "test"\nname = "Test"\ncounters = 6\n'
                   'booking_capacity = 4\npublic_holidays = false\n'
                   f'closed_on_customary_days = false\nhours = {{ {hours} }}\n', "utf-8")
    out = tmp_path / "rapport"
    assert main(["--config", str(cfg), "simulate", "--from-history", "1", "--days", "2",
                 "--jobs", "1", "--no-hindsight", "--out", str(out)]) == 0
    text = (out / "rapport.md").read_text("utf-8")
    assert "history test" in text
