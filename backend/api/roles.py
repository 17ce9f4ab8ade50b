"""Who may call what: each route names its roles once; auth and the OpenAPI doc read them."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter

from .deps import WRITE_HEADERS, writer
from .schemas import ErrorOut

CW, REC, SUP = "caseworker", "reception", "supervisor"
KIOSK, DISPLAY, ADMIN, BOOKING = "kiosk", "display", "admin", "booking"
ALL = (CW, REC, SUP, KIOSK, DISPLAY, ADMIN, BOOKING)
STAFF = (CW, REC, SUP)
COUNTER = (CW, SUP)

#: Every error is JSON (ErrorOut), whatever the route's own answer is (stats.csv: CSV).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for code in (400, 401, 403, 404, 409, 412, 413, 422, 429, 503)
}


#: The same for a route whose own answer is not JSON: without the model, which FastAPI would
#: declare in the route's media type too (an error as text/csv), and registered by the rest.
ERRORS_JSON_ONLY = {code: {"content": v["content"]} for code, v in ERRORS.items()}


def op(router: APIRouter, method: str, path: str, roles: tuple[str, ...], **kw: Any):
    def register(endpoint):
        extra: dict[str, Any] = {"x-roles": list(roles)}
        if _writes(endpoint):  # the headers and token `writer` reads itself
            extra["parameters"] = WRITE_HEADERS
            extra["security"] = [{"HTTPBearer": []}]
        media = getattr(kw.get("response_class"), "media_type", "application/json")
        errors = ERRORS if media == "application/json" else ERRORS_JSON_ONLY
        return router.api_route(path, methods=[method], openapi_extra=extra,
                                responses=errors, **kw)(endpoint)

    return register


def _writes(endpoint) -> bool:
    return any(getattr(p.default, "dependency", None) is writer
               for p in inspect.signature(endpoint).parameters.values())
