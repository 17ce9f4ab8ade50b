"""Who may call what: each route names its roles once; auth and the OpenAPI doc read them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .schemas import ErrorOut

CW, REC, SUP = "caseworker", "reception", "supervisor"
KIOSK, DISPLAY, ADMIN, BOOKING = "kiosk", "display", "admin", "booking"
ALL = (CW, REC, SUP, KIOSK, DISPLAY, ADMIN, BOOKING)
STAFF = (CW, REC, SUP)
COUNTER = (CW, SUP)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 412, 422, 429)
}


def op(router: APIRouter, method: str, path: str, roles: tuple[str, ...], **kw: Any):
    extra = {"x-roles": list(roles)}
    return router.api_route(path, methods=[method], openapi_extra=extra, responses=ERRORS,
                            **kw)
