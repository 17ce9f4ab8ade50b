"""The backend's HTTP API as typed async methods, one per endpoint the console uses.

One `httpx.AsyncClient`; explicit timeouts; a few retries within a few seconds (a key press
must not hang) that reuse the action's one `Idempotency-Key`, so a retried write happens
once. Errors come back as the types in `console.errors`: a write that was sent but not
answered is `Unknown` (never a failure; console/unknown.py follows it to its answer), one
that never left is `Offline`. No Textual here.
"""

from __future__ import annotations

import functools
import os
import ssl
import uuid
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
import stamina
from httpx_sse import aconnect_sse
from pydantic import BaseModel

from . import errors
from .config import Config
from .models import CallNext, Counter, Day, FreeTimes, Me, Visit

M = TypeVar("M", bound=BaseModel)
_RETRY_STATUS = {502, 503, 504}
#: failures that happen before a request leaves: the backend cannot have acted on it
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def make_client(cfg: Config, token: str) -> SkrankeClient:
    """The client for the configured backend and site, with the configured timeouts."""
    s = cfg.server
    return SkrankeClient(s.url, token, s.site, verify=s.ca_bundle or s.verify_tls,
                         connect_timeout=s.connect_timeout, read_timeout=s.read_timeout,
                         stream_silence=s.stream_silence)


