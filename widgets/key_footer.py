"""Textual's Footer fitted to the terminal's width: the keys that fit, in the registry's
order, and always "? Help" and "^p Commands" at the end (help and the palette list every
key, so a key left out at 80 columns is still found). Compact under 120 columns."""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PINNED = ("help", "command_palette")  # actions always shown, in this order, at the end


def _width(key: FooterKey) -> int:
    margin = key.styles.margin
    return (key.get_content_width(Size(0, 0), Size(0, 0)) + key.styles.gutter.width
            + margin.left + margin.right)


class KeyFooter(Footer):
    def compose(self):
        widgets = list(super().compose())  # no binding groups in Skranke: flat FooterKeys
        rank = {action: i + 1 for i, action in enumerate(PINNED)}
        yield from sorted(widgets, key=lambda w: rank.get(getattr(w, "action", None), 0))

    async def recompose(self) -> None:
        await super().recompose()
        self.fit()

    def on_resize(self) -> None:
        self.compact = self.size.width < 120
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Show the first keys that fit beside the pinned ones; hide the rest."""
        keys = list(self.query_children(FooterKey))
        pinned = [k for k in keys if k.action in PINNED]
        room = self.size.width - sum(_width(k) for k in pinned)
        for key in keys:
            if key in pinned:
                continue
            width = _width(key)
            key.display = room > 0 and width <= room
            room = room - width if key.display else 0
