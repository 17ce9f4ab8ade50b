"""The console around the counter screen: two consoles on one backend, conflicts, the
offline outbox, first-run setup, help, command palette and keymap."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend

from console import commands

from .console_ui import console, counter_screen, open_and_call, ready, screen_text, seed_day, told
from .console_ui import until as wait
from .helpers import token

SIZE = (120, 36)


@pytest.fixture
def day(rec):
    return seed_day(rec)


def test_two_consoles_one_calls_the_other_sees_it_within_a_second(server, ctx, tmp_path,
                                                                   rec, day):
    """Console A in this thread, console B in its own (one Textual app per thread, as on
    two counter PCs)."""
    a = console(server, ctx, tmp_path, person="anne", counter=1)
    b = console(server, ctx, tmp_path, person="bo", counter=2)
    b_ready, a_called, b_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict = {}

    async def console_b():
        async with b.run_test(size=SIZE) as pb:
            await ready(pb)
            sb = counter_screen(b)
            await pb.press("o")
            await wait(pb, lambda: sb.counter.state == "open")
            b_ready.set()
            await wait(pb, a_called.is_set, timeout=20)
            t0 = time.monotonic()
            vid = seen["id"]
            await wait(pb, lambda: vid in b.model.visits
                       and b.model.visits[vid].state == "called", timeout=2)
            await wait(pb, lambda: any(seen["ticket"] in line and "Skranke 1" in line
                                       for line in screen_text(b).splitlines()), timeout=2)
            seen["b_saw_after"] = time.monotonic() - t0
            await pb.press("n")
            await wait(pb, lambda: sb.mine is not None)
            seen["b_called"] = sb.mine.ticket
        b_done.set()

    thread = threading.Thread(target=lambda: asyncio.run(console_b()), daemon=True)
    thread.start()

    async def console_a():
        async with a.run_test(size=SIZE) as pa:
            await ready(pa)
            sa = counter_screen(a)
            await wait(pa, b_ready.is_set, timeout=20)
            await pa.press("o")
            await wait(pa, lambda: sa.counter.state == "open")
            await pa.press("n")
            await wait(pa, lambda: sa.mine is not None)
            seen.update(id=sa.mine.id, ticket=sa.mine.ticket)
            a_called.set()
            await wait(pa, b_done.is_set, timeout=20)
    asyncio.run(console_a())
    thread.join(10)
    assert seen["b_saw_after"] < 1.0
    assert seen["b_called"] != seen["ticket"]  # never the same citizen


def test_a_stale_screen_is_told_plainly_and_corrects_itself(server, ctx, tmp_path, rec, day):
    secret = token(ctx, "caseworker", "anne")
    app = console(server, ctx, tmp_path, secret=secret)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            vid = screen.mine.id
            app.workers.cancel_group(app, "live")  # this screen stops hearing the backend
            await pilot.pause(0.1)
            # meanwhile the visit is finished from another window
            httpx.post(f"{server.url}/visits/{vid}/finish", json={"outcome": "served"},
                       headers={"Authorization": f"Bearer {secret}",
                                "Idempotency-Key": "elsewhere"}).raise_for_status()
            assert screen.mine.state == "serving"  # the stale view
            await pilot.press("p")  # park: refused by the backend
            await wait(pilot, lambda: "Parkér:" in told(app))
            await wait(pilot, lambda: app.model.visits[vid].state == "done")
            assert screen.mine is None  # corrected from the backend's state
    asyncio.run(go())


def test_offline_actions_wait_in_the_outbox_and_are_sent_when_back(server, ctx, tmp_path,
                                                                   rec, day):
    app = console(server, ctx, tmp_path)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            await open_and_call(pilot)
            await wait(pilot, lambda: screen.mine is not None)
            await pilot.press("s")
            await wait(pilot, lambda: screen.mine and screen.mine.state == "serving")
            vid = screen.mine.id
            url = server.url
            app.client._http.base_url = "http://127.0.0.1:9"  # the network goes away
            app.client.attempts = 1
            await app.live.drop()
            await pilot.press("a", *"Ring tilbage", "enter")
            await wait(pilot, lambda: "gemt i udbakken" in told(app))
            await pilot.press("n")  # call next cannot wait: hidden while serving anyway
            await wait(pilot, lambda: "i udbakken" in screen_text(app))
            assert "Ingen forbindelse til serveren" in screen_text(app)
            assert len(app.outbox.pending()) == 1
            app.client._http.base_url = url  # back
            await wait(pilot, lambda: app.connection == "online", timeout=15)
            await wait(pilot, lambda: not app.outbox.pending(), timeout=20)
            notes = rec.get(f"/visits/{vid}").json()["notes"]
            assert [n["text"] for n in notes] == ["Ring tilbage"]
    asyncio.run(go())


class MemoryKeyring(KeyringBackend):
    priority = 10

    def __init__(self):
        super().__init__()
        self.store = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


def test_first_run_setup_checks_with_the_backend_before_saving(server, ctx, tmp_path,
                                                               monkeypatch, rec, day):
    from console.app import make_app
    from console.config import Config, load_config

    config_file = tmp_path / "config.toml"
    monkeypatch.setenv("SKRANKE_CONFIG", str(config_file))
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    good = token(ctx, "caseworker", "anne")
    cfg = Config.model_validate({"server": {"url": server.url, "site": "test"}})
    app = make_app(cfg, None, outbox_path=tmp_path / "o.db", now=ctx.clock.now)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot, lambda: "opsætning" in screen_text(app))
            # the cursor starts in the token field (the URL is known): back to the counter
            await pilot.press("shift+tab", "end", "backspace", "3", "tab")
            await pilot.press(*"wrong-token", "enter")
            await wait(pilot, lambda: "godkendte ikke tokenet" in screen_text(app))
            assert not config_file.exists() and not ring.store  # nothing saved
            token_input = app.screen.query_one("#token")
            token_input.value = good
            await pilot.press("enter")
            await ready(pilot)
            assert counter_screen(app).number == 3
    asyncio.run(go())
    saved = load_config(config_file)
    assert (saved.server.url, saved.server.site, saved.server.counter) == (server.url, "test", 3)
    assert ring.store == {("skranke", server.url): good}
    assert good not in config_file.read_text()


def test_help_palette_and_keymap_come_from_one_registry(server, ctx, tmp_path, rec, day):
    from console.app import make_app
    from console.config import Config

    cfg = Config.model_validate({"server": {"url": server.url, "site": "test"},
                                 "keymap": {"call_next": "j", "open_counter": "f2"}})
    app = make_app(cfg, token(ctx, "caseworker", "anne"), outbox_path=tmp_path / "o.db",
                   now=ctx.clock.now)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            screen = counter_screen(app)
            ids = {b.id for b in screen.BINDINGS}
            assert {c.id for c in commands.for_scope("counter")} == ids
            await pilot.press("question_mark")
            await wait(pilot, lambda: "Taster" in screen_text(app))
            text = screen_text(app)
            await pilot.press("escape")
            await pilot.press("f2")  # the user's key opens the counter
            await wait(pilot, lambda: screen.counter.state == "open")
            await pilot.press("n")  # the old key does nothing now
            await pilot.pause(0.2)
            assert screen.mine is None
            await pilot.press("j")
            await wait(pilot, lambda: screen.mine is not None)
            palette = [c.title for c in app.get_system_commands(screen)]
            return text, palette
    text, palette = asyncio.run(go())
    for c in commands.for_scope("counter"):
        from console.i18n import _
        assert _(c.label) in text
    assert "Kald næste (j)" not in palette  # not valid while a citizen is called
    assert any(t.startswith("Kald igen") for t in palette)
    assert any(t.startswith("Hjælp") for t in palette)


def test_reception_gets_its_own_screen_without_caseworker_actions(server, ctx, tmp_path,
                                                                  rec, day):
    from screens.reception import ReceptionScreen

    app = console(server, ctx, tmp_path, role="reception", person="rita")

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot, lambda: isinstance(app.screen, ReceptionScreen)
                       and app.connection == "online")
            assert "Carl Nielsen" in screen_text(app)
            await pilot.press("o", "n")  # the counter's keys mean nothing here
            await pilot.pause(0.3)
            assert isinstance(app.screen, ReceptionScreen)
            return [c.title for c in app.get_system_commands(app.screen)]
    palette = asyncio.run(go())
    assert not any(t.startswith(("Kald", "Åbn")) for t in palette)
    assert any(t.startswith("Uden tid (w)") for t in palette)
