"""`skranke-server demo` (a demo site with a live-looking day) and `demo-data` (a site filled
with a realistic, reproducible day), and the demo's life against a running server."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from .services.context import AppContext


def add_demo_parsers(sub) -> None:
    d = sub.add_parser("demo-data", help="fill a site with a realistic, reproducible demo")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--site", help="site id (default: the first)")
    d.add_argument("--at", type=_local_time, metavar="YYYY-MM-DDTHH:MM",
                   help="fill the day as it stood at this time (the site's time zone); "
                        "the same seed and time give the same data (default: now)")
    d.set_defaults(func=cmd_demo_data)

    demo = sub.add_parser("demo", help="serve a demo site on loopback with fresh data")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--port", type=int)
    demo.add_argument("--dir", help="folder for the demo database (default: a temp folder)")
    demo.add_argument("--speed", type=float, default=1.0, help="clock speed (default 1)")
    demo.add_argument("--tokens-file", help="write the demo's port, site and tokens to this "
                      "new file (mode 600), for `skranke demo`")
    demo.set_defaults(func=cmd_demo)


def demo_clock(ctx: AppContext, speed: float) -> None:
    from .clock import ScaledClock

    if speed != 1.0:
        ctx.clock = ScaledClock(ctx.clock.now(), speed)


def start_life(ctx: AppContext, port: int, *, seed: int, speed: float, site_id: str | None = None):
    """Start the demo's life against this server: kiosk check-ins, walk-ins, other counters."""
    from .demo import sim_counters, sim_person
    from .services import tokens
    from .simulator import DemoLife
    from .storage import repo

    site = ctx.site(site_id or ctx.settings.sites[0].id)
    now = ctx.clock.now()
    with ctx.db.write() as s:
        made = {role: tokens.create(s, role, f"demo-{role}", now, 2)[0]
                for role in ("kiosk", "supervisor")}
        workers = {}
        for c in sim_counters(repo.counters(s, site.id)):
            c.state, c.staffed_by = "open", sim_person(c.number)
            workers[c.number] = tokens.create(s, "caseworker", sim_person(c.number), now, 2)[0]
    scheme = "https" if ctx.settings.tls_certificate else "http"
    life = DemoLife(f"{scheme}://127.0.0.1:{port}", site.id, ctx.clock,
                    {"kiosk": made["kiosk"], "planner": made["supervisor"]}, workers,
                    seed=seed, speed=speed, verify=False)
    life.start()
    return life


def cmd_demo_data(args: argparse.Namespace) -> int:
    from .cli import build_context
    from .demo import generate

    ctx = build_context(args)
    now = None
    if args.at:  # the same morning every time, for a training session (and the tests)
        site = ctx.site(args.site or ctx.settings.sites[0].id)
        now = args.at if args.at.tzinfo else args.at.replace(tzinfo=site.tz)
    summary = generate(ctx, seed=args.seed, site_id=args.site, now=now)
    for day, n in summary.days.items():
        print(f"{day}: {n} visits")
    print(f"walk-ins so far today: {summary.today_walkins}")
    return 0


def _local_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date and time: {text!r} "
                                         "(say 2026-12-08T10:30)") from None


def demo_settings_file(folder: Path) -> Path:
    """A demo site whose opening hours wrap the current time, every day of the week."""
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/Copenhagen"))
    start = max(now - timedelta(hours=3), now.replace(hour=0, minute=0, second=0,
                                                      microsecond=0))
    end = min(now + timedelta(hours=5), now.replace(hour=23, minute=55, second=0,
                                                    microsecond=0))
    window = f"{start:%H}:00-{end:%H}:{(end.minute // 5) * 5:02d}"
    hours = ", ".join(f'{d} = "{window}"' for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                     "sun"))
    path = folder / "demo-server.toml"
    path.write_text(
        f'database_url = "sqlite:///{(folder / "demo.db").as_posix()}"\n'
        "tick_seconds = 2\n\n[[sites]]\n"
        'id = "demo"\nname = "Borgerservice Demo"\ncounters = 6\n'
        "public_holidays = false\nclosed_on_customary_days = false\n"
        f"hours = {{ {hours} }}\n", encoding="utf-8")
    return path


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve a demo site with a live-looking day, and print tokens to try it with."""
    from .cli import build_context, public_url, run_server
    from .demo import generate
    from .services import tokens

    folder = Path(args.dir or tempfile.mkdtemp(prefix="skranke-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    args.config = str(demo_settings_file(folder))
    args.database_url = None
    ctx = build_context(args)
    demo_clock(ctx, args.speed)
    summary = generate(ctx, seed=args.seed)
    with ctx.db.write() as s:
        made = {role: tokens.create(s, role, f"demo-{role}", ctx.clock.now(), 1)[0]
                for role in ("caseworker", "reception", "supervisor")}
    port = args.port or 8470
    pages = waiting_room_urls(ctx, public_url(ctx.settings, port), "demo")
    if args.tokens_file:  # for `skranke demo`, which starts this server as its child
        path = Path(args.tokens_file)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"port": port, "site": "demo", "tokens": made, "pages": pages}, fh)
    print(f"Skranke demo: site 'demo', {sum(summary.days.values())} visits over "
          f"{len(summary.days)} days, data in {folder}")
    for role, secret in made.items():
        print(f"  {role:<11} token: {secret}")
    print(f"  try: curl -s -H 'Authorization: Bearer {made['reception']}' "
          f"http://127.0.0.1:{port}/sites/demo/day | python3 -m json.tool | head -40")
    print(f"  API documentation: http://127.0.0.1:{port}/docs")
    print_waiting_room(pages)
    sys.stdout.flush()
    start_life(ctx, port, seed=args.seed, speed=args.speed)
    run_server(ctx, "127.0.0.1", port, ctx.settings)
    return 0


def waiting_room_urls(ctx: AppContext, base: str, site_id: str) -> dict[str, str]:
    """The demo's waiting room: pairing URLs for a call display and a kiosk (each opens its
    page, paired) and the ticket page of a citizen waiting today."""
    from sqlalchemy import select

    from .storage.models import VisitRow
    from .web import pairing, tickets

    now = ctx.clock.now()
    out: dict[str, str] = {}
    with ctx.db.write() as s:
        for role in pairing.DEVICE_ROLES:
            code, _ = pairing.create(s, role, f"demo-{role}", site_id, now, 1,
                                     ctx.settings.pairing_hours)
            out[role] = pairing.url(base, code)
        visit = s.scalar(select(VisitRow).where(
            VisitRow.site_id == site_id, VisitRow.day == ctx.today(ctx.site(site_id), now),
            VisitRow.state.in_(("waiting", "booked"))).order_by(
            VisitRow.state.desc(), VisitRow.id).limit(1))
        if visit is not None:
            out["ticket"] = tickets.url(base, tickets.issue(s, visit, now))
    return out


def print_waiting_room(pages: dict[str, str]) -> None:
    print("  the waiting room (open in a browser; each pairing URL works once):")
    for key, label in (("display", "call display"), ("kiosk", "kiosk"),
                       ("ticket", "a citizen's ticket")):
        if key in pages:
            print(f"    {label:<18} {pages[key]}")
