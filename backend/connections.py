"""Connections a hostile or broken client cannot hold: uvicorn's HTTP protocol (httptools)
with a deadline for a request's header block and a cap on its size, and the settings for
uvicorn's own keep-alive timeout and connection cap.

uvicorn closes an idle keep-alive connection (`timeout_keep_alive`) but has no deadline for
a request's headers: a socket that never sends a byte, or sends its headers a byte a
second, stays open for as long as the client wishes, and with httptools a header block has
no size limit (a 20 MB header was read in full). Here a connection must deliver each
request's whole header block within `header_timeout_seconds` of its first byte (or of the
connection's opening) and in at most `max_header_bytes` (plus the URL limit), else it gets
408 or 431 and is closed. Measured in tests/security/test_connections.py."""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import json_codec
from .settings import Settings

log = logging.getLogger("skranke.connections")


def _raw(status: bytes, code: str, message: str) -> bytes:
    body = json_codec.dumps_bytes({"code": code, "message": message})
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() +
            b"\r\n\r\n" + body)


_TOO_SLOW = _raw(b"408 Request Timeout", "request_timeout",
                 "The request's headers did not arrive in time.")
_TOO_BIG = _raw(b"431 Request Header Fields Too Large", "headers_too_large",
                "The request's headers are too large.")


class GuardedHttp(HttpToolsProtocol):
    """HttpToolsProtocol with a header deadline and a header size cap (set by configure)."""

    header_timeout: float = 10.0
    max_head_bytes: int = 16_384 + 4096

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # still in the head after this data: a head larger than the cap is refused (a chunk
        # may hold a whole small request, head and body, so only an unfinished head counts)
        if self._in_head and self._head_bytes > self.max_head_bytes \
                and not self.transport.is_closing():
            log.warning("headers too large from %s: closed", self._who())
            self._refuse(_TOO_BIG)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head = True
            self._head_bytes = 0
            self._arm()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes:  # a request begun and not finished: say why
            log.warning("headers too slow from %s: closed", self._who())
            self._refuse(_TOO_SLOW)
        else:  # a connection that never said anything: close it, like an idle keep-alive
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self.transport.write(answer)
        self.transport.close()

    def _who(self) -> str:
        return self.client[0] if self.client else "?"


def configure(settings: Settings) -> None:
    GuardedHttp.header_timeout = settings.header_timeout_seconds
    GuardedHttp.max_head_bytes = settings.max_header_bytes + settings.max_url_bytes


def open_files() -> int | None:
    """Raise this process's soft limit of open files to its hard limit (POSIX; a service
    manager's LimitNOFILE sets the hard one) and return it; None where there is none."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def uvicorn_options(settings: Settings) -> dict:
    """uvicorn.Config's arguments for connections: the guarded protocol, the keep-alive
    timeout, and a connection cap under the open-file limit (past it uvicorn answers 503
    rather than failing to accept)."""
    configure(settings)
    cap = settings.max_connections
    files = open_files()
    if files is not None and cap > files - 64:
        log.warning("max_connections %d is above the open-file limit %d: capped at %d "
                    "(raise LimitNOFILE, docs/operations.md)", cap, files, files - 64)
        cap = max(16, files - 64)
    return {"http": GuardedHttp, "timeout_keep_alive": settings.keep_alive_seconds,
            "limit_concurrency": cap,
            "h11_max_incomplete_event_size": settings.max_header_bytes}
