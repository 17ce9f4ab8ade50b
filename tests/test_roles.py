"""Who may do what: every route × every role, from the served OpenAPI document."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter

from backend.api import routes_audit, routes_bookings, routes_reception, routes_sites, routes_visits
from backend.api.roles import _writes
from backend.services.context import ROLES

from .helpers import token
from .test_api_visits import arrived

PARAMS = {"site_id": "test", "visit_id": "1", "number": "1", "code": "old_passport",
          "ref": "ABCDEFGH"}


def routes(client):
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "x-roles" in op:
                yield method.upper(), re.sub(r"{(\w+)}", lambda m: PARAMS[m[1]], path), \
                    op["x-roles"]


def test_every_route_but_health_names_its_roles(client):
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path not in ("/health", "/health/live", "/health/ready"):  # no token needed
                assert op.get("x-roles"), f"{method} {path} names no roles"


def test_every_write_documents_its_token_and_headers(client):
    """`writer` reads its headers by hand; the OpenAPI document still names them."""
    spec = client.get("/openapi.json").json()
    routers = [v for m in (routes_audit, routes_bookings, routes_reception, routes_sites,
                           routes_visits) for v in vars(m).values() if isinstance(v, APIRouter)]
    writes = {(m.lower(), r.path) for router in routers for r in router.routes
              if _writes(r.endpoint) for m in r.methods}
    assert len(writes) >= 24
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            if (method, path) in writes:
                assert {"Idempotency-Key", "If-Match", "X-Occurred-At"} <= names, path
                assert op["security"] == [{"HTTPBearer": []}], f"{method} {path}"
            else:
                assert "Idempotency-Key" not in names, f"{method} {path}"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_forbidden_role_route_pairs_answer_403(ctx, client):
    secrets = {role: token(ctx, role) for role in ROLES}
    checked = 0
    for method, path, allowed in routes(client):
        for role in ROLES:
            if role in allowed:
                continue
            r = client.request(method, path, headers={"Authorization": f"Bearer {secrets[role]}"},
                               params={"date": "2026-11-24", "errand": "mitid"})
            assert r.status_code == 403, (role, method, path, r.text)
            assert r.json()["code"] == "forbidden"
            checked += 1
    assert checked > 100


def test_allowed_roles_get_past_the_role_check(ctx, client):
    secrets = {role: token(ctx, role) for role in ROLES}
    for method, path, allowed in routes(client):
        if path.endswith("/events"):
            continue  # a stream never ends; its roles are checked in test_events
        for role in allowed:
            r = client.request(method, path, headers={"Authorization": f"Bearer {secrets[role]}"},
                               params={"date": "2026-11-24", "errand": "mitid"})
            assert r.status_code != 403 or r.json()["code"] != "forbidden", (role, method, path)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer skr_nonsense", "Basic abc"])
def test_missing_or_bad_token_is_401(client, header):
    h = {"Authorization": header} if header is not None else {}
    r = client.get("/sites/test/day", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_expired_and_revoked_tokens(ctx, client):
    from backend.services import tokens as tk

    secret = token(ctx, "reception", days=1)
    h = {"Authorization": f"Bearer {secret}"}
    assert client.get("/me", headers=h).status_code == 200
    ctx.clock.advance(days=1, seconds=1)
    r = client.get("/me", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    secret = token(ctx, "reception")
    with ctx.db.write() as s:
        tid = tk.authenticate(s, secret, ctx.clock.now()).token_id
        tk.revoke(s, tid, ctx.clock.now())
    r = client.get("/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and r.json()["code"] == "token_revoked"


def test_tokens_are_stored_only_as_their_hash(ctx):
    from sqlalchemy import select

    from backend.storage.models import TokenRow

    secret = token(ctx, "caseworker")
    with ctx.db.read() as s:
        rows = s.scalars(select(TokenRow)).all()
    assert secret.startswith("skr_") and len(secret) > 40
    assert all(secret not in (r.token_hash, r.id, r.label) for r in rows)


def test_caseworker_cannot_act_on_another_counters_visit(rec, cw, as_role):
    bo = as_role("caseworker", "bo")
    bo.post("/sites/test/counters/2/open")
    arrived(rec)
    vid = bo.post("/sites/test/counters/2/call-next").json()["visit"]["id"]
    for method, path, body in [
        ("post", f"/visits/{vid}/start", None), ("post", f"/visits/{vid}/recall", None),
        ("post", f"/visits/{vid}/requeue", None), ("post", f"/visits/{vid}/no-show", None),
        ("post", f"/visits/{vid}/notes", {"text": "x"}),
        ("put", f"/visits/{vid}/documents/old_passport", {"status": "present"}),
        ("post", f"/visits/{vid}/cpr", None),
    ]:
        r = getattr(cw, method)(path, json=body)
        assert r.status_code == 403 and r.json()["code"] == "not_your_visit", (path, r.text)
    for path in ("/sites/test/counters/2/call-next", "/sites/test/counters/2/pause",
                 "/sites/test/counters/2/close"):
        r = cw.post(path)
        assert r.status_code == 403 and r.json()["code"] == "not_your_counter", path
    # the supervisor may
    sup = as_role("supervisor", "sven")
    assert sup.post(f"/visits/{vid}/start").status_code == 200


def test_the_busiest_routes_exist_and_are_matched_first(client):
    from backend.api.app import BUSIEST

    spec = client.get("/openapi.json").json()
    busiest = list(dict.fromkeys(p for _, p in BUSIEST))
    assert list(spec["paths"])[:len(busiest)] == busiest
    for method, path in BUSIEST:
        assert method.lower() in spec["paths"][path]
