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
    site_id = None
    if args.action == "create":
        site_id, refusal = token_site(args.role, args.site, [s.id for s in ctx.settings.sites])
        if refusal:
            print(f"skranke-server: {refusal}", file=sys.stderr)
            return 2
    with ctx.db.write() as s:
        if args.action == "create" and args.role in pairing.DEVICE_ROLES and not args.bearer:
            code, row = pairing.create(s, args.role, args.person, site_id, now,
                                       args.days or ctx.settings.token_days,
                                       ctx.settings.pairing_hours, args.label or "")
            print(pairing.url(public_url(ctx.settings), code))
            print(f"token {row.id}: {row.role} for {row.person} at {site_id}, expires "
                  f"{row.expires_at:%Y-%m-%d}. Open the URL once on the device (within "
                  f"{ctx.settings.pairing_hours} h) to pair it; revoke it like any token.",
                  file=sys.stderr)
        elif args.action == "create":
            secret, row = tokens.create(s, args.role, args.person, now,
                                        args.days or ctx.settings.token_days, args.label or "",
                                        site_id=site_id)
            print(secret)
            print(f"token {row.id}: {row.role} for {row.person} at "
                  f"{row.site_id or 'every site'}, expires {row.expires_at:%Y-%m-%d}. Shown "
                  "once; store it now.", file=sys.stderr)
        elif args.action == "revoke":
            row = tokens.revoke(s, args.id, now)
            print(f"token {row.id} revoked")
        elif args.json:
            print(json.dumps(tokens.listing(s), indent=2))
        else:
            print(token_table(tokens.listing(s), now))
    return 0


#: Roles that work at one site: their token is bound to it (the only site, or --site).
#: The others (supervisor, admin, booking) act on every site unless --site binds them.
SITE_ROLES = ("caseworker", "reception", "kiosk", "display")


def token_site(role: str, site: str | None, sites: list[str]) -> tuple[str | None, str]:
    """The site a new token is bound to (None: every site), or why it cannot be made."""
    if site is not None:
        if site not in sites:
            return None, f"There is no site '{site}'; the sites: {', '.join(sites)}."
        return site, ""
    if role not in SITE_ROLES:
        return None, ""
    if len(sites) == 1:
        return sites[0], ""
    return None, (f"A {role}'s token is for one site: add --site, one of "
                  f"{', '.join(sites)}.")


def token_table(rows: list[dict], now) -> str:
    """The tokens as a plain table: id, role, person, site, label, expiry, state."""
    head = ("ID", "ROLE", "PERSON", "SITE", "LABEL", "EXPIRES", "STATE")
    lines = [head]
    for r in rows:
        expires = datetime.fromisoformat(r["expires_at"])
        state = "revoked" if r["revoked"] else ("expired" if expires <= now else "active")
        lines.append((r["id"], r["role"], r["person"], r["site"] or "(all)", r["label"] or "",
                      f"{expires:%Y-%m-%d}", state))
    if len(lines) == 1:
        return "No tokens yet: skranke-server token create --role … --person …"
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines)
