"""`make bench`: every benchmark, one after the other, printing its figures.

Results go into docs/performance.md by hand, with the command that produced them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHES = [
    ["backend_load.py", "--rate", "200", "--seconds", "30"],
    ["backend_load.py", "--rate", "100", "--seconds", "30"],
    ["write_path.py", "300"],
    ["console_latency.py", "--visits", "2000"],
    ["planner.py", "--visits", "2000", "--counters", "20", "--decisions", "200", "--plans", "50"],
]

if __name__ == "__main__":
    failed = 0
    for args in BENCHES:
        print(f"\n$ python bench/{' '.join(args)}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / args[0]), *args[1:]]) != 0
    sys.exit(1 if failed else 0)
