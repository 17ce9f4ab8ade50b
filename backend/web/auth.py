"""How a paired device is trusted: its cookie holds its token's secret (HttpOnly,
SameSite=Strict), read here and checked by the API's own token check (api/deps.py), with
the route's roles, the token cache and revocation as for any token."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

from ..api.deps import Writer, current_actor, writer
from ..api.guard import DEVICE_COOKIE
from ..domain.errors import Invalid, Unauthorized
from ..services.context import Actor

COOKIE = DEVICE_COOKIE


def set_cookie(response, secret: str, max_age: int, secure: bool) -> None:
    response.set_cookie(COOKIE, secret, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=secure)


async def device_actor(request: Request) -> Actor:
    """The paired device (or a bearer token, for tools), if the route's roles admit it."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, secret = header.partition(" ")
        creds = HTTPAuthorizationCredentials(scheme=scheme, credentials=secret.strip())
        return await current_actor(request, creds)
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise Unauthorized("This screen is not paired: open its pairing URL "
                           "(skranke-server token create --role display|kiosk).",
                           code="not_paired")
    return await current_actor(request, HTTPAuthorizationCredentials(scheme="Bearer",
                                                                     credentials=secret))


async def device_writer(request: Request) -> Writer:
    """The API's write wrapper (idempotency, one transaction on the write thread) for a paired
    kiosk: its cookie is handed to `writer` as the bearer token. Kiosk writes must carry an
    Idempotency-Key (and so cannot be sent cross-site without a preflight either)."""
    if not request.headers.get("idempotency-key"):
        raise Invalid("A kiosk's write carries an Idempotency-Key.",
                      code="idempotency_key_required", status=400)
    if "authorization" not in request.headers:
        secret = request.cookies.get(COOKIE)
        if not secret:
            raise Unauthorized("This kiosk is not paired.", code="not_paired")
        request.scope["headers"] = [*request.scope["headers"],
                                    (b"authorization", f"Bearer {secret}".encode())]
        request.__dict__.pop("_headers", None)
    return await writer(request)
