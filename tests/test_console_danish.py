"""Danish on every screen: each screen and dialog is opened in Danish on the real backend and
its text (footer included) must hold no English word of the UI's own vocabulary — the words
of the catalogue's English message ids that no Danish text uses. And every audit action and
statistics key the backend can write has its words in the catalogue."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from console import audit_words, present

from .console_ui import console, counter_screen, open_and_call, ready, screen_text, seed_day
from .console_ui import until as wait
from .test_console_floor import open_counter

ROOT = Path(__file__).resolve().parent.parent
WORD = re.compile(r"[A-Za-zÆØÅæøå]{3,}")
#: English ids whose words are also names or Danish here
SHARED = {"skranke", "borgerservice", "mitid", "cpr", "csv", "status", "kiosk", "min",
          "udbetaling", "danmark", "skattestyrelsen", "politiet", "familieretshuset",
          "siri", "jobcenter", "ctrl", "esc", "enter", "escape", "tab", "url", "token",
          "http", "skranke_token", "pas", "ref", "ca", "reception"}


def vocabulary() -> set[str]:
    with open(ROOT / "console/locale/da/LC_MESSAGES/skranke.po", "rb") as f:
        cat = read_po(f, locale="da")
    english, danish = set(), set()
    for m in cat:
        if m.id and m.string:
            english |= {w.lower() for w in WORD.findall(m.id if isinstance(m.id, str)
                                                         else m.id[0])}
            danish |= {w.lower() for w in WORD.findall(m.string if isinstance(m.string, str)
                                                        else m.string[0])}
    return english - danish - SHARED


VOCABULARY = vocabulary()


def english_in(text: str) -> set[str]:
    return {w for w in (w.lower() for w in WORD.findall(text)) if w in VOCABULARY}


def shown(app) -> str:
    """The screen's text and its footer's labels."""
    keys = [b.description for _k, b, _e, _t in app.screen.active_bindings.values()
            if b.show or b.action == "command_palette"]
    return screen_text(app) + "\n" + " ".join(keys)


@pytest.fixture
def day(rec):
    return seed_day(rec)


def test_the_vocabulary_is_the_uis_own():
    assert {"call", "next", "waiting", "open", "paused", "finish", "quit"} <= VOCABULARY
    assert not english_in("Kald næste · venter · åben · pause · Afslut · Luk programmet")


def test_every_screen_and_dialog_of_the_counter_in_danish(server, ctx, tmp_path, rec, day):
    open_counter(server, ctx, 2, "bo")
    app = console(server, ctx, tmp_path)
    seen: dict[str, set[str]] = {}

    async def look(pilot, name: str, keys: tuple[str, ...] = (), back: int = 1) -> None:
        before = app.screen
        await pilot.press(*keys)
        if back:
            await wait(pilot, lambda: app.screen is not before)
            await pilot.pause(0.1)
        seen[name] = english_in(shown(app))
        for _ in range(back):
            await pilot.press("escape")
        await wait(pilot, lambda: app.screen is counter_screen(app))

    async def go():
        async with app.run_test(size=(120, 36)) as pilot:
            await ready(pilot)
            seen["counter, closed"] = english_in(shown(app))
            await look(pilot, "help", ("question_mark",))
            await look(pilot, "palette", ("ctrl+p",))
            await open_and_call(pilot)
            await wait(pilot, lambda: counter_screen(app).mine is not None)
            seen["counter, called"] = english_in(shown(app))
            await pilot.press("s")
            await wait(pilot, lambda: counter_screen(app).mine.state == "serving")
            seen["counter, serving"] = english_in(shown(app))
            await look(pilot, "transfer", ("t",))
            await look(pilot, "finish", ("f",))
            await look(pilot, "documents", ("d",))
            await look(pilot, "note", ("a",))
            await look(pilot, "reveal CPR", ("c",))
            for view in ("1", "3", "4"):
                await pilot.press(view)
                await pilot.pause(0.1)
                seen[f"view {view}"] = english_in(shown(app))
            await pilot.press("y")
            await pilot.pause(0.1)
            seen["timeline"] = english_in(shown(app))
    asyncio.run(go())
    assert not {k: v for k, v in seen.items() if v}, "English on a Danish screen"
    assert len(seen) >= 13


def test_every_screen_and_dialog_of_reception_and_floor_in_danish(server, ctx, tmp_path, rec,
                                                                   day):
    seen: dict[str, set[str]] = {}

    async def look(pilot, app, name, keys, base):
        await pilot.press(*keys)
        await wait(pilot, lambda: app.screen is not base)
        await pilot.pause(0.2)
        seen[name] = english_in(shown(app))
        while app.screen is not base:
            await pilot.press("escape")
            await pilot.pause(0.05)

    desk = console(server, ctx, tmp_path, role="reception", person="rita")

    async def reception():
        async with desk.run_test(size=(120, 36)) as pilot:
            await wait(pilot, lambda: desk.connection == "online"
                       and hasattr(desk.screen, "apply"))
            base = desk.screen
            seen["reception"] = english_in(shown(desk))
            await look(pilot, desk, "walk-in: errand", ("w",), base)
            await look(pilot, desk, "find", ("s",), base)
            await look(pilot, desk, "book", ("b",), base)
            await look(pilot, desk, "pre-calls", ("r",), base)
    asyncio.run(reception())

    floor = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def supervisor():
        async with floor.run_test(size=(120, 36)) as pilot:
            await wait(pilot, lambda: floor.connection == "online"
                       and hasattr(floor.screen, "apply"))
            base = floor.screen
            seen["floor"] = english_in(shown(floor))
            await look(pilot, floor, "statistics", ("t",), base)
            await look(pilot, floor, "audit", ("a",), base)
            await look(pilot, floor, "errands", ("e",), base)
            await look(pilot, floor, "pause", ("b",), base)
            await look(pilot, floor, "planner", ("s",), base)
            from widgets.queue_table import QueueTable
            floor.screen.query_one(QueueTable).focus()
            await look(pilot, floor, "move", ("m",), base)
    asyncio.run(supervisor())
    assert not {k: v for k, v in seen.items() if v}, "English on a Danish screen"


def test_the_setup_screen_in_danish(server, ctx, tmp_path):
    from console.app import make_app
    from console.config import Config

    cfg = Config.model_validate({"server": {"url": server.url, "site": "test"}})
    app = make_app(cfg, None, outbox_path=tmp_path / "o.db", now=ctx.clock.now,
                   token_note="No secure keyring")

    async def go():
        async with app.run_test(size=(120, 36)) as pilot:
            await wait(pilot, lambda: app.screen.query("#token"))
            return english_in(shown(app))
    assert not asyncio.run(go())


# --- the backend's words, all in the catalogue ------------------------------------------------
def backend_audit_actions() -> set[str]:
    """Every action name the backend writes to the audit log, read from its source."""
    found: set[str] = set()
    patterns = [r'tx\.audit\("(\w+)"', r'_simple\("(\w+)"', r'finish_change\(tx, row, "(\w+)"',
                r'transition\(\s*tx, \w+, "(\w+)"', r'AutoChange\("(\w+)"']
    for path in (ROOT / "backend").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            found |= set(re.findall(pattern, text))
        found |= {f"counter_{a}" for a in re.findall(r'_changed\(tx, c, "(\w+)"', text)}
    from backend.domain import lifecycle
    found |= set(lifecycle.ALLOWED) - {"reschedule", "document", "note"} | {
        "reschedule", "document", "note"}
    return found


def backend_detail_keys() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "backend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "detail" and isinstance(
                    node.value, ast.Dict):
                keys |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                    "finish_change", "_changed") and len(node.args) == 4 and isinstance(
                    node.args[3], ast.Dict):
                keys |= {k.value for k in node.args[3].keys if isinstance(k, ast.Constant)}
    return keys


def test_every_audit_action_and_detail_has_words():
    from console.i18n import _, use

    actions = backend_audit_actions()
    assert {"call_next", "finish", "undo_finish", "counter_open", "audit_search"} <= actions
    assert not actions - set(audit_words.AUDIT_ACTIONS), "audit actions without words"
    keys = backend_detail_keys()
    assert {"outcome", "reason", "counter", "result"} <= keys
    assert not keys - set(audit_words.AUDIT_KEYS), "audit details without words"
    use("da")
    for words in (*audit_words.AUDIT_ACTIONS.values(), *audit_words.AUDIT_KEYS.values(),
                  *present.REASONS.values(), *present.ROLES.values()):
        assert _(words) != words or words in ("status", "kiosk", "administrator",
                                              "reception"), words


def test_every_statistics_key_has_words(ctx):
    from backend.domain.types import Outcome
    from backend.services.context import ROLES
    from backend.services.precalls import RESULTS
    from console.i18n import _, use

    use("da")
    assert set(RESULTS) <= set(present.PRECALL_RESULTS)
    assert {o.value for o in Outcome} <= set(present.OUTCOMES)
    assert set(ROLES) <= set(present.ROLES)
    for words in (*present.PRECALL_RESULTS.values(), *present.OUTCOMES.values()):
        assert _(words) != words
    from backend.services import stats

    from .test_api_stats import DAY, build
    build(ctx)
    with ctx.db.read() as s:
        figures = stats.stats(s, ctx, "test", DAY, DAY)
    assert figures["precalls"] and set(figures["precalls"]) <= set(present.PRECALL_RESULTS)
    assert set(figures["by_outcome"]) - {None, ""} <= set(present.OUTCOMES)
