"""Authentication, roles per route, and the write wrapper with idempotency."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import to_thread
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime as _Aware
from pydantic import TypeAdapter, ValidationError

from .. import json_codec
from ..domain.errors import Forbidden, Invalid, TooManyFailures, Unauthorized
from ..services import throttle, tokens
from ..services.context import Actor, AppContext, Tx
from ..storage.models import IdempotencyRow

log = logging.getLogger("skranke.auth")
bearer = HTTPBearer(auto_error=False, description="A Skranke token (skranke-server token create)")
_AWARE = TypeAdapter(_Aware)
_RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                      r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_ETAG = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')
#: If-Match as the OpenAPI declares it (what parse_if_match takes).
IF_MATCH = r'^[ \t]*(?:\*|(?:W/)?"?[0-9]{1,18}"?)[ \t]*$'


async def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def route_roles(request: Request) -> tuple[str, ...]:
    route = request.scope.get("route")
    return tuple((getattr(route, "openapi_extra", None) or {}).get("x-roles", ()))


#: Verified tokens are remembered this long, so most requests skip the token lookup; a
#: revocation takes effect within this time.
TOKEN_CACHE_SECONDS = 5.0
_token_cache: dict[str, tuple[Actor, datetime, float]] = {}


def _cached(ctx: AppContext, key: str) -> Actor | None:
    hit = _token_cache.get(key)
    if hit is None:
        return None
    actor, expires_at, cached = hit
    fresh = time.monotonic() - cached < TOKEN_CACHE_SECONDS and ctx.clock.now() < expires_at
    return actor if fresh else None


def forget_token(token_id: str) -> None:
    """Drop a token found revoked or expired from the cache: refused from now on."""
    for key in [k for k, (a, _e, _c) in _token_cache.items() if a.token_id == token_id]:
        _token_cache.pop(key, None)


#: Clients refused for failed authentications, to the monotonic time they may try again:
#: a copy of their rows (services/throttle.py) so a client that goes on hammering costs no
#: database read per request. The rows decide; this only remembers their answer.
_refused: dict[str, float] = {}


def _authenticate(ctx: AppContext, secret: str, client: str = "") -> Actor:
    """Look the token up in the database and remember the answer (in a worker thread; a
    failure is counted on the write thread). A client that has failed too often is refused
    before its token is looked up; a failure is counted and logged (never the token)."""
    settings = ctx.settings
    allowed, window = settings.auth_failures_allowed, settings.auth_failure_window_seconds
    until = _refused.get(client)
    if until is not None:
        if until > time.monotonic():
            raise TooManyFailures("Too many failed attempts; wait before trying again.",
                                  retry_after=max(1, math.ceil(until - time.monotonic())))
        del _refused[client]
    key = tokens.digest(secret)
    now = ctx.clock.now()
    with ctx.db.read() as session:
        wait = throttle.retry_after(session, client, now, allowed, window)
        if wait is None:
            try:
                actor, expires_at = tokens.authenticate(session, secret, now,
                                                        with_expiry=True)
            except Unauthorized as exc:
                failed = exc
            else:
                failed = None
    if wait is not None:
        _refuse(client, wait)
        raise TooManyFailures("Too many failed attempts; wait before trying again.",
                              retry_after=wait)
    if failed is not None:
        count, wait = ctx.write_now(_count_failure, ctx, client, now, allowed, window)
        log.warning("failed authentication from %s: %s (%d in the window)", client or "?",
                    failed.code, count)
        if wait is not None:
            _refuse(client, wait)
        raise failed
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[key] = (actor, expires_at, time.monotonic())
    return actor


def _count_failure(ctx: AppContext, client: str, now: datetime, allowed: int, window: int
                   ) -> tuple[int, int | None]:
    with ctx.db.write() as session:
        return throttle.record(session, client, now, allowed, window)


def _refuse(client: str, wait: int) -> None:
    if len(_refused) > 10_000:
        _refused.clear()
    _refused[client] = time.monotonic() + wait


def client_of(scope) -> str:
    client = scope.get("client")
    return str(client[0])[:64] if client else ""


async def check_secret(ctx: AppContext, secret: str, client: str) -> Actor:
    """The token's holder (cached a few seconds), or Unauthorized / TooManyFailures."""
    actor = _cached(ctx, tokens.digest(secret))
    if actor is not None:
        return actor
    return await to_thread.run_sync(_authenticate, ctx, secret, client)


