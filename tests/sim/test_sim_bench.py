"""bench/simulate.py (issue 21: 1,000 days of 6 counters per policy in at most 60 s) runs and
says its figures and its verdict; a few days here, the real run is docs/chance-queue.md's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulator_bench_reports_each_policy_the_optimum_and_the_verdict():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "simulate.py"), "--days", "3",
                        "--jobs", "1", "--hindsight-days", "1"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "3 days of 6 counters, 1 processes" in r.stdout
    for policy in ("booking", "naive", "planner"):
        line = next(x for x in lines if x.startswith(policy))
        assert "ms/day" in line and "CPU" in line and "walk-ins served/day" in line
    assert any(x.startswith("hindsight") and "for 1 days" in x for x in lines)
    # the target scales with the days asked for: 60 s for 1,000, 0.18 s for 3
    assert lines[-1].startswith("slowest policy") and "against the target 0.2 s" in lines[-1]
    assert lines[-1].endswith(("met", "NOT met"))


def test_the_same_decisions_check_compares_two_checkouts_day_by_day_and_state_by_state():
    """bench/sim_same.py (a speed change must not change a decision): this checkout against
    itself agrees on every day and every day state, and says how many it compared."""
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "sim_same.py"), "--backend",
                        str(ROOT), "--days", "3", "--states-days", "1", "--every", "10"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^planner q=0.8 p=20 +3 days, 0 differ", r.stdout, re.M)
    assert re.search(r"^naive q=0.8 p=20 +1 days, 0 differ", r.stdout, re.M)
    assert "day states (" in r.stdout and "fit answers" in r.stdout
    assert r.stdout.rstrip().endswith("the same decisions")
