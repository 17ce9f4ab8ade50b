"""Danish first, English on request, every user-facing string through the catalogues."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from console import commands, i18n
from console.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "console" / "locale"
UI = [ROOT / "screens", ROOT / "widgets", ROOT / "console"]


def source_messages() -> set[str]:
    found = set()
    for folder in UI:
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
                folder, keywords={"_": None, "N_": None}):
            found.add(message)
    return found


def catalogue(lang: str):
    with open(LOCALE / lang / "LC_MESSAGES" / "skranke.po", "rb") as f:
        return read_po(f, locale=lang)


def test_every_message_has_a_danish_translation():
    da = catalogue("da")
    messages = source_messages()
    assert len(messages) > 150
    missing = sorted(m for m in messages if not (da.get(m) and da.get(m).string))
    assert not missing, f"not in da.po (run `make catalogues` and translate): {missing}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_no_entry_of_a_catalogue_is_empty_or_fuzzy(lang):
    """An empty msgstr shows the msgid, a fuzzy one may be wrong: neither reaches a user."""
    entries = [m for m in catalogue(lang) if m.id]
    assert len(entries) > 150
    empty = [m.id for m in entries
             if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert not empty, f"{lang}.po has empty entries: {empty[:20]} (of {len(empty)})"
    assert not fuzzy, f"{lang}.po has fuzzy entries: {fuzzy[:20]} (of {len(fuzzy)})"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_compiled_catalogues_match_their_sources(lang):
    po = {m.id: m.string for m in catalogue(lang) if m.id}
    with open(LOCALE / lang / "LC_MESSAGES" / "skranke.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert {k: v for k, v in po.items() if v} == {k: v for k, v in mo.items() if v}, \
        "the .mo is stale: run `make catalogues`"


def test_switching_language():
    i18n.use("en")
    assert i18n._("Call next") == "Call next"
    i18n.use("da")
    assert i18n._("Call next") == "Kald næste"


SHOWN = {"notify", "Line", "Label", "Static", "Option", "Binding", "Confirm", "Prompt",
         "choose", "prompt", "confirm", "SystemCommand", "say", "update"}


def test_no_user_facing_literal_outside_the_catalogues():
    """Calls that put text on screen get it from `_()` (or data), never a bare literal."""
    offenders = []
    for folder in (ROOT / "screens", ROOT / "widgets", ROOT / "console" / "app.py"):
        files = [folder] if folder.is_file() else folder.glob("*.py")
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in SHOWN or not node.args:
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                        and any(ch.isalpha() for ch in first.value) and " " in first.value:
                    offenders.append(f"{path.name}:{node.lineno} {first.value!r}")
    assert not offenders


def test_keymap_ids_are_checked(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('[keymap]\ncall_nxt = "j"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    assert "keymap: unknown command id call_nxt" in str(exc.value)
    good = tmp_path / "g.toml"
    good.write_text('[keymap]\ncall_next = "j"\n', encoding="utf-8")
    assert commands.keys(load_config(good).keymap)["call_next"] == "j"
