"""The FastAPI application: routers, error mapping in one place, the clock tick."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .. import allocator, logs, web
from ..domain.errors import DatabaseBusy, DomainError
from ..services.context import AppContext
from ..services.events import EventHub
from ..services.planning import Planner
from ..services.tick import tick
from ..services.writer import WriteThread
from ..storage import dialect
from . import (
    presence,
    routes_audit,
    routes_bookings,
    routes_events,
    routes_reception,
    routes_sites,
    routes_stats,
    routes_visits,
)
from .deps import current_actor, get_ctx
from .guard import Guard
from .roles import ALL, op
from .streams import Streams

log = logging.getLogger("skranke.server")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized",
               403: "forbidden", 413: "too_large"}


def create_app(ctx: AppContext, *, run_ticks: bool = True) -> FastAPI:
    logs.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Few worker threads for reads: dozens of threads fighting for the GIL only add
        # latency.
        to_thread.current_default_thread_limiter().total_tokens = ctx.settings.worker_threads
        ctx.writes = WriteThread(ctx.db.batch)  # every write of the app, off the loop
        hub = EventHub(ctx, poll_seconds=ctx.settings.events_poll_seconds)
        hub.loop = asyncio.get_running_loop()
        app.state.hub = hub
        app.state.streams = Streams(ctx)
        planner = Planner(ctx)
        planner.start()
        app.state.planner = ctx.plans = planner
        ctx.listeners = [hub, planner]  # this process's commits go straight out
        # other processes' commits: told by the database where it can (PostgreSQL)
        listener = dialect.event_listener(ctx.settings.database_url, hub.notify, ctx.db.tag)
        task = asyncio.create_task(_tick_loop(ctx)) if run_ticks else None
        yield
        await web.close(app)
        if listener is not None:
            await asyncio.to_thread(listener.stop)
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await planner.close()
        writes, ctx.writes = ctx.writes, None
        await asyncio.to_thread(writes.close)
        ctx.listeners, ctx.plans = [], None
        await app.state.streams.close()
        await hub.close()

    # No interactive docs: FastAPI's load their scripts from a public CDN (a third party
    # in every operator's browser, and nothing on a closed network). The contract is
    # /openapi.json; docs/security.md says how to read it offline.
    app = FastAPI(title="Skranke booking backend", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="The backend of Skranke, the front-desk system of a Danish "
                              "Borgerservice. Every route names the roles that may call it "
                              "in `x-roles`.")
    app.state.ctx = ctx
    app.state.presence = presence.Presence()  # the consoles heard (in memory)
    _errors(app)
    routers = (_meta_router(), routes_sites.router, routes_visits.router,
               routes_bookings.router, routes_events.router, routes_reception.router,
               routes_reception.visit_router, routes_stats.router, routes_audit.router,
               presence.router)
    # one list, the busiest routes first (see BUSIEST)
    add_routes(app, sorted((route for r in routers for route in r.routes), key=_busiest))
    web.install(app)  # the waiting room's pages (backend/web)
    _declare_catalogue(app, ctx)
    settings = ctx.settings
    app.add_middleware(Guard, ctx=ctx, max_body=settings.max_body_bytes,
                       max_url=settings.max_url_bytes, max_header=settings.max_header_bytes,
                       body_limits=body_limits(app))
    return app


def add_routes(app: FastAPI, routes: list) -> None:
    """The routes added to the app's own list as they are. FastAPI's `include_router` would
    set every route up again for this app, lazily, at its first request (0.2-0.9 s: each
    test's server paid it), and hide them behind one entry from `_allowed` (a 405's Allow
    came out empty) and `body_limits`. The routers' prefixes and tags are in their routes
    already; tests/test_app_routes.py checks that the OpenAPI document and the 404 and 405
    answers are those of `include_router`."""
    app.router.routes.extend(routes)


def _declare_catalogue(app: FastAPI, ctx: AppContext) -> None:
    """The OpenAPI names the errand codes this server knows (its catalogue), so a request
    the contract allows names an errand the server has."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            codes = sorted(e.code for e in ctx.catalogue.errand)
            parts = schema["components"]["schemas"]
            for name in ("WalkinBody", "BookingBody", "TransferBody", "ErrandsBody"):
                for field, prop in parts.get(name, {}).get("properties", {}).items():
                    if field in ("errand", "errands"):
                        for p in prop.get("anyOf", [prop]):
                            target = p.get("items", p) if p.get("type") == "array" else p
                            if target.get("type") == "string":
                                target["enum"] = codes
            for path in schema["paths"].values():
                for op_ in path.values():
                    for param in op_.get("parameters", []):
                        if param["name"] == "errand" and param["in"] == "query":
                            param["schema"]["enum"] = codes
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def body_limits(app: FastAPI) -> list:
    """The routes that declare a body limit of their own (`x-max-body-bytes`)."""
    return [(route.path_regex, (route.openapi_extra or {})["x-max-body-bytes"])
            for route in app.routes
            if "x-max-body-bytes" in (getattr(route, "openapi_extra", None) or {})]


