"""The waiting room: the call display, the check-in kiosk and the citizen's own ticket page,
as web pages served by the backend (DESIGN.md "The waiting room")."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    from ..api.app import add_routes
    from .pages import STATIC
    from .routes import router

    add_routes(app, list(router.routes))
    app.mount("/static/wr", StaticFiles(directory=STATIC), name="waiting-room-static")


async def close(app: FastAPI) -> None:
    live = getattr(app.state, "live", None)
    if live is not None:
        app.state.live = None
        await live.close()
