"""Translations: gettext catalogues under console/locale, Danish by default.

Message ids are English; `console/locale/da/LC_MESSAGES/skranke.po` holds the Danish text
and `en/…` the English one (empty translations fall back to the id). `make catalogues`
extracts, updates and compiles them with Babel. `_()` translates with the language chosen
by `use()`; `N_()` only marks a string for extraction (the command registry), to be
translated where it is shown. No Textual here.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

DOMAIN = "skranke"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("da", "en")
_current = "da"


@cache
def translation(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose one of {LANGUAGES}")
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=False)


def use(language: str) -> None:
    """Make `language` the one `_()` speaks (the console runs one language at a time)."""
    global _current
    translation(language)
    _current = language


def current() -> str:
    return _current


def _(message: str) -> str:
    return translation(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translation(_current).ngettext(singular, plural, n)


def N_(message: str) -> str:
    return message
