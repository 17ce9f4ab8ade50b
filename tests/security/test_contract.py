"""The contract: Schemathesis (`--checks all`) against a live server, once per role; zero
failures. Kept short (a few examples per operation) so it fits in a couple of minutes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROLES = ("caseworker", "reception", "supervisor", "kiosk", "display", "admin", "booking")
#: The supervisor reaches the most operations: every phase (the coverage phase tries each
#: schema's edges, a minute on its own). The others: fuzzing, a few examples each.
EVERY_PHASE = ("supervisor",)
CONFIG = Path(__file__).with_name("schemathesis.toml")
DEVICES = ("kiosk", "display")


def _st() -> str:
    exe = Path(sys.executable).with_name("st")
    if exe.exists():
        return str(exe)
    found = shutil.which("st")
    if not found:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing_for_any_role(served, tmp_path):
    # Schemathesis sends wrong tokens on purpose (its `ignored_auth` check): the throttle
    # of failed authentications is tested in test_tokens.py, here it would refuse the rest
    srv = served(auth_failures_allowed=1000)
    st = _st()
    summaries = {}
    for role in ROLES:
        # a device's real bearer token (`token create --bearer`), not its pairing URL: the
        # kiosk and the display are the roles a stranger in the waiting room can reach
        secret = srv.token(role, f"st-{role}", *(("--bearer",) if role in DEVICES else ()))
        p = subprocess.run(
            [st, "--config-file", str(CONFIG), "run", f"{srv.url}/openapi.json",
             "--checks", "all", "-H", f"Authorization: Bearer {secret}",
             "--max-examples", "3", "--phases",
             "examples,coverage,fuzzing" if role in EVERY_PHASE else "fuzzing",
             "--generation-database", "none", "--seed", "27", "--no-shrink",
             "--request-timeout", "20"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
        out = p.stdout + p.stderr
        (tmp_path / f"st-{role}.txt").write_text(out)
        last = [line for line in out.splitlines() if re.search(r"=+ .* in [0-9.]+s =+", line)]
        cases = [line.strip() for line in out.splitlines() if " generated" in line]
        summaries[role] = (" ".join(cases[-1:]) + "; " + last[-1].strip("= ")) if last \
            else out[-400:]
        assert p.returncode == 0, f"{role}: {summaries[role]}\n{out[-6000:]}"
    print("\n".join(f"schemathesis {role}: {s}" for role, s in summaries.items()))
