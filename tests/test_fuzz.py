"""Random requests against every route: always a JSON answer with a code, never a 500."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import LiveServer, make_ctx, token

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=20)
    | st.sampled_from(["mitid", "served", "present", "0101901234", "2026-11-24T10:00:00+01:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=8)
bodies = st.dictionaries(st.sampled_from(
    ["errand", "name", "cpr", "phone", "outcome", "status", "counter", "priority", "text",
     "reason", "start", "booking_ref", "errands", "documents", "note", "referred_to",
     "junk"]), json_values, max_size=5) | json_values
params = st.sampled_from(["1", "2", "0", "-1", "999999", "abc", "test", "nope", "ABCDEFGH",
                          "photo_id", "x" * 50])


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    ctx = make_ctx(tmp_path_factory.mktemp("fuzz"))
    secret = token(ctx, "supervisor", "sven")
    with LiveServer(ctx) as server, httpx.Client(base_url=server.url, timeout=10) as c:
        h = {"Authorization": f"Bearer {secret}"}
        c.post("/sites/test/counters/1/open", headers=h)
        c.post("/sites/test/walk-ins", headers=h, json={"errand": "mitid", "name": "A"})
        routes = [(m.upper(), p) for p, ops in c.get("/openapi.json").json()["paths"].items()
                  for m in ops if not p.endswith("/events")]
        yield c, h, routes
    ctx.db.dispose()


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_route_answers_500(live, data):
    c, h, routes = live
    method, path = data.draw(st.sampled_from(routes))
    url = re.sub(r"{\w+}", lambda _: data.draw(params), path)
    body = data.draw(bodies)
    query = data.draw(st.dictionaries(st.sampled_from(["date", "errand", "since"]),
                                      st.text(max_size=12), max_size=2))
    r = c.request(method, url, headers={**h, "Idempotency-Key": data.draw(
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10))},
        json=body, params=query)
    assert r.status_code < 500, (method, url, body, r.text)
    if r.status_code == 204:  # No Content: no body, so no type (the console's presence)
        assert not r.content
        return
    assert r.headers["content-type"].startswith("application/json")
    if r.status_code >= 400:
        assert {"code", "message"} <= set(r.json()), r.text
