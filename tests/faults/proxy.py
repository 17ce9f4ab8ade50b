"""A loopback TCP proxy for the fault tests: between the console and a real server, it
passes bytes on, or delays them, black-holes them (accepts and never answers, like a
frozen peer or a silent network drop), cuts a response in half, resets a connection
after the server answered, or answers writes itself with a 503 "databasen er optaget"
(the console side of a locked database). HTTP/1.1 requests are framed by their
Content-Length so a rule can pick one request (its method and path); responses are passed
on as they come. asyncio only, loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from dataclasses import dataclass, field


@dataclass
class _Conn:
    writer: asyncio.StreamWriter
    dead: bool = False  # black-holed once: never speaks again (a half-open connection)
    then: str = ""  # what to do with the next response: "cut" or "reset"


@dataclass
class Proxy:
    upstream_port: int
    delay: float = 0.0
    blackhole: bool = False
    #: "METHOD path-part" of requests whose response is cut in half / reset, once each
    cut: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    #: answer writes whose path contains this with a 503 until `busy_until` (monotonic)
    busy_path: str = ""
    busy_until: float = 0.0
    busy_reason: str = "databasen er optaget / the database is busy"  # as the backend says it
    #: request lines forwarded to the server, and the ones answered by the proxy
    forwarded: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    port: int = 0

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks: set[asyncio.Task] = set()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        conn = _Conn(writer)
        try:
            if self.blackhole:  # accept, read, never answer
                conn.dead = True
                while await reader.read(65536):
                    pass
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1",
                                                                     self.upstream_port)
            except OSError:  # the server is down: the client sees its connection closed
                _abort(writer)
                return
            pumps = [asyncio.create_task(self._requests(conn, reader, up_writer)),
                     asyncio.create_task(self._responses(conn, up_reader))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for p in pumps:
                    p.cancel()
                up_writer.close()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()
            self._tasks.discard(task)

    async def _requests(self, conn: _Conn, reader: asyncio.StreamReader,
                        up: asyncio.StreamWriter) -> None:
        buf = b""
        while data := await reader.read(65536):
            if self.blackhole or conn.dead:
                conn.dead = True
                continue
            buf += data
            while (request := _take(buf)) is not None:
                raw, buf = request
                line = raw.split(b"\r\n", 1)[0].decode("latin-1")
                method, path = line.split(" ")[:2]
                said = f"{method} {path}"
                if method != "GET" and self.busy_path and self.busy_path in path \
                        and time.monotonic() < self.busy_until:
                    self.answered.append(said)
                    body = json.dumps({"code": "database_busy", "message": self.busy_reason,
                                       "retry_after": 1}).encode()
                    conn.writer.write(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json"
                        b"\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                    await conn.writer.drain()
                    continue
                for rule, what in ((self.cut, "cut"), (self.reset, "reset")):
                    hit = next((r for r in rule if said.startswith(r.split(" ")[0])
                                and r.split(" ", 1)[1] in path), None)
                    if hit is not None:
                        rule.remove(hit)
                        conn.then = what
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.forwarded.append(said)
                up.write(raw)
                await up.drain()

    async def _responses(self, conn: _Conn, up_reader: asyncio.StreamReader) -> None:
        while data := await up_reader.read(65536):
            if self.blackhole or conn.dead:
                conn.dead = True
                continue
            if self.delay:
                await asyncio.sleep(self.delay)
            if conn.then == "cut":  # half the answer, then the connection closes
                conn.writer.write(data[: len(data) // 2])
                await conn.writer.drain()
                conn.writer.close()
                return
            if conn.then == "reset":  # the server answered; the client gets a reset
                _abort(conn.writer)
                return
            conn.writer.write(data)
            await conn.writer.drain()


def _take(buf: bytes) -> tuple[bytes, bytes] | None:
    """One whole request off the front of `buf` (headers and Content-Length body)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = 0
    for header in buf[:end].split(b"\r\n")[1:]:
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    total = end + 4 + length
    if len(buf) < total:
        return None
    return buf[:total], buf[total:]


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