def _allowed(app: FastAPI, scope) -> str:
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"}) if hasattr(route, "methods") \
            else (Match.NONE, None)
        if match != Match.NONE:
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


#: The counters' cycle and the kiosks' requests, matched first. FastAPI tries the routes in
#: order, a few µs each: a route at the end of the list answered 0.25 ms later than the
#: same route at its front (measured, closed loop). None of these shares a pattern with
#: another route, so the order decides nothing else.
BUSIEST = (("POST", "/sites/{site_id}/counters/{number}/call-next"),
           ("POST", "/visits/{visit_id}/start"),
           ("PUT", "/visits/{visit_id}/documents/{code}"),
           ("POST", "/visits/{visit_id}/finish"),
           ("POST", "/sites/{site_id}/walk-ins"),
           ("POST", "/sites/{site_id}/check-in"))


def _busiest(route) -> int:
    methods = getattr(route, "methods", None) or ()
    for i, (method, path) in enumerate(BUSIEST):
        if route.path == path and method in methods:
            return i
    return len(BUSIEST)  # the rest keep their order (sorted is stable)


async def _tick_loop(ctx: AppContext) -> None:
    trimmed = time.monotonic()
    failing: _Failing | None = None  # the tick's current incident: one line when it starts
    while True:
        try:
            made = await ctx.writes.run(tick, ctx)
            if made:
                log.info("tick: %d automatic transitions", made)
            if failing is not None:
                log.warning("tick works again after %.0f s (%d tries failed)",
                            time.monotonic() - failing.since, failing.tries)
                failing = None
        except Exception as exc:  # noqa: BLE001 - the loop must survive a bad tick
            name = type(exc).__name__
            if failing is None or failing.name != name:
                log.error("tick failed: %s; tried again every %g s, logged again when it "
                          "works or fails otherwise", name, ctx.settings.tick_seconds)
                failing = _Failing(name, time.monotonic())
            failing.tries += 1
        if time.monotonic() - trimmed >= allocator.TRIM_SECONDS:  # free memory handed back
            trimmed = time.monotonic()
            took = await asyncio.to_thread(allocator.trim)
            log.debug("garbage collected and memory trimmed: collection %.1f ms", 1000 * took)
        await asyncio.sleep(ctx.settings.tick_seconds)


@dataclass
class _Failing:
    """The tick failing, one incident: since when and how many tries."""

    name: str
    since: float
    tries: int = 0


#: /health/ready's limit for reading and taking the write lock.
READY_SECONDS = 1.0


