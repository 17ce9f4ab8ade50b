"""Browser tests of the waiting room: Debian's headless Chromium, driven by Playwright
(never a browser Playwright downloads), against a real server on loopback. One browser
per test module; each test gets fresh contexts (cookies) and a fresh database."""

from __future__ import annotations

import itertools
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from backend.api.app import create_app
from backend.web import pairing

from ..helpers import T0, Api, ThreadServer, free_port, make_ctx, tls, token

CHROMIUM = os.environ.get("SKRANKE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync",
        "--disable-default-apps", "--mute-audio", "--disable-dev-shm-usage"]
OUT = Path(__file__).parent / "output"
VENDOR = Path(__file__).parent / "vendor"
AXE = VENDOR / "axe-core-4.14.1" / "axe.min.js"
#: Personal data the tests give the backend; none of it may reach a device.
NAMES = ("Karen Jensen", "Ole Hansen", "Mette Frederiksen-Sørensen")
CPR = "0101901234"
PHONE = "+45 12 34 56 78"
_refs = itertools.count()


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module: Playwright's sync API runs an event loop in this thread
    while it is open, and other tests (asyncio.run) must not meet it, in any order."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Server:
    """The app under uvicorn in a thread, on a port that survives a stop and a start."""

    def __init__(self, ctx, port: int | None = None) -> None:
        self.ctx = ctx
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: ThreadServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(create_app(self.ctx, run_ticks=False), host="127.0.0.1",
                                port=self.port, log_level="warning",
                                timeout_graceful_shutdown=3)
        self.server = ThreadServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None:
            from sse_starlette.sse import AppStatus

            # sse-starlette ends its streams when told to (under `serve` its SIGTERM hook
            # tells it; a server in a thread has no signal handlers)
            AppStatus.should_exit = True
            self.server.stop()
            try:
                self.thread.join(timeout=15)
            finally:
                AppStatus.should_exit = False
            self.server = None


class Room:
    """A site with a server, staff tokens, and pairing for devices."""

    def __init__(self, tmp: Path, browser, **settings) -> None:
        self.ctx = make_ctx(tmp)
        self.ctx.settings = self.ctx.settings.model_copy(update={
            "device_ping_seconds": 1.0, "display_stale_seconds": 3.0, "kiosk_idle_seconds": 6,
            **settings})
        self.browser = browser
        self.server = Server(self.ctx)
        self.server.start()
        self.url = self.server.url
        self.http = httpx.Client(base_url=self.url, timeout=20, verify=tls())
        self.rec = Api(self.http, token(self.ctx, "reception", "rita"))
        self.cw = Api(self.http, token(self.ctx, "caseworker", "anne"))
        self.kiosk_api = Api(self.http, token(self.ctx, "kiosk", "kiosk-api"))
        assert self.cw.post("/sites/test/counters/1/open").status_code == 200
        self.contexts: list = []

    def pairing_code(self, role: str) -> str:
        with self.ctx.db.write() as s:
            code, _ = pairing.create(s, role, f"{role}-{next(_refs)}", "test",
                                     self.ctx.clock.now(), 30, 24)
        return code

    def page(self, viewport=(1920, 1080), role: str | None = None, path: str | None = None,
             **context_kw):
        context = self.browser.new_context(viewport={"width": viewport[0],
                                                     "height": viewport[1]}, **context_kw)
        self.contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        if role:
            page.goto(f"{self.url}/pair/{self.pairing_code(role)}")
            page.click("#go")  # rather than wait for the page's own redirect
            page.wait_for_url(f"**/{role}/test", timeout=10_000)
        if path:
            page.goto(self.url + path)
        return page

    def book(self, minutes: int = 0, name: str = NAMES[0], errand: str = "passport_adult"
             ) -> dict:
        start = (T0 + timedelta(minutes=minutes)).isoformat()
        r = self.rec.post("/sites/test/bookings", json={
            "errand": errand, "start": start, "name": name, "cpr": CPR, "phone": PHONE})
        assert r.status_code == 201, r.text
        return r.json()

    def ticket(self, minutes: int = 0, name: str = NAMES[0]) -> dict:
        """A booked citizen checked in at the kiosk (through its API): its answer, with the
        ticket page's URL."""
        v = self.book(minutes, name)
        r = self.kiosk_api.post("/kiosk/test/api/check-in",
                                json={"booking_ref": v["booking_ref"]})
        assert r.status_code == 200, r.text
        return {**r.json(), "visit_id": v["id"]}

    def walk_in(self, errand: str = "health_card") -> dict:
        """A walk-in with every document, queued at the kiosk (through its API)."""
        docs = {d.code: True for d in self.ctx.catalogue.by_code[errand].documents}
        r = self.kiosk_api.post("/kiosk/test/api/walk-in",
                                json={"errand": errand, "documents": docs})
        assert r.status_code == 201, r.text
        return r.json()

    def call_next(self, counter: int = 1) -> dict:
        r = self.cw.post(f"/sites/test/counters/{counter}/call-next")
        assert r.status_code == 200, r.text
        return r.json()

    def close(self) -> None:
        for c in self.contexts:
            c.close()
        self.http.close()
        self.server.stop()
        self.ctx.db.dispose()


@pytest.fixture
def room(tmp_path, browser):
    r = Room(tmp_path, browser)
    yield r
    r.close()


def no_overflow(page) -> list[str]:
    """Elements whose text overflows their box, or that stick out of the window."""
    return page.evaluate((Path(__file__).parent / "overflow.js").read_text())
