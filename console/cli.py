"""`skranke`: the console. Without a command it opens the counter screen; `demo` opens it
against a demo backend started as a child process; `login`, `logout`, `status`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from . import credentials, errors
from .client import make_client
from .config import Config, ConfigError, load_config
from .logs import setup


async def _whoami(cfg: Config, token: str) -> tuple[str, str]:
    """Who the token is, and what is wrong with it here ("" if nothing): a token bound to
    another site than the configured one is refused on every one of its routes."""
    async with make_client(cfg, token) as c:
        me = await c.me()
    wrong = ""
    if me.site is not None and me.site != cfg.server.site:
        wrong = (f"the token is for site '{me.site}', but the configuration says site "
                 f"'{cfg.server.site}': set site = \"{me.site}\" under [server], or ask for a "
                 f"token for '{cfg.server.site}'")
    return f"{me.person} ({me.role})", wrong


def cmd_login(cfg: Config, args: argparse.Namespace) -> int:
    token = sys.stdin.readline().strip() if args.token_stdin else \
        getpass.getpass("Token (skranke-server token create …): ").strip()
    try:
        who, wrong = asyncio.run(_whoami(cfg, token))  # checked before anything is kept
    except errors.ApiError as exc:
        print(f"skranke: the backend did not accept the token: {exc.message}", file=sys.stderr)
        return 1
    if wrong:
        print(f"skranke: not logged in: {wrong}.", file=sys.stderr)
        return 1
    try:
        credentials.store(cfg.server.url, token)
    except RuntimeError as exc:
        print(f"skranke: {exc}", file=sys.stderr)
        return 2
    print(f"Logged in as {who} at {cfg.server.url}; the token is in the OS keyring.")
    return 0


def cmd_logout(cfg: Config, args: argparse.Namespace) -> int:
    removed = credentials.forget(cfg.server.url)
    print("Token removed from the keyring." if removed else "No stored token to remove.")
    return 0


def cmd_status(cfg: Config, args: argparse.Namespace) -> int:
    found = credentials.load(cfg.server.url)
    if found.warning:
        print(found.warning)
    if not found.token:
        print("No token: run `skranke login` or set SKRANKE_TOKEN.")
        return 1
    try:
        who, wrong = asyncio.run(_whoami(cfg, found.token))
    except errors.ApiError as exc:
        print(f"{cfg.server.url}: {exc.message}")
        return 1
    print(f"{cfg.server.url}: {who}, site {cfg.server.site}, counter {cfg.server.counter} "
          f"(token from {found.source})")
    if wrong:
        print(f"Warning: {wrong}.")
        return 1
    return 0


def cmd_run(cfg: Config, args: argparse.Namespace) -> int:
    from .app import make_app

    found = credentials.load(cfg.server.url)
    make_app(cfg, found.token, token_note=found.warning).run()
    return 0


def cmd_demo(cfg: Config, args: argparse.Namespace) -> int:
    from . import demo
    from .app import make_app

    print("Starting the demo backend …", flush=True)
    try:
        server = demo.start(seed=args.seed, speed=args.speed)
    except RuntimeError as exc:
        print(f"skranke: {exc}", file=sys.stderr)
        return 1
    for key, label in (("display", "Call display"), ("kiosk", "Kiosk"),
                        ("ticket", "A citizen's ticket")):
        if key in server.pages:
            print(f"{label}: {server.pages[key]}")
    if server.pages:
        (server.folder / "waiting-room.txt").write_text(
            "".join(f"{k}: {v}\n" for k, v in server.pages.items()), encoding="utf-8")
        print(f"(also in {server.folder / 'waiting-room.txt'})", flush=True)
    try:
        ui = {"language": args.lang or cfg.ui.language, "theme": cfg.ui.theme}
        demo_cfg = Config.model_validate({"server": {"url": server.url, "site": server.site,
                                                     "counter": 1}, "ui": ui,
                                          "keymap": cfg.keymap})
        make_app(demo_cfg, server.tokens[args.role],
                 outbox_path=server.folder / "outbox.db").run()
    finally:
        server.stop()
    print(f"Demo stopped; its data and log are in {server.folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="skranke", description=__doc__)
    p.add_argument("--config", help="configuration file (default: SKRANKE_CONFIG or the "
                                    "user's config folder)")
    p.set_defaults(func=cmd_run)
    sub = p.add_subparsers(dest="command")
    d = sub.add_parser("demo", help="start a demo backend on loopback and open the console "
                                    "at Skranke 1 (nothing to set up)")
    d.add_argument("--role", choices=("caseworker", "reception", "supervisor"),
                   default="caseworker")
    d.add_argument("--lang", choices=("da", "en"), help="language (default: your config's)")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--speed", type=float, default=1.0, help="demo clock speed (default 1)")
    d.set_defaults(func=cmd_demo)
    login = sub.add_parser("login", help="check a token against the backend and keep it in "
                                         "the OS keyring")
    login.add_argument("--token-stdin", action="store_true", help="read the token from stdin")
    login.set_defaults(func=cmd_login)
    sub.add_parser("logout", help="remove the token from the keyring").set_defaults(
        func=cmd_logout)
    sub.add_parser("status", help="who am I, where, and can the backend be reached"
                   ).set_defaults(func=cmd_status)
    args = p.parse_args(argv)
    try:
        cfg = load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(f"skranke: {exc}", file=sys.stderr)
        return 2
    setup()
    return args.func(cfg, args)


if __name__ == "__main__":
    sys.exit(main())
