"""The app's routes, added to its own list as they are (backend/api/app.py add_routes), serve
what FastAPI's `include_router` served: the same OpenAPI document, the same 404 and 405
answers, and now each 405 names the methods its path takes (RFC 9110's Allow; through
`include_router` it came out empty)."""

from __future__ import annotations

import re

import httpx
from fastapi import APIRouter

from backend.api import app as app_module
from backend.web.routes import router as web_router

from .helpers import LiveServer, make_ctx, token

PARAMS = {"site_id": "test", "visit_id": "1", "number": "1", "code": "old_passport",
          "ref": "ABCDEFGH"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNKNOWN = ("/no/such/thing", "/sites/test/nothing", "/static/wr/none.css", "/docs", "/redoc",
           "/visits/1/nothing", "/openapi.yaml")


def _include_router(app, routes) -> None:
    """What create_app did before: the routes through one included router."""
    router = APIRouter()
    router.routes.extend(routes)
    app.include_router(router)


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PARAMS.get(m[1], "x" * 20), path)


def _served(tmp_path, name: str) -> tuple[dict, dict]:
    """The OpenAPI document, and the answer to every method a path does not take and to
    paths that do not exist."""
    ctx = make_ctx(tmp_path / name)
    try:
        with LiveServer(ctx) as live, httpx.Client(base_url=live.url, timeout=20) as c:
            h = {"Authorization": f"Bearer {token(ctx, 'supervisor', 'sven')}"}
            spec = c.get("/openapi.json").json()
            paths: dict[str, set[str]] = {}
            for path, ops in spec["paths"].items():
                paths.setdefault(_concrete(path), set()).update(m.upper() for m in ops)
            for route in web_router.routes:  # the waiting room's, not in the document
                paths.setdefault(_concrete(route.path), set()).update(route.methods)
            answers = {}
            for path, methods in sorted(paths.items()):
                for method in METHODS:
                    if method not in methods:
                        r = c.request(method, path, headers=h)
                        answers[method, path] = (r.status_code, r.json(),
                                                 r.headers.get("allow"), sorted(methods))
            for path in UNKNOWN:
                for method in ("GET", "POST"):
                    r = c.request(method, path, headers=h)
                    answers[method, path] = (r.status_code, r.json(), r.headers.get("allow"),
                                             None)
            return spec, answers
    finally:
        ctx.db.dispose()


def test_routes_serve_what_include_router_served(tmp_path, monkeypatch):
    spec, answers = _served(tmp_path, "now")
    with monkeypatch.context() as m:
        m.setattr(app_module, "add_routes", _include_router)
        before_spec, before = _served(tmp_path, "before")

    assert spec == before_spec
    assert list(spec["paths"]) == list(before_spec["paths"])  # the busiest first, as before
    assert answers.keys() == before.keys() and len(answers) > 60
    for (method, path), answer in answers.items():
        old = before[method, path]
        assert answer[:2] == old[:2], (method, path)  # status and body
        if answer[3] is None:  # a path no route serves: 404 (POST to the static files: 405)
            assert answer == old, (method, path)
            assert answer[0] == 404 or path.startswith("/static/"), (method, path)
        else:
            assert answer[0] == 405 and answer[1]["code"] == "method_not_allowed"
            # every method of the path (also of a second route on it), where
            # include_router's said none
            assert set(answer[2].split(", ")) >= set(answer[3]), (method, path, answer[2])
            assert old[2] == ""
    assert sum(a[3] is not None for a in answers.values()) > 200
