"""The queue's table does less per change and still shows exactly what DataTable would.

RowTable caches lines by row content and moves rows by re-indexing a span, leaning on
DataTable internals of the pinned Textual: these tests draw every line both ways and
compare the order with what the rows should be, so a Textual upgrade that changes those
internals fails here rather than on a counter.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from console import present
from console.models import Visit
from widgets.queue_table import QueueTable
from widgets.row_table import RowTable

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class TableApp(App):
    def __init__(self, table: DataTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


def run(coro) -> None:
    asyncio.run(coro)


def drawn(table: RowTable) -> list:
    """Every line as the table draws it now (render_lines first, as a frame does)."""
    table.render_lines(table.size.region)
    return [table.render_line(y) for y in range(table.size.height)]


def plain(table: RowTable) -> list:
    """Every line as DataTable itself draws it."""
    return [DataTable.render_line(table, y) for y in range(table.size.height)]


def test_lines_are_drawn_as_datatable_draws_them_and_only_changed_rows_again(monkeypatch):
    rng = random.Random(5)
    table = RowTable(cursor_type="row", zebra_stripes=True)
    calls = []
    render_line = DataTable.render_line
    monkeypatch.setattr(DataTable, "render_line",
                        lambda self, y: calls.append(y) or render_line(self, y))

    async def scenario():
        app = TableApp(table)
        async with app.run_test(size=(50, 12)) as pilot:
            table.add_column("a", key="a", width=6)
            table.add_column("b", key="b", width=12)
            keys = [table.add_row(Text(f"r{i}"), Text(f"v{i}"), key=str(i)) for i in range(40)]
            await pilot.pause()
            assert drawn(table) == plain(table)

            table.update_cell(keys[3], "b", Text("changed"))
            calls.clear()
            lines = drawn(table)
            assert calls == [4], "one cell changed: its row is drawn again, no other"
            assert lines == plain(table)

            table.move_cursor(row=2)
            calls.clear()
            lines = drawn(table)
            assert sorted(calls) == [1, 3], "the cursor moved: the rows it left and entered"
            assert lines == plain(table)

            for step in range(60):
                what = rng.choice(("cell", "move", "cursor", "add", "remove", "focus"))
                if what == "cell" and keys:
                    table.update_cell(rng.choice(keys), "a", Text(f"s{step}"))
                elif what == "move":
                    order = list(keys)
                    i, j = sorted(rng.sample(range(len(order)), 2))
                    order[i:j + 1] = rng.sample(order[i:j + 1], j + 1 - i)
                    table.move_rows(order)
                    keys = order
                elif what == "cursor" and keys:
                    table.move_cursor(row=rng.randrange(len(keys)))
                elif what == "add":
                    keys.append(table.add_row(Text(f"n{step}"), Text("new"),
                                              key=f"n{step}"))
                elif what == "remove" and len(keys) > 5:
                    gone = keys.pop(rng.randrange(len(keys)))
                    table.remove_row(gone)
                elif what == "focus":
                    if table.has_focus:
                        table.blur()
                    else:
                        table.focus()
                await pilot.pause()
                assert drawn(table) == plain(table), f"step {step}: {what}"
                assert [r.key for r in table.ordered_rows] == keys

    run(scenario())


def test_move_rows_moves_only_the_span_that_changed_and_refuses_other_rows():
    table = RowTable(cursor_type="row")

    async def scenario():
        app = TableApp(table)
        async with app.run_test(size=(40, 10)):
            table.add_column("a", key="a")
            keys = [table.add_row(str(i), key=str(i)) for i in range(10)]
            order = keys[:3] + [keys[7], keys[3], keys[4], keys[5], keys[6]] + keys[8:]
            table.move_rows(order)
            assert [r.key for r in table.ordered_rows] == order
            assert [table.get_row_index(k) for k in order] == list(range(10))
            assert table.get_row_at(3) == ["7"]
            table.move_rows(list(reversed(order)))
            assert [r.key.value for r in table.ordered_rows] == [str(i) for i in
                                                                 (9, 8, 6, 5, 4, 3, 7, 2, 1, 0)]
            with pytest.raises(ValueError):
                table.move_rows(keys[:9])
            with pytest.raises(ValueError):
                table.move_rows([keys[0], keys[0]] + keys[2:])

    run(scenario())


def visit(i: int, state: str = "booked", **kw) -> Visit:
    return Visit(id=i, ticket=f"A{i:03d}", kind="booking", state=state, errand="mitid",
                 expected_minutes=10, version=1, slot_start=NOW + timedelta(minutes=i), **kw)


def test_sync_follows_the_given_order_keeps_the_cursor_and_remakes_only_changed_rows():
    rng = random.Random(11)
    table = QueueTable(present.Errands({}), lambda: NOW)
    made = []
    cells = table.cells
    table.cells = lambda v, mine: made.append(v.id) or cells(v, mine)
    cleared = []
    clear = table.clear
    table.clear = lambda columns=False: cleared.append(1) or clear(columns)

    async def scenario():
        app = TableApp(table)
        async with app.run_test(size=(120, 20)) as pilot:
            visits = {i: visit(i) for i in range(1, 121)}
            order = list(visits)
            table.sync([visits[i] for i in order], lambda v: True, 1)
            await pilot.pause()
            table.move_cursor(row=50)
            for step in range(40):
                made.clear()
                vid = rng.choice(order)
                if step % 3 == 0:  # a check-in: the citizen joins the queue part
                    visits[vid] = visits[vid].model_copy(update={
                        "state": "waiting", "arrived_at": NOW, "version": 2})
                order.remove(vid)
                order.insert(rng.randrange(len(order) + 1), vid)
                under = table.visit_id
                table.sync([visits[i] for i in order], lambda v: True, 1, changed={vid})
                await pilot.pause()
                assert [int(r.key.value) for r in table.ordered_rows] == order
                assert table.visit_id == under, "the cursor stays on its citizen"
                assert set(made) <= {vid}, "only the changed visit's row is made again"
                assert drawn(table) == plain(table)
            made.clear()  # the minute's repaint: only the visits whose cells follow the clock
            table.sync([visits[i] for i in order], lambda v: True, 1)
            assert set(made) == {i for i, v in visits.items() if v.state == "waiting"}
            assert not cleared, "rows are updated one by one, never cleared and rebuilt"

    run(scenario())


def test_a_table_changed_all_day_holds_no_more_memory_than_after_its_first_minutes():
    """Every change leaves DataTable's rendered rows, cells and lines of the moment before
    unusable; a console open all day must not keep piling them up (bench/soak.py saw its
    RSS grow by ~20 MB through a day)."""
    import gc
    import tracemalloc

    rng = random.Random(3)
    columns = [f"c{i}" for i in range(8)]
    table = RowTable(cursor_type="row", zebra_stripes=True)

    async def scenario():
        app = TableApp(table)
        async with app.run_test(size=(120, 40)) as pilot:
            for c in columns:
                table.add_column(c, key=c, width=12)
            keys = [table.add_row(*(Text(f"{c}-{i}") for c in columns), key=str(i))
                    for i in range(36)]
            await pilot.pause()
            held = []
            tracemalloc.start()
            try:
                for n in range(60):
                    for key in keys:  # every visit changes (as the minutes waited do)
                        table.update_cell(key, rng.choice(columns), Text(f"{n}"))
                    drawn(table)
                    if n in (10, 59):
                        gc.collect()
                        held.append(tracemalloc.get_traced_memory()[0])
            finally:
                tracemalloc.stop()
            grown = held[1] - held[0]
            assert grown < 1_000_000, f"the table's memory grew {grown / 1e6:.1f} MB"

    run(scenario())
