"""Key bindings from the command registry, in the console's language.

A screen names its registry scope in `SCOPE`; `localized(cls)` gives the subclass whose
BINDINGS are that scope's commands with translated labels and stable ids, so the footer,
the keymap (App.set_keymap) and the help screen all read one table.
"""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.widgets import Label

from console import commands, i18n
from console.i18n import _

T = TypeVar("T")
_cache: dict[tuple[type, str], type] = {}


def bindings(*scopes: str) -> list[Binding]:
    return [Binding(c.key, c.action, _(c.label), show=c.footer, id=c.id, tooltip=_(c.help),
                    priority=c.id == "palette")
            for scope in scopes for c in commands.for_scope(scope)]


def localized(cls: type[T]) -> type[T]:
    """`cls` with its SCOPE's bindings in the current language (one class per language)."""
    key = (cls, i18n.current())
    if key not in _cache:
        scopes = getattr(cls, "SCOPES", ())
        _cache[key] = type(cls.__name__, (cls,), {"BINDINGS": bindings(*scopes),
                                                 "__module__": cls.__module__})
    return _cache[key]  # type: ignore[return-value]


class Line(Label):
    """A label whose text is shown as written (no console markup: names and messages may
    contain square brackets)."""

    def __init__(self, text: str = "", **kw) -> None:
        super().__init__(text, markup=False, **kw)
