"""Issue 22, layout: at 80×24 the footer shows the keys that fit, on screen and apart, and
always ends with "? Hjælp" and "^p Kommandoer" (help and the palette list every key)."""

from __future__ import annotations

import asyncio

import pytest

from .console_ui import console, screen_text, seed_day
from .console_ui import until as wait


def shown_keys(app) -> list[tuple[int, int, str]]:
    """(first column, last column + 1, "key description") of every key the footer shows."""
    from textual.widgets._footer import FooterKey

    footer = app.screen.query_one("Footer")
    return sorted((k.region.x, k.region.right, f"{k.key_display} {k.description}")
                  for k in footer.query(FooterKey) if k.display and k.region.width)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
@pytest.mark.parametrize("role,person", [("caseworker", "anne"), ("reception", "rita"),
                                         ("supervisor", "sus")])
def test_the_footer_fits_and_ends_with_help_and_the_palette(server, ctx, tmp_path, rec, role,
                                                            person, size):
    seed_day(rec)
    app = console(server, ctx, tmp_path, role=role, person=person)

    async def go():
        async with app.run_test(size=size) as pilot:
            await wait(pilot, lambda: app.connection == "online"
                       and hasattr(app.screen, "apply") and shown_keys(app))
            app.screen.refresh_bindings()  # the footer is built again: wait for it
            await wait(pilot, lambda: [k[2] for k in shown_keys(app)[-2:]]
                       == ["? Hjælp", "^p Kommandoer"])
            keys = shown_keys(app)  # as shown then: a live event may build it again later
            assert [k[2] for k in keys[-2:]] == ["? Hjælp", "^p Kommandoer"], keys
            assert all(x >= 0 and right <= size[0] for x, right, _ in keys), keys
            assert all(a[1] <= b[0] for a, b in zip(keys, keys[1:], strict=False)), keys
            assert len(keys) >= 4  # the first keys of the screen still show
            await pilot.press("question_mark")  # help lists every key, the hidden ones too
            await wait(pilot, lambda: "Luk programmet" in screen_text(app))
    asyncio.run(go())
