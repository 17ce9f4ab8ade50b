"""Tokens: failed authentication counted per client and slowed, logged without the token;
an event stream ends within seconds of its token's revocation; streams have a cap."""

from __future__ import annotations

import threading
import time

import httpx


def test_failed_authentication_is_slowed_and_logged_without_the_token(served):
    srv = served(auth_failures_allowed=5, auth_failure_window_seconds=60)
    good = srv.token("reception", "rita")
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        codes = []
        for i in range(8):
            r = c.get("/sites/test/counters", headers={"Authorization": f"Bearer guess-{i}"})
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        # a body is not read either: refused before it
        r = c.post("/sites/test/walk-ins", json={"errand": "health_card", "name": "A"},
                   headers={"Authorization": "Bearer guess-x"})
        assert r.status_code == 429
        # the refusal comes before the lookup: a right guess now gains nothing
        r = c.get("/sites/test/counters", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 429
    srv.stop()
    log = srv.log.read_text()
    assert log.count("failed authentication from 127.0.0.1") >= 5
    assert "guess-" not in log and good not in log


def test_failures_are_counted_in_rows_every_process_sees(served):
    """Two server processes on one database: failures in one count in the other."""
    first = served(auth_failures_allowed=4)
    second = served(auth_failures_allowed=4)
    for url in (first.url, second.url, first.url, second.url):
        assert httpx.get(f"{url}/me", headers={"Authorization": "Bearer nope"}
                         ).status_code == 401
    assert httpx.get(f"{second.url}/me", headers={"Authorization": "Bearer nope"}
                     ).status_code == 429


def _open_stream(url: str, secret: str, ended: dict) -> None:
    try:
        with httpx.stream("GET", f"{url}/sites/test/events",
                          headers={"Authorization": f"Bearer {secret}"},
                          timeout=httpx.Timeout(5, read=60)) as r:
            ended["status"] = r.status_code
            ended["opened"] = time.monotonic()
            for _ in r.iter_raw():
                pass
    except httpx.HTTPError as exc:
        ended["error"] = type(exc).__name__
    ended["at"] = time.monotonic()


def test_a_revoked_tokens_stream_ends_within_five_seconds(served):
    srv = served()
    secret = srv.token("caseworker", "anne")
    other = srv.token("caseworker", "bo")
    ended, kept = {}, {}
    threads = [threading.Thread(target=_open_stream, args=(srv.url, s, d), daemon=True)
               for s, d in ((secret, ended), (other, kept))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while ("opened" not in ended or "opened" not in kept) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ended.get("status") == 200 and kept.get("status") == 200
    time.sleep(1)
    srv.cli("token", "revoke", srv.token_id("anne"))
    revoked = time.monotonic()
    threads[0].join(timeout=10)
    assert "at" in ended, "the stream outlived its token"
    assert ended["at"] - revoked <= 5, ended["at"] - revoked
    assert "error" not in ended, ended  # ended cleanly, not cut
    assert "at" not in kept  # the other token's stream goes on
    r = httpx.get(f"{srv.url}/sites/test/events", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


def test_event_streams_have_a_cap_of_their_own(served):
    srv = served(max_event_streams=2)
    secret = srv.cli("token", "create", "--role", "display", "--person", "tv", "--bearer")
    opened = [{}, {}]
    for d in opened:
        threading.Thread(target=_open_stream, args=(srv.url, secret, d), daemon=True).start()
    deadline = time.monotonic() + 10
    while not all("opened" in d for d in opened) and time.monotonic() < deadline:
        time.sleep(0.05)
    r = httpx.get(f"{srv.url}/sites/test/events", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json()["code"] == "too_many_streams"
    assert httpx.get(f"{srv.url}/health").status_code == 200


def test_a_failure_window_passes_and_is_forgotten(ctx):
    from backend.services import throttle
    from backend.services.tick import tick
    from backend.storage.models import AuthFailureRow

    now = ctx.clock.now()
    with ctx.db.write() as s:
        for _ in range(3):
            count, wait = throttle.record(s, "10.0.0.9", now, 3, 60)
    assert count == 3 and wait == 60
    with ctx.db.read() as s:
        assert throttle.retry_after(s, "10.0.0.9", ctx.clock.now(), 3, 60) == 60
    ctx.clock.advance(seconds=61)
    with ctx.db.read() as s:
        assert throttle.retry_after(s, "10.0.0.9", ctx.clock.now(), 3, 60) is None
    tick(ctx)
    with ctx.db.read() as s:
        assert s.get(AuthFailureRow, "10.0.0.9") is None  # the address is not kept
