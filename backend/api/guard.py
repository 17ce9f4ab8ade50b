"""The guard in front of every route (pure ASGI, before FastAPI parses anything):

- the request line and headers capped (414, 431);
- a body over its limit refused with 413 before it is read: by its Content-Length at once,
  and a chunked one as it streams in;
- a request that carries a body must carry a valid token first: it is checked (and failures
  counted, api/deps.py) before one byte of the body is read;
- every answer says `Cache-Control: no-store` (unless it says otherwise) and
  `X-Content-Type-Options: nosniff`: answers hold personal data, and none is for a cache.

A paired kiosk carries its token in its device cookie (backend/web/auth.py) rather than an
Authorization header: the guard checks that cookie's token the same way. Paths that
authenticate otherwise are listed in PUBLIC_BODY_PREFIXES and must check their own."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException

from .. import json_codec
from ..domain.errors import DomainError, Unauthorized
from .deps import check_secret, client_of

#: Paths whose requests may carry a body without a bearer token (they authenticate in
#: their own way). Keep it short.
PUBLIC_BODY_PREFIXES: tuple[str, ...] = ()
#: The paired device's cookie (backend/web/auth.py sets it).
DEVICE_COOKIE = "skranke_device"
_NO_STORE = (b"cache-control", b"no-store")
_NOSNIFF = (b"x-content-type-options", b"nosniff")


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit: FastAPI lets an
    HTTPException through its body parsing, and the app's handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.",
                         headers={"Connection": "close"})


class Guard:
    def __init__(self, app, *, ctx, max_body: int, max_url: int, max_header: int,
                 body_limits: list[tuple[re.Pattern, int]] | None = None) -> None:
        self.app, self.ctx = app, ctx
        self.max_body, self.max_url, self.max_header = max_body, max_url, max_header
        #: routes that declare a larger body (`x-max-body-bytes` in their OpenAPI)
        self.body_limits = body_limits or []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url = len(scope.get("raw_path") or scope["path"]) + len(scope.get("query_string", b""))
        if url > self.max_url:
            await _answer(send, 414, "uri_too_long",
                          f"The path and query are longer than {self.max_url} bytes.")
            return
        length = auth = cookie = None
        chunked = False
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"authorization":
                auth = value
            elif name == b"cookie":
                cookie = value
        if size > self.max_header:
            await _answer(send, 431, "headers_too_large",
                          f"The headers are larger than {self.max_header} bytes.")
            return
        limit = self._limit(scope["path"])
        declared = 0
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _answer(send, 400, "bad_content_length", "Content-Length is a number.")
                return
            if declared > limit:
                await _answer(send, 413, "too_large",
                              f"The request body is larger than {limit} bytes.")
                return
        if (declared > 0 or chunked) and not scope["path"].startswith(PUBLIC_BODY_PREFIXES):
            refused = await self._token(scope, auth or _device_cookie(cookie))
            if refused is not None:
                await _answer(send, refused.status, refused.code, refused.message,
                              retry_after=refused.extra.get("retry_after"))
                return
        if chunked:
            receive = _counted(receive, limit)
        await self.app(scope, receive, _headers(send))

    def _limit(self, path: str) -> int:
        for pattern, limit in self.body_limits:
            if pattern.match(path):
                return limit
        return self.max_body

    async def _token(self, scope, auth: bytes | None) -> DomainError | None:
        scheme, _, secret = (auth or b"").decode("latin-1").partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            return Unauthorized("Send a token: Authorization: Bearer <token>.")
        try:
            actor = await check_secret(self.ctx, secret, client_of(scope))
        except DomainError as exc:
            return exc
        scope["skranke.actor"] = (secret, actor)
        return None


def _device_cookie(cookie: bytes | None) -> bytes | None:
    """A paired device's cookie as the Authorization header it stands for."""
    if not cookie:
        return None
    for part in cookie.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == DEVICE_COOKIE and value:
            return f"Bearer {value}".encode("latin-1")
    return None


def _counted(receive, limit: int):
    seen = 0

    async def counted():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _headers(send):
    async def with_headers(message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            names = {name.lower() for name, _ in headers}
            if b"cache-control" not in names:
                headers.append(_NO_STORE)
            if b"x-content-type-options" not in names:
                headers.append(_NOSNIFF)
            message = {**message, "headers": headers}
        await send(message)

    return with_headers


async def _answer(send, status: int, code: str, message: str,
                  retry_after: int | None = None) -> None:
    body = json_codec.dumps_bytes({"code": code, "message": message})
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), _NO_STORE, _NOSNIFF]
    if status in (413, 414, 431, 400):  # the rest of the request is not worth reading
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
