"""`skranke-server token create | list | revoke`: tokens for people, and pairing URLs for
the waiting room's devices (a display or a kiosk gets a one-time URL, not a secret)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime


def cmd_token(args: argparse.Namespace) -> int:
    from .cli import build_context, public_url
    from .services import tokens
    from .web import pairing

    ctx = build_context(args)
    now = ctx.clock.now()
    with ctx.db.write() as s:
        if args.action == "create" and args.role in pairing.DEVICE_ROLES and not args.bearer:
            site_id = args.site or ctx.settings.sites[0].id
            ctx.site(site_id)
            code, row = pairing.create(s, args.role, args.person, site_id, now,
                                       args.days or ctx.settings.token_days,
                                       ctx.settings.pairing_hours, args.label or "")
            print(pairing.url(public_url(ctx.settings), code))
            print(f"token {row.id}: {row.role} for {row.person}, expires "
                  f"{row.expires_at:%Y-%m-%d}. Open the URL once on the device (within "
                  f"{ctx.settings.pairing_hours} h) to pair it; revoke it like any token.",
                  file=sys.stderr)
        elif args.action == "create":
            secret, row = tokens.create(s, args.role, args.person, now,
                                        args.days or ctx.settings.token_days, args.label or "")
            print(secret)
            print(f"token {row.id}: {row.role} for {row.person}, expires "
                  f"{row.expires_at:%Y-%m-%d}. Shown once; store it now.", file=sys.stderr)
        elif args.action == "revoke":
            row = tokens.revoke(s, args.id, now)
            print(f"token {row.id} revoked")
        elif args.json:
            print(json.dumps(tokens.listing(s), indent=2))
        else:
            print(token_table(tokens.listing(s), now))
    return 0


def token_table(rows: list[dict], now) -> str:
    """The tokens as a plain table: id, role, person, label, expiry, state."""
    head = ("ID", "ROLE", "PERSON", "LABEL", "EXPIRES", "STATE")
    lines = [head]
    for r in rows:
        expires = datetime.fromisoformat(r["expires_at"])
        state = "revoked" if r["revoked"] else ("expired" if expires <= now else "active")
        lines.append((r["id"], r["role"], r["person"], r["label"] or "",
                      f"{expires:%Y-%m-%d}", state))
    if len(lines) == 1:
        return "No tokens yet: skranke-server token create --role … --person …"
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines)