@functools.cache
def tls_context(verify: bool | str) -> ssl.SSLContext | bool:
    """The TLS settings for `verify` (True: the system's and certifi's authorities; a path: a
    CA bundle file or folder; False: no check), built once per process: reading the
    authorities costs 0.05-0.3 s, and a console makes a new client after every setup."""
    if verify is False:
        return False
    if isinstance(verify, str):
        folder = os.path.isdir(verify)
        return ssl.create_default_context(cafile=None if folder else verify,
                                          capath=verify if folder else None)
    return httpx.create_ssl_context()


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class SkrankeClient:
    def __init__(self, base_url: str, token: str, site: str, *, verify: bool | str = True,
                 connect_timeout: float = 3.0, read_timeout: float = 5.0,
                 attempts: int = 3, retry_seconds: float = 4.0, stream_silence: float = 12.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.site = site
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        self.stream_silence = stream_silence
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), verify=tls_context(verify), transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "skranke-console"},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SkrankeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the one place requests are made ---------------------------------------------------
    async def request(self, method: str, path: str, *, json: Any = None,
                      params: dict[str, Any] | None = None, if_match: int | None = None,
                      occurred_at: datetime | None = None, key: str | None = None,
                      as_text: bool = False, attempts: int | None = None) -> Any:
        """One request, retried a few times within seconds with one Idempotency-Key.

        Raises `errors.Offline` when no attempt reached the backend (nothing happened),
        `errors.Unknown` when a write was sent but no definite answer came (no answer in
        time, a cut connection, a 5xx or 503): send it again with the same `key`; else the
        backend's refusal (a 4xx) as its `errors` type."""
        headers: dict[str, str] = {}
        if method != "GET":
            headers["Idempotency-Key"] = key or str(uuid.uuid4())  # one key for all attempts
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if occurred_at is not None:
            headers["X-Occurred-At"] = occurred_at.isoformat()
        sent = False  # whether an attempt may have reached the backend
        try:
            async for attempt in stamina.retry_context(
                    on=(httpx.TransportError, _Retryable), attempts=attempts or self.attempts,
                    timeout=self.retry_seconds, wait_initial=0.1, wait_max=1.0):
                with attempt:
                    try:
                        response = await self._http.request(method, path, json=json,
                                                            params=params, headers=headers)
                    except _NOT_SENT:
                        raise
                    except httpx.TransportError:
                        sent = True  # the request may be in the server's hands
                        raise
                    if response.status_code in _RETRY_STATUS:
                        raise _Retryable(response)
        except httpx.TransportError as exc:
            why = type(exc).__name__
            if sent and method != "GET":
                raise errors.Unknown(f"Sent, but no answer came ({why}).",
                                     code="no_answer") from None
            raise errors.Offline(f"The backend cannot be reached ({why}).",
                                 code="timeout" if isinstance(exc, httpx.TimeoutException)
                                 else "offline") from None
        except _Retryable as exc:
            response = exc.response
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text[:200] or f"HTTP {response.status_code}"}
            body = body if isinstance(body, dict) else {}
            if response.status_code >= 500 and method != "GET":
                # the server took the request and did not say how it ended: unknown
                if "retry_after" not in body and response.headers.get("retry-after"):
                    body["retry_after"] = response.headers["retry-after"]
                raise errors.Unknown(str(body.get("message") or f"HTTP {response.status_code}"),
                                     code=str(body.get("code", "server_error")),
                                     status=response.status_code, body=body)
            raise errors.from_response(response.status_code, body)
        if response.status_code == 204:  # no content (a heartbeat's answer)
            return None
        return response.text if as_text else response.json()

    def events(self, last_event_id: int):
        """The site's event stream after `last_event_id` (an async context manager that
        yields an httpx-sse EventSource); a short connect timeout, and a read timeout of
        `stream_silence`: the server sends a heartbeat every 5 s, so a stream without a byte
        for that long is a frozen server or a dead connection (httpx.ReadTimeout)."""
        return aconnect_sse(self._http, "GET", f"/sites/{self.site}/events",
                            headers={"Last-Event-ID": str(last_event_id)},
                            timeout=httpx.Timeout(self.stream_silence, connect=3))

    async def _visit(self, method: str, path: str, **kw: Any) -> Visit:
        return Visit.model_validate(await self.request(method, path, **kw))

    # --- reading ----------------------------------------------------------------------------
    async def me(self) -> Me:
        return Me.model_validate(await self.request("GET", "/me"))

    async def errands(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/errands")

    async def day(self, on: date | None = None) -> Day:
        params = {"date": on.isoformat()} if on else None
        return Day.model_validate(await self.request("GET", f"/sites/{self.site}/day",
                                                     params=params))

    async def visit(self, visit_id: int) -> Visit:
        return await self._visit("GET", f"/visits/{visit_id}")

    async def counters(self) -> list[Counter]:
        rows = await self.request("GET", f"/sites/{self.site}/counters")
        return [Counter.model_validate(r) for r in rows]

    async def free_times(self, errand: str, on: date) -> FreeTimes:
        return FreeTimes.model_validate(await self.request(
            "GET", f"/sites/{self.site}/free-times",
            params={"errand": errand, "date": on.isoformat()}))

    # --- counters -----------------------------------------------------------------------------
    async def open_counter(self, number: int, **kw: Any) -> Counter:
        return Counter.model_validate(await self.request(
            "POST", f"/sites/{self.site}/counters/{number}/open", **kw))

    async def pause_counter(self, number: int, **kw: Any) -> Counter:
        return Counter.model_validate(await self.request(
            "POST", f"/sites/{self.site}/counters/{number}/pause", **kw))

    async def close_counter(self, number: int, **kw: Any) -> Counter:
        return Counter.model_validate(await self.request(
            "POST", f"/sites/{self.site}/counters/{number}/close", **kw))

    async def call_next(self, number: int, **kw: Any) -> CallNext:
        return CallNext.model_validate(await self.request(
            "POST", f"/sites/{self.site}/counters/{number}/call-next", **kw))

    # --- visits ---------------------------------------------------------------------------------
    async def call(self, visit_id: int, counter: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/call",
                                 json={"counter": counter}, **kw)

    async def recall(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/recall", **kw)

    async def start(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/start", **kw)

    async def park(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/park", **kw)

    async def resume(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/resume", **kw)

    async def requeue(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/requeue", **kw)

    async def transfer(self, visit_id: int, *, counter: int | None = None,
                       errand: str | None = None, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/transfer",
                                 json={"counter": counter, "errand": errand}, **kw)

    async def no_show(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/no-show", **kw)

    async def undo_no_show(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/undo-no-show", **kw)

    async def walk_out(self, visit_id: int, reason: str = "left", **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/walk-out",
                                 json={"reason": reason}, **kw)

    async def finish(self, visit_id: int, outcome: str, *, note: str | None = None,
                     referred_to: str | None = None, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/finish",
                                 json={"outcome": outcome, "note": note,
                                       "referred_to": referred_to}, **kw)

    async def set_document(self, visit_id: int, code: str, status: str, **kw: Any) -> Visit:
        return await self._visit("PUT", f"/visits/{visit_id}/documents/{code}",
                                 json={"status": status}, **kw)

    async def add_note(self, visit_id: int, text: str, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/notes", json={"text": text},
                                 **kw)

    async def reveal_cpr(self, visit_id: int) -> str | None:
        return (await self.request("POST", f"/visits/{visit_id}/cpr"))["cpr"]

    async def check_in(self, visit_id: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/check-in", **kw)

    async def move(self, visit_id: int, counter: int | None, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/move",
                                 json={"counter": counter}, **kw)

    async def set_priority(self, visit_id: int, priority: int, **kw: Any) -> Visit:
        return await self._visit("POST", f"/visits/{visit_id}/priority",
                                 json={"priority": priority}, **kw)

    async def walk_in(self, errand: str, name: str, *, cpr: str | None = None,
                      phone: str | None = None, documents: dict[str, str] | None = None,
                      **kw: Any) -> Visit:
        return await self._visit("POST", f"/sites/{self.site}/walk-ins",
                                 json={"errand": errand, "name": name, "cpr": cpr,
                                       "phone": phone, "documents": documents or {}}, **kw)

    async def search(self, *, name: str | None = None, cpr: str | None = None) -> list[Visit]:
        """Today's visits by name or CPR (in the body: a CPR never goes in a URL)."""
        rows = await self.request("POST", f"/sites/{self.site}/search",
                                  json={"name": name, "cpr": cpr})
        return [Visit.model_validate(r) for r in rows]

    async def check_in_ref(self, booking_ref: str, **kw: Any) -> Visit:
        return await self._visit("POST", f"/sites/{self.site}/check-in",
                                 json={"booking_ref": booking_ref}, **kw)

    async def stats(self, start: date, end: date) -> dict[str, Any]:
        return await self.request("GET", f"/sites/{self.site}/stats",
                                  params={"from": start.isoformat(), "to": end.isoformat()})

    async def stats_csv(self, start: date, end: date) -> str:
        return await self.request("GET", f"/sites/{self.site}/stats.csv", as_text=True,
                                  params={"from": start.isoformat(), "to": end.isoformat()})

    async def municipality_stats(self, start: date, end: date) -> dict[str, Any]:
        """Every site's figures and all of them together (a token not bound to a site)."""
        return await self.request("GET", "/stats",
                                  params={"from": start.isoformat(), "to": end.isoformat()})

    async def municipality_stats_csv(self, start: date, end: date) -> str:
        return await self.request("GET", "/stats.csv", as_text=True,
                                  params={"from": start.isoformat(), "to": end.isoformat()})

    async def book(self, errand: str, start: datetime, name: str, *, cpr: str | None = None,
                   phone: str | None = None, note: str | None = None, **kw: Any) -> Visit:
        return await self._visit("POST", f"/sites/{self.site}/bookings",
                                 json={"errand": errand, "start": start.isoformat(),
                                       "name": name, "cpr": cpr, "phone": phone,
                                       "note": note}, **kw)
