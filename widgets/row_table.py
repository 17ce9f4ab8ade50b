"""A DataTable that redraws only the rows that changed and moves only the rows that moved.

`DataTable` keys every render cache on one update counter that each `update_cell` and
`sort` bumps, and it keys its line cache on the cursor's coordinate: after any change, or
any cursor move that scrolls, every visible cell is rendered again (≈ 35 ms for the
counter screen's queue at 120×36, under a second console's check-ins). It can reorder
rows only by sorting all of them. `RowTable` adds:

- a line cache keyed by what a line shows: the row's key and a stamp that every
  `add_row` / `update_cell` of that row renews, the row's index (zebra stripe and the
  mouse's row meta), whether the cursor or the mouse is on it, and the table's looks
  (style, size, scroll, focus, columns; a change of looks empties the cache). A change
  renders only the rows it touched or shifted, a cursor move the two rows involved, a
  scroll the rows coming into view. Lines are drawn by `DataTable.render_line` itself.
- `move_rows(order)`: the rows in a new order by re-indexing only the span that differs.

Both lean on internals of the pinned Textual (`_row_locations`, `_update_count`,
`_show_hover_cursor`); `tests/test_console_table.py` draws every line both ways and moves
rows against a plain `DataTable` sort, so an upgrade that changes them fails there.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from rich.text import TextType
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

_stamps = count(1)  # one sequence for all tables: a stamp is never reused
#: Rows a table keeps rendered: more than a terminal shows (its own line cache keeps two
#: screens' worth, so scrolling back redraws nothing).
KEPT_ROWS = 150


class RowTable(DataTable):
    """Single-line rows with a row cursor (other shapes fall back to DataTable's drawing)."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        # DataTable keys its row, cell, renderables and line caches on its update counter,
        # so every change leaves all their entries dead; they were kept until 1,000 rows,
        # 10,000 cells and 1,000 lines had piled up (a console's RSS grew by ~20 MB over a
        # day, bench/soak.py). What a table can still use is one screenful of each.
        self._row_render_cache = LRUCache(KEPT_ROWS)
        self._cell_render_cache = LRUCache(KEPT_ROWS * 12)
        self._row_renderable_cache = LRUCache(KEPT_ROWS)
        self._line_cache = LRUCache(KEPT_ROWS)
        self._stamp: dict[RowKey, int] = {}
        self._lines: LRUCache[tuple, Strip] = LRUCache(KEPT_ROWS * 2)
        self._looks: tuple = ()
        self._plain = True  # every row one line high, no labels: lines can be cached

    # --- every change of a row's content gives it a new stamp --------------------------------
    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: TextType | None = None) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._stamp[row_key] = next(_stamps)
        if height != 1 or label is not None:
            self._plain = False
        return row_key

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str,
                    value: CellType, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._stamp[RowKey(row_key) if isinstance(row_key, str) else row_key] = next(_stamps)

    def remove_row(self, row_key: RowKey | str) -> None:
        super().remove_row(row_key)
        self._stamp.pop(RowKey(row_key) if isinstance(row_key, str) else row_key, None)

    def clear(self, columns: bool = False):
        self._stamp.clear()
        self._lines.clear()
        self._plain = True
        return super().clear(columns)

    def notify_style_update(self) -> None:
        self._lines.clear()  # the theme or CSS changed: DataTable clears its caches too
        super().notify_style_update()

    # --- order -------------------------------------------------------------------------------
    def move_rows(self, order: Sequence[RowKey]) -> None:
        """Show the table's rows in `order` (the same keys, rearranged); only the rows from
        the first to the last that changed place are re-indexed."""
        locations = self._row_locations
        if len(order) != len(locations):
            raise ValueError("move_rows needs every row of the table exactly once")
        get_key = locations.get_key
        # `is` first: the keys are usually the very objects add_row returned
        first = next((i for i, key in enumerate(order)
                      if get_key(i) is not key and get_key(i) != key), None)
        if first is None:
            return
        last = len(order) - 1
        while get_key(last) is order[last] or get_key(last) == order[last]:
            last -= 1
        if {get_key(i) for i in range(first, last + 1)} != set(order[first:last + 1]):
            raise ValueError("move_rows needs every row of the table exactly once")
        for index in range(first, last + 1):
            locations[order[index]] = index
        self._update_count += 1  # DataTable caches positions and offsets by this count
        self.refresh()  # the lines that did not move come from the line cache

    # --- drawing -----------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        looks = (self.get_pseudo_class_state(), self.rich_style, self.size,
                 self.scroll_offset.x, self.cursor_type, self.show_cursor, self.show_header,
                 self.header_height, self.zebra_stripes, self.cell_padding, self.fixed_rows,
                 self.fixed_columns, self.show_row_labels, self.cursor_foreground_priority,
                 self.cursor_background_priority, self._show_hover_cursor,
                 tuple((c.key, c.get_render_width(self), str(c.label))
                       for c in self.ordered_columns))
        if looks != self._looks:
            self._looks = looks
            self._lines.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if not self._plain or self.fixed_rows or self.cursor_type != "row":
            return super().render_line(y)
        header = self.header_height if self.show_header else 0
        if y < header:
            key: tuple = (-1, y, self.hover_coordinate.row == -1)
        else:
            row = y + self.scroll_offset.y - header
            row_key = self._row_locations.get_key(row)
            if row_key is None:  # below the last row
                return super().render_line(y)
            key = (row, row_key, self._stamp.get(row_key), self.cursor_coordinate.row == row,
                   self.hover_coordinate.row == row)
        strip = self._lines.get(key)
        if strip is None:
            strip = super().render_line(y)
            self._lines.set(key, strip)
        return strip
