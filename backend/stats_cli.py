"""`skranke-server stats export`: the statistics of a date range as CSV, of one site or of
every site of the municipality and all of them together."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def cmd_stats(args: argparse.Namespace) -> int:
    """`stats export`: the statistics of a date range as CSV (stdout or --out)."""
    from .cli import build_context
    from .services.stats import municipality, municipality_csv, stats, to_csv

    ctx = build_context(args)
    start = date.fromisoformat(args.from_)
    end = date.fromisoformat(args.to) if args.to else start
    with ctx.db.read() as s:
        if args.all_sites:
            text = municipality_csv(municipality(s, ctx, start, end))
        else:
            text = to_csv(stats(s, ctx, ctx.site(args.site or ctx.settings.sites[0].id).id,
                                start, end))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def add_stats_parser(sub) -> None:
    st = sub.add_parser("stats", help="statistics of the anonymised visit facts")
    stsub = st.add_subparsers(dest="action", required=True)
    ex = stsub.add_parser("export", help="a date range as CSV")
    ex.add_argument("--from", dest="from_", required=True, help="first day, YYYY-MM-DD")
    ex.add_argument("--to", help="last day (default: the first)")
    where = ex.add_mutually_exclusive_group()
    where.add_argument("--site", help="site id (default: the first)")
    where.add_argument("--all-sites", action="store_true",
                       help="every site and all together: site, section, key, value")
    ex.add_argument("--out", help="file to write (default: stdout)")
    st.set_defaults(func=cmd_stats)