@functools.cache
def _meta_router():
    """Made once (as the other routers, at import): setting its routes up took a
    tenth of a second for every app."""
    router = APIRouter(tags=["meta"])

    @router.get("/health", summary="Liveness, no token needed")
    def health():
        return {"status": "ok"}

    @router.get("/health/live", summary="The process answers (for systemd and load "
                "balancers: restart it when this fails); no token needed")
    async def live():
        return {"status": "ok"}

    @router.get("/health/ready", summary="The database is reachable and takes writes within "
                "a short time (a load balancer sends no traffic while this is 503); no token "
                "needed", responses={503: {"description": "Not ready: the reason in `code`"}})
    async def ready(request: Request):
        ctx = request.app.state.ctx
        try:
            await asyncio.wait_for(asyncio.to_thread(ctx.db.ready, READY_SECONDS),
                                   READY_SECONDS + 0.5)
        except Exception as exc:  # noqa: BLE001 - any failure: not ready, and why
            error = DatabaseBusy() if isinstance(exc, TimeoutError) else (
                dialect.unavailable(exc) or DomainError(
                    "The database is unavailable.", code="database_unavailable", status=503,
                    retry_after=1))
            return JSONResponse({"status": "not_ready", **error.body()}, status_code=503,
                                headers={"Retry-After": str(error.extra["retry_after"])})
        return {"status": "ok"}

    @op(router, "GET", "/errands", ALL, summary="The errand catalogue")
    def errands(ctx=Depends(get_ctx), actor=Depends(current_actor)):
        return [e.model_dump() for e in ctx.catalogue.errand]

    @op(router, "GET", "/sites", ALL, summary="The sites and their settings",
        description="A token bound to a site sees that site only.")
    def sites(ctx=Depends(get_ctx), actor=Depends(current_actor)):
        return [s.model_dump(mode="json") for s in ctx.settings.sites
                if actor.site_id in (None, s.id)]

    @op(router, "GET", "/me", ALL, summary="Who this token is",
        description="`site`: the one site the token acts on; null: every site.")
    def me(actor=Depends(current_actor)):
        return {"person": actor.person, "role": actor.role, "token_id": actor.token_id,
                "site": actor.site_id}

    return router


def _unavailable(exc: Exception) -> JSONResponse:
    """A database that cannot take the write now (busy, full, or gone): nothing of the
    write was kept (its transaction rolled back); the client sends it again, same key."""
    error = dialect.unavailable(exc)
    if error is None:
        log.error("database unavailable: %s", type(getattr(exc, "orig", exc)).__name__)
        error = DomainError("The database is unavailable; try again.",
                            code="database_unavailable", status=503, retry_after=1)
    return JSONResponse(error.body(), status_code=error.status,
                        headers={"Retry-After": str(error.extra["retry_after"])})


def _errors(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain(_req: Request, exc: DomainError):
        headers = {}
        if "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_req: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"code": "malformed_json",
                                 "message": "The request body is not valid JSON."},
                                status_code=400)
        # never echo the input back: it may hold a CPR number
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                    for e in errors]
        text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse({"code": "invalid_request", "message": text, "errors": problems},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http(req: Request, exc: StarletteHTTPException):
        # the exception's headers too: a 405's Allow (RFC 9110), a 413's Connection: close
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only its first route's
            headers["Allow"] = _allowed(app, req.scope)
        return JSONResponse({"code": _HTTP_CODES.get(exc.status_code, "http_error"),
                             "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=headers)

    @app.exception_handler(IntegrityError)
    async def integrity(_req: Request, exc: IntegrityError):
        log.warning("integrity conflict: %s", type(exc.orig).__name__)
        return JSONResponse({"code": "conflict_retry",
                             "message": "Another change got there first; try again."},
                            status_code=409)

    @app.exception_handler(OperationalError)
    async def operational(_req: Request, exc: OperationalError):
        return _unavailable(exc)

    @app.exception_handler(OSError)
    async def os_error(req: Request, exc: OSError):
        if not dialect.is_disk_full(exc):
            return await crash(req, exc)
        return _unavailable(exc)

    @app.exception_handler(Exception)
    async def crash(_req: Request, exc: Exception):
        log.error("internal error: %s", type(exc).__name__)
        return JSONResponse({"code": "internal_error",
                             "message": "Something went wrong on the server; it is logged."},
                            status_code=500)
