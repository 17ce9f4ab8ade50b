"""`skranke-server`: serve, tokens, demo data, migrations, statistics, simulate."""
# The demo's commands are in demo_cli.py, statistics in stats_cli.py, tokens in token_cli.py.

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

from .catalogue import CatalogueError, load_catalogue
from .clock import SystemClock
from .demo_cli import add_demo_parsers, demo_clock, start_life
from .services.context import ROLES, AppContext
from .settings import Settings, SettingsError, load_settings
from .stats_cli import add_stats_parser
from .storage.db import Database
from .token_cli import cmd_token


def build_context(args: argparse.Namespace, **overrides) -> AppContext:
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    settings = load_settings(getattr(args, "config", None), **overrides)
    catalogue = load_catalogue(settings.errands_file or None)
    ctx = AppContext(settings=settings, catalogue=catalogue,
                     db=Database(settings.database_url, settings.write_lock_timeout),
                     clock=SystemClock())
    fault = os.environ.get("SKRANKE_FAULT_INJECT")  # crash tests only: "after_commit:/path"
    if fault:
        where, _, path = fault.partition(":")
        ctx.crash_at = (where, path)
    ctx.bootstrap()
    from .keys import protect_database_files

    protect_database_files(settings)  # also those an older version made 0644
    return ctx


def run_server(ctx: AppContext, host: str, port: int, settings: Settings, workers: int = 1,
           args: argparse.Namespace | None = None) -> None:
    import uvicorn

    from .api.app import create_app
    from .connections import uvicorn_options

    ssl = {}
    if settings.tls_certificate:
        ssl = {"ssl_certfile": settings.tls_certificate, "ssl_keyfile": settings.tls_key}
    if workers > 1:
        # Several processes on one PostgreSQL database (cmd_serve refuses SQLite): each
        # worker builds its own context from the same settings, in a fresh interpreter
        # (uvicorn spawns them); LISTEN/NOTIFY wakes every worker's streams.
        ctx.db.dispose()
        os.environ[WORKER_ENV] = json.dumps({
            "config": getattr(args, "config", None),
            "database_url": getattr(args, "database_url", None)})
        _run_workers(uvicorn.Config("backend.cli:worker_app", factory=True, workers=workers,
                                    host=host, port=port, log_level="info",
                                    **uvicorn_options(settings), **ssl))
        return
    app = create_app(ctx)
    _tune_gc()
    uvicorn.run(app, host=host, port=port, log_level="info", **uvicorn_options(settings),
                **ssl)


#: How `serve --workers N` hands its command line to its worker processes.
WORKER_ENV = "SKRANKE_SERVE_WORKER"


def _run_workers(config) -> None:
    """uvicorn.run's supervisor path, with a listening socket that says it is TCP: uvicorn
    0.54 binds it with proto 0, its accepted connections inherit that, and asyncio then
    leaves Nagle's algorithm on, so each keep-alive answer after the first waited ~40 ms for
    the client's delayed ACK (uvicorn issue 3149; /health: 44 ms a request, against 2.7 ms
    from one process)."""
    import socket

    from uvicorn.supervisors import Multiprocess

    bound = config.bind_socket()
    sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()


def worker_app():
    """One worker of `serve --workers N` (an app factory, for uvicorn)."""
    from .allocator import limit_arenas
    from .api.app import create_app
    from .connections import configure

    limit_arenas()
    given = json.loads(os.environ[WORKER_ENV])
    args = argparse.Namespace(config=given["config"], database_url=given["database_url"])
    ctx = build_context(args)
    configure(ctx.settings)  # the protocol's limits, in this worker's process
    app = create_app(ctx)
    _tune_gc()
    return app


