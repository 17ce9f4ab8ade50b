"""The FastAPI application: routers, error mapping in one place, the clock tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .. import logs, web
from ..domain.errors import DomainError
from ..services.context import AppContext
from ..services.durable import GroupSync
from ..services.events import EventHub
from ..services.fsync_process import ProcessSync
from ..services.planning import Planner
from ..services.tick import tick
from ..storage import db as storage_db
from ..storage.dialect import event_listener
from . import (
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
        # Writes. SQLite takes one writer at a time, and with group commit (below) a write
        # is a few milliseconds of Python and no fsync: it runs on the event loop itself,
        # in arrival order. A writer thread made every write wait for the loop's hold on
        # the GIL after each SQLite call (20-30 % less throughput, measured). Elsewhere
        # writes get their own threads, handed work by asyncio's executor.
        syncer = _syncer(ctx)
        if syncer is not None:
            ctx.durable = syncer.durable
            ctx.writers = "inline"
        else:
            ctx.writers = ThreadPoolExecutor(ctx.settings.worker_threads,
                                             thread_name_prefix="skranke-write")
        hub = EventHub(ctx, poll_seconds=ctx.settings.events_poll_seconds)
        hub.loop = asyncio.get_running_loop()
        app.state.hub = hub
        app.state.streams = Streams(ctx)
        planner = Planner(ctx, processes=ctx.plan_processes)
        planner.start()
        app.state.planner = ctx.plans = planner

        ctx.db.event_sink[0] = hub.publish  # this process's commits go straight out
        # other processes' commits: told by the database where it can (PostgreSQL)
        listener = event_listener(ctx.settings.database_url, hub.notify)
        ctx.notifier = planner.changed
        task = asyncio.create_task(_tick_loop(ctx)) if run_ticks else None
        yield
        await web.close(app)
        if listener is not None:
            await to_thread.run_sync(listener.stop)
        ctx.notifier = ctx.plans = ctx.db.event_sink[0] = None
        writers, ctx.writers = ctx.writers, None
        if isinstance(writers, ThreadPoolExecutor):
            writers.shutdown(wait=True)
        ctx.durable = None
        if syncer is not None:
            syncer.close()
            ctx.db.sync_wal()
            ctx.db.group_commit(False)
        await planner.close()
        await app.state.streams.close()
        await hub.close()
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # No interactive docs: FastAPI's load their scripts from a public CDN (a third party
    # in every operator's browser, and nothing on a closed network). The contract is
    # /openapi.json; docs/security.md says how to read it offline.
    app = FastAPI(title="Skranke booking backend", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="The backend of Skranke, the front-desk system of a Danish "
                              "Borgerservice. Every route names the roles that may call it "
                              "in `x-roles`.")
    app.state.ctx = ctx
    _errors(app)
    routers = (_meta_router(), routes_sites.router, routes_visits.router,
               routes_bookings.router, routes_events.router, routes_reception.router,
               routes_reception.visit_router, routes_stats.router, routes_audit.router)
    api = APIRouter()  # one list, the busiest routes first (see BUSIEST)
    api.routes.extend(sorted((route for r in routers for route in r.routes), key=_busiest))
    app.include_router(api)
    web.install(app)  # the waiting room's pages (backend/web)
    _declare_catalogue(app, ctx)
    settings = ctx.settings
    app.add_middleware(Guard, ctx=ctx, max_body=settings.max_body_bytes,
                       max_url=settings.max_url_bytes, max_header=settings.max_header_bytes,
                       body_limits=body_limits(app))
    return app


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


def _syncer(ctx: AppContext) -> GroupSync | None:
    """Group commit's fsyncs, on SQLite with a file: in a process of their own where the
    platform passes it pipes (POSIX), else on a thread (services/durable.py)."""
    db = ctx.db
    if os.name != "posix":
        return GroupSync(db.sync_wal) if db.group_commit(True) else None
    if not db.group_commit(True, checkpoints=False):
        return None
    return ProcessSync(db.wal, storage_db.CHECKPOINT_BYTES)


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
    while True:
        try:
            made = await to_thread.run_sync(tick, ctx)
            if made:
                log.info("tick: %d automatic transitions", made)
        except Exception as exc:  # noqa: BLE001 - the loop must survive a bad tick
            log.error("tick failed: %s", type(exc).__name__)
        await asyncio.sleep(ctx.settings.tick_seconds)


def _meta_router():
    router = APIRouter(tags=["meta"])

    @router.get("/health", summary="Liveness, no token needed")
    def health():
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
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return JSONResponse({"code": "database_unavailable",
                             "message": "The database is busy or unavailable; try again."},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def crash(_req: Request, exc: Exception):
        log.error("internal error: %s", type(exc).__name__)
        return JSONResponse({"code": "internal_error",
                             "message": "Something went wrong on the server; it is logged."},
                            status_code=500)