async def current_actor(request: Request,
                        creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Send a token: Authorization: Bearer <token>.")
    return await _actor(request, creds.credentials)


async def _actor(request: Request, secret: str) -> Actor:
    """The token's holder, if the route's roles admit them and, on a site's route
    (`{site_id}` in its path), the token is not bound to another site. Routes that reach a
    site otherwise (a visit, a booking) are checked where the write locks the site
    (services/context.py) or where the read finds the row (`actor.check_site`)."""
    scope = request.scope
    checked = scope.get("skranke.actor")  # the guard checked it before reading the body
    if checked is not None and checked[0] == secret:
        actor = checked[1]
    else:
        actor = await check_secret(request.app.state.ctx, secret, client_of(scope))
    allowed = route_roles(request)
    if actor.role not in allowed:
        raise Forbidden(f"The role '{actor.role}' may not do this.", role=actor.role,
                        allowed=list(allowed))
    site_id = request.path_params.get("site_id")
    if site_id is not None:
        actor.check_site(site_id)
    return actor


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    m = _ETAG.match(value.strip())
    if not m:
        raise Invalid("If-Match takes the visit's version as given in its ETag, e.g. \"3\".",
                      code="invalid_if_match", status=400)
    return int(m[1])


@dataclass
class Writer:
    ctx: AppContext
    actor: Actor
    method: str
    path: str
    body_hash: str
    key: str | None
    occurred_at: datetime | None
    if_match: int | None

    async def run(self, fn: Callable[[Tx], Any], status: int = 200, remember: bool = True
                  ) -> JSONResponse:
        """Run `fn` in one write transaction on the write thread (services/writer.py); with a
        key, remember its answer (unless it holds data that must not be kept twice, like a
        revealed CPR). A write that cannot get the database's lock within
        `write_lock_timeout` of its arrival answers 503 database_busy with nothing written.
        An answer that is a waiting visit also waits for the plan that covers the change,
        so it carries the visit's place in the queue and its estimated call time."""
        deadline = time.monotonic() + self.ctx.settings.write_lock_timeout
        writes = self.ctx.writes
        if writes is not None:
            body, status, replayed, seqs = await writes.run(self._run, fn, status, remember,
                                                            deadline)
        else:
            body, status, replayed, seqs = await to_thread.run_sync(
                self._run, fn, status, remember, deadline)
        plans = self.ctx.plans
        if plans is not None and isinstance(body, dict) and body.get("state") == "waiting" \
                and "site_id" in body:
            site_id = body["site_id"]
            seq = seqs.get(site_id)
            published = await plans.after(site_id, seq) if seq else plans.latest(site_id)
            if published is not None:
                body = {**body, **published.place(body["id"], self.ctx.site(site_id).tz)}
        return _respond(body, status, replayed=replayed)

    def _run(self, fn: Callable[[Tx], Any], status: int, remember: bool, deadline: float
             ) -> tuple[Any, int, bool, dict[str, int]]:
        # A write that waited its turn past its time (behind writes that waited for the
        # lock) still gets one try without waiting: done if the lock is free, else 503
        # busy at once, and the rest of its batch with it (storage/db.py Batch.busy).
        left = max(0.0, deadline - time.monotonic())
        with self.ctx.transaction(self.actor, self.occurred_at, timeout=left) as tx:
            session = tx.session
            if self.key:
                prior = session.get(IdempotencyRow, (self.actor.token_id, self.key))
                if prior is not None:
                    if (prior.body_hash, prior.path, prior.method) != (
                            self.body_hash, self.path, self.method):
                        raise Invalid("This Idempotency-Key was used for another request.",
                                      code="idempotency_key_reused")
                    return prior.response, prior.status, True, {}
            body = fn(tx)
            self._crash_point("before_commit")
            if self.key and remember:
                session.add(IdempotencyRow(
                    actor=self.actor.token_id, key=self.key, method=self.method,
                    path=self.path, body_hash=self.body_hash, status=status, response=body,
                    created_at=tx.now))
        self.ctx.db.after_commit(lambda: self._crash_point("after_commit"))
        return body, status, False, tx.last_seq

    def _crash_point(self, where: str) -> None:
        """Fault injection for the crash tests: die here, abruptly, like a power cut."""
        crash = self.ctx.crash_at
        if crash and crash == (where, self.path):
            import os
            import signal

            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


class _Answer(JSONResponse):
    """A write's answer, encoded by pydantic-core (backend/json_codec.py)."""

    def render(self, content: Any) -> bytes:
        return json_codec.dumps_bytes(content)


def _respond(body: Any, status: int, replayed: bool = False) -> JSONResponse:
    headers = {}
    if isinstance(body, dict) and "version" in body and "id" in body:
        headers["ETag"] = f'"{body["version"]}"'
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _Answer(body, status_code=status, headers=headers)


#: The headers of every write, documented on each write route (roles.op) and read by
#: `writer` itself.
WRITE_HEADERS = [
    {"name": "Idempotency-Key", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": _KEY.pattern},
     "description": "Repeat a request safely: same key, same answer, one effect (kept 48 h)."},
    {"name": "If-Match", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": IF_MATCH},
     "description": "The visit's version as its ETag gives it (\"3\"), or *."},
    {"name": "X-Occurred-At", "in": "header", "required": False,
     "schema": {"type": "string", "format": "date-time"},
     "description": "When the user acted (offline replay), ISO 8601 with offset."},
]


async def writer(request: Request) -> Writer:
    """Every write's token, headers and body. Read here by hand, not declared as FastAPI
    parameters and sub-dependencies: on the busiest routes FastAPI's resolution of those
    cost 0.25 ms a request, as much as a bare request (measured)."""
    headers = request.headers
    scheme, _, secret = (headers.get("authorization") or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("Send a token: Authorization: Bearer <token>.")
    actor = await _actor(request, secret)
    idempotency_key = headers.get("idempotency-key")
    if idempotency_key is not None and not _KEY.match(idempotency_key):
        raise Invalid("Idempotency-Key is 1–200 visible ASCII characters.",
                      code="invalid_idempotency_key", status=400)
    when = None
    occurred_at = headers.get("x-occurred-at")
    if occurred_at is not None:
        try:
            if not _RFC3339.match(occurred_at):  # pydantic alone took "0.5" as a Unix time
                raise ValidationError.from_exception_data("date-time", [])
            when = _AWARE.validate_python(occurred_at)
        except ValidationError:
            raise Invalid("X-Occurred-At is an ISO 8601 time with its offset.",
                          code="invalid_occurred_at", status=400) from None
    raw = await request.body()
    return Writer(ctx=request.app.state.ctx, actor=actor, method=request.method,
                  path=request.scope["path"],  # request.url.path builds a whole URL first
                  body_hash=hashlib.sha256(raw).hexdigest(),
                  key=idempotency_key, occurred_at=when,
                  if_match=parse_if_match(headers.get("if-match")))