def _tune_gc() -> None:
    """The server's garbage collector: what exists at start (modules, the app, settings)
    is never scanned again, and young collections come less often, so fewer objects live
    long enough to make a full collection. Measured under bench/backend_load.py at 200
    req/s: full collections stopped the server for 140-190 ms each, eight a minute; with
    this, three of 40-110 ms, and the collector's time in all 1.8 -> 0.35 s a run."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def cmd_serve(args: argparse.Namespace) -> int:
    from .allocator import limit_arenas
    from .storage.dialect import is_sqlite

    limit_arenas()  # before any thread of the server starts (backend/allocator.py)
    ctx = build_context(args)
    if args.demo:
        demo_clock(ctx, args.speed)
    host, port = args.host or ctx.settings.host, args.port or ctx.settings.port
    workers = ctx.settings.workers if args.workers is None else args.workers
    if workers < 1:
        raise RuntimeError("--workers is a number of processes, 1 or more")
    if workers > 1 and args.demo and args.speed != 1.0:
        raise RuntimeError("--workers needs the real clock: run the demo at --speed 1")
    if workers > 1 and is_sqlite(ctx.settings.database_url):
        raise RuntimeError(
            f"--workers {workers} needs PostgreSQL: SQLite runs as one server process (one "
            "write thread on one file); scale-out means PostgreSQL (docs/operations.md)")
    if args.demo:
        start_life(ctx, port, seed=args.seed, speed=args.speed)
    from sqlalchemy.engine import make_url

    print("skranke-server: database "
          f"{make_url(ctx.settings.database_url).render_as_string(hide_password=True)}",
          file=sys.stderr, flush=True)
    run_server(ctx, host, port, ctx.settings, workers, args)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    build_context(args)
    print("database is at the newest schema")
    return 0


def public_url(settings: Settings, port: int | None = None) -> str:
    """Where devices and citizens' phones reach the server (settings public_url, else the
    address it serves on)."""
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    return settings.public_url or f"http://{host}:{port or settings.port}"


def cmd_backup(args: argparse.Namespace) -> int:
    from .keys import key_path

    ctx = build_context(args)
    ctx.db.backup(Path(args.file))
    print(f"backup written to {args.file} (integrity ok, schema {ctx.db.revision()})")
    where = "the SKRANKE_KEYS value" if ctx.settings.keys else \
        f"the key file {key_path(ctx.settings)}"
    print(f"a restore also needs {where}: it is not in the backup (CPR numbers are "
          "encrypted with its keys); keep a copy of it safe and apart from the backups")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from .keys import key_path, rotate

    ctx = build_context(args)
    if args.action == "where":
        print("SKRANKE_KEYS (environment)" if ctx.settings.keys else key_path(ctx.settings))
        return 0
    with ctx.db.write() as s:
        kid, rows, dropped = rotate(ctx.settings, s)
    print(f"CPR key {kid} is now current; {rows} stored CPR numbers encrypted with it; "
          f"retired: {', '.join(dropped) or 'none'}. Back up the key file again.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, **({"database_url": args.database_url}
                                             if args.database_url else {}))
    db = Database(settings.database_url)
    db.restore(Path(args.file))
    print(f"restored {args.file}; schema now {db.revision()}")
    return 0


def _database_url_option(command: argparse.ArgumentParser) -> None:
    """`--database-url` after the command too (`serve --database-url URL`); given before
    it, the subcommand leaves it alone (SUPPRESS: no default of its own)."""
    command.add_argument("--database-url", default=argparse.SUPPRESS,
                         help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/skranke "
                              "(overrides the settings)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skranke-server", description=__doc__)
    p.add_argument("--config", help="settings TOML (default: SKRANKE_SERVER_CONFIG or built-in)")
    p.add_argument("--database-url", help="SQLAlchemy URL, overrides the settings")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "serve", help="run the HTTP API (migrations are applied first)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The database, first found: --database-url URL, SKRANKE_DATABASE_URL,\n"
               "database_url in the settings file (--config, SKRANKE_SERVER_CONFIG),\n"
               "else sqlite:///skranke.db in the current folder. PostgreSQL (several\n"
               "processes or servers on one database): postgresql+psycopg://user@host/skranke.\n"
               "The address it uses is printed at start.")
    _database_url_option(s)
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--demo", action="store_true",
                   help="bring the day to life: arrivals, walk-ins, the other counters")
    s.add_argument("--speed", type=float, default=1.0, help="demo clock speed (default 1)")
    s.add_argument("--seed", type=int, default=1, help="demo randomness (default 1)")
    s.add_argument("--workers", type=int, help="server processes on the one database "
                   "(default: the settings' workers, 1)")
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("migrate", help="apply database migrations and exit")
    _database_url_option(m)
    m.set_defaults(func=cmd_migrate)

    t = sub.add_parser("token", help="create, list or revoke tokens")
    tsub = t.add_subparsers(dest="action", required=True)
    tc = tsub.add_parser("create", help="issue a token (printed once)")
    tc.add_argument("--role", required=True, choices=ROLES)
    tc.add_argument("--person", required=True, help="user name, or the device's name")
    tc.add_argument("--days", type=int, help="lifetime in days")
    tc.add_argument("--label", help="free text, e.g. 'kiosk at the entrance'")
    tc.add_argument("--site", help="the one site the token acts on; caseworker, reception, "
                                   "display and kiosk tokens always have one (needed when "
                                   "several sites are set up); supervisor, admin and "
                                   "booking without it: every site")
    tc.add_argument("--bearer", action="store_true",
                    help="display/kiosk: print a bearer token (for scripts) instead of a "
                         "pairing URL")
    tr = tsub.add_parser("revoke", help="revoke a token by its id")
    tr.add_argument("id")
    tl = tsub.add_parser("list", help="list tokens as a table (never their secrets)")
    tl.add_argument("--json", action="store_true", help="as JSON, for scripts")
    t.set_defaults(func=cmd_token)

    b = sub.add_parser("backup", help="consistent online copy of the SQLite database")
    b.add_argument("file", help="a new file to write")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="replace the database with a backup (server stopped)")
    r.add_argument("file")
    r.set_defaults(func=cmd_restore)

    k = sub.add_parser("keys", help="the key file (CPR encryption, audit hash key)")
    ksub = k.add_subparsers(dest="action", required=True)
    ksub.add_parser("rotate", help="a new CPR encryption key; every stored CPR re-encrypted "
                    "(server stopped)")
    ksub.add_parser("where", help="print where the keys are read from")
    k.set_defaults(func=cmd_keys)

    add_demo_parsers(sub)
    add_stats_parser(sub)

    from .sim.cli import add_parser as add_simulate

    add_simulate(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    if hasattr(os, "umask"):
        os.umask(0o077)  # every file the server writes owner-only: database, WAL, exports
    try:
        return args.func(args)
    except (SettingsError, CatalogueError, FileNotFoundError, FileExistsError,
            RuntimeError, OSError) as exc:
        print(f"skranke-server: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .domain.errors import DomainError

        if isinstance(exc, DomainError):
            print(f"skranke-server: {exc.message}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
