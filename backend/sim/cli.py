"""`skranke-server simulate`: the chance-queue study from the command line."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .params import Params

# everything else (the parameters, numpy, HiGHS, matplotlib) is imported when the command
# runs, so that `skranke-server serve` loads none of it


def add_parser(sub) -> None:
    s = sub.add_parser(
        "simulate", help="the chance-queue study: simulated days, policies, a report",
        description="Simulate Borgerservice days through the server's own rules and compare "
                    "booking only, naive walk-ins and the planner against the hindsight "
                    "optimum; writes a report (Markdown, PNG) and prints a summary.")
    s.add_argument("params", nargs="?", help="parameters file (TOML; see "
                   "backend/sim/default.toml for every key); default: the shipped defaults")
    s.add_argument("--days", type=int, default=100, help="simulated days (default 100)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--policies", default="booking,naive,planner",
                   help="comma-separated: booking, naive, planner (booking is always run: "
                        "it is every day's baseline)")
    s.add_argument("--sweep", action="store_true",
                   help="also the planner at every pair of the sweep's duration_quantile and "
                        "passed_over_minutes (the trade-off table)")
    s.add_argument("--what-if", action="store_true",
                   help="the same days with one counter fewer and more, and one booking "
                        "capacity less")
    s.add_argument("--no-show-sweep", action="store_true",
                   help="the same days with 0, 10 and 20 %% no-shows (in the what-if table)")
    s.add_argument("--from-history", type=int, metavar="DAYS",
                   help="measure the parameters from the backend's last DAYS recorded days "
                        "(uses --config / --database-url like the other commands)")
    s.add_argument("--site", help="the site for --from-history (default: the first)")
    s.add_argument("--walkins-per-hour", type=float,
                   help="override: walk-ins an hour per counter")
    s.add_argument("--no-show", type=float, help="override: the no-show share (0-1)")
    s.add_argument("--no-hindsight", action="store_true", help="skip the hindsight optimum")
    s.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)),
                   help="processes (default: up to 2)")
    s.add_argument("--out", default="simulation", help="report folder (default ./simulation)")
    s.add_argument("--lang", choices=("da", "en"), default="da")
    s.set_defaults(func=cmd_simulate)


def load_params(args: argparse.Namespace) -> Params:
    from . import params as params_mod

    p = params_mod.load(args.params)
    if args.from_history:
        from ..cli import build_context
        from .history import measure

        ctx = build_context(args)
        p = measure(ctx, p, args.from_history, args.site)
    if args.walkins_per_hour is not None:
        p = p.with_(walkins_per_hour_per_counter=args.walkins_per_hour)
    if args.no_show is not None:
        p = p.with_(no_show=args.no_show)
    return p


def variants(p: Params) -> list[tuple[str, Params, int]]:
    """What-if variants on the same days: (label key, params, counters). The walk-ins stay
    the same citizens (their rate is kept per site, not per counter)."""
    out = []
    total = p.walkins_per_hour_per_counter * p.counters
    for n in (p.counters - 1, p.counters + 1):
        if n >= 1:
            q = p.with_(booking_capacity=min(p.booking_capacity, n))
            out.append((("counters", n), q.with_(walkins_per_hour_per_counter=total / p.counters),
                        n))
    if p.booking_capacity > 1:
        n = p.booking_capacity - 1
        out.append((("capacity", n), p.with_(booking_capacity=n), p.counters))
    return out


def cmd_simulate(args: argparse.Namespace) -> int:
    from . import report, study

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    try:
        p = load_params(args)
    except (OSError, ValueError) as exc:
        print(f"skranke-server simulate: {exc}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.policies.split(",") if n.strip()]
    try:
        pols = study.policies(p, names, args.sweep)
    except ValueError as exc:
        print(f"skranke-server simulate: {exc}", file=sys.stderr)
        return 2
    headline = "planner" if "planner" in names else pols[-1].name
    main = study.run(p, args.days, args.seed, pols, optimum=not args.no_hindsight,
                     jobs=args.jobs, progress=study.Progress(args.days))
    whatifs = []
    if args.what_if or args.no_show_sweep:
        from .texts import t

        small = [pol for pol in pols if pol.name in ("booking", headline)]
        todo = variants(p) if args.what_if else []
        if args.no_show_sweep:
            todo += [(("no_show", round(100 * x)), p.with_(no_show=x), p.counters)
                     for x in (0.0, 0.10, 0.20)]
        for (key, n), q, counters in todo:
            label = t(key, args.lang, n=n)
            st = study.run(q, args.days, args.seed, small, optimum=not args.no_hindsight,
                           jobs=args.jobs, progress=study.Progress(args.days, f"{label}: "),
                           counters=counters)
            whatifs.append((label, st))
    command = ("skranke-server " + " ".join(shlex.quote(a) for a in sys.argv[1:])
               if "simulate" in sys.argv[1:] else "skranke-server simulate")
    path = report.write(main, Path(args.out), args.lang, command, whatifs)
    print(report.terminal(main, args.lang, whatifs, headline))
    print(f"\n{path}")
    return 0
