"""Rendering the waiting room's pages: Jinja2 templates, and the headers every page sends
(a Content-Security-Policy that allows no inline script, no referrer: a ticket page's
address is its key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .texts import KIOSK

HERE = Path(__file__).parent
STATIC = HERE / "static"
ENV = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(("html",)), trim_blocks=True,
                  lstrip_blocks=True)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
           "X-Frame-Options": "DENY"}


def base_url(request: Request) -> str:
    """Where citizens' phones and devices reach this server (settings public_url, else the
    address this request came to)."""
    public = request.app.state.ctx.settings.public_url
    return public or str(request.base_url).rstrip("/")


def texts_for(page: str) -> dict[str, dict[str, str]]:
    return {"kiosk": KIOSK}[page]


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = ENV.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
