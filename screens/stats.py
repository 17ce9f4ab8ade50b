"""The day's statistics, computed by the backend from the anonymised visit facts: counts,
the booked share against the 70 % goal, rates, waiting, service against expected,
counter utilisation, idle counter minutes and their value, pre-calls, and arrivals and
calls by hour as bars."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import platformdirs
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from console import errors, present
from console.i18n import N_, _
from widgets.key_footer import KeyFooter

from .sub import SubScreen

BARS = " ▁▂▃▄▅▆▇█"


def bar(value: int, top: int, width: int = 30) -> str:
    if not top:
        return ""
    cells = value / top * width
    return "█" * int(cells) + (BARS[int((cells % 1) * 8)] if cells % 1 else "")


def number(x) -> str:
    return present.decimal(x)


class StatsScreen(SubScreen):
    SCOPES = ("stats",)
    DEFAULT_CSS = """
    StatsScreen #figures { padding: 0 1; }
    """
    HEADING = N_("Statistics")

    def __init__(self) -> None:
        super().__init__()
        self.start = self.end = None
        self.figures: dict | None = None

    def compose(self) -> ComposeResult:
        yield self.heading()
        with VerticalScroll():
            yield Static(id="figures")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.start = self.end = self.app.now().date()
        self.load()

    @work(group="stats", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            self.figures = await self.app.client.stats(self.start, self.end)
        except errors.ApiError as exc:
            self.notify(errors.said(exc), severity="error")
            return
        self.say(_("Statistics {day}").format(day=present.long_date(self.start))
                 if self.start == self.end else
                 _("Statistics {start} – {end}").format(start=present.long_date(self.start),
                                                        end=present.long_date(self.end)))
        self.query_one("#figures", Static).update(self.render_figures(self.figures))

    def render_figures(self, f: dict) -> Group:
        errands = self.app.errands
        totals = Table.grid(padding=(0, 2))
        totals.add_column(style="bold")
        totals.add_column(justify="right")
        rows = [
            (_("Visits"), f["visits"]), (_("Booked"), f["booked"]),
            (_("Walk-ins"), f["walkins"]), (_("Cancelled"), f["cancelled"]),
            (_("Booked share (goal {goal} %)").format(goal=number(f["booked_share_target"])),
             present.percent(f['booked_share'])),
            (_("No-show rate"), present.percent(f['no_show_rate'])),
            (_("Missing documents"), present.percent(f['missing_documents_rate'])),
            (_("Referred"), present.percent(f['referred_rate'])),
            (_("Waiting, booked: mean / p90"), _("{mean} / {p90} min").format(
                mean=number(f["waiting_booked"]["mean"]), p90=number(f["waiting_booked"]["p90"]))),
            (_("Waiting, walk-ins: mean / p90"), _("{mean} / {p90} min").format(
                mean=number(f["waiting_walkin"]["mean"]),
                p90=number(f["waiting_walkin"]["p90"]))),
        ]
        rows += self.idle_rows(f.get("idle"))
        for label, value in rows:
            totals.add_row(label, value if isinstance(value, str) else number(value))
        service = Table(title=_("Service minutes per errand"), title_justify="left",
                        expand=False)
        service.add_column(_("Errand"))
        for heading in (_("Visits"), _("Mean"), _("Expected")):
            service.add_column(heading, justify="right")
        # by the name the reader sees (by code, English names came in no order at all)
        for s in sorted(f["service"], key=lambda s: errands.name(s["errand"]).lower()):
            over = s["mean"] is not None and s["mean"] > s["expected"]
            service.add_row(errands.name(s["errand"]), str(s["n"]),
                            present.decimal(s["mean"], fixed=True) + (" !" if over else " "),
                            str(s["expected"]))
        counters = Table(title=_("Counters"), title_justify="left")
        for heading in (_("Counter"), _("Busy min"), _("Utilisation"), _("Idle min")):
            counters.add_column(heading)
        for u in f["utilisation"]:
            counters.add_row(u["counter"], number(u["busy"]),
                             present.percent(u['utilisation']), number(u["idle"]))
        hours = Table(title=_("By hour: arrived ▇ and called ▒"), title_justify="left",
                      show_header=False, box=None)
        top = max([max(h["arrived"], h["called"]) for h in f["by_hour"]] or [0])
        for h in f["by_hour"]:
            hours.add_row(f"{h['hour']:02d}", Text(bar(h["arrived"], top)),
                          str(h["arrived"]))
            hours.add_row("", Text(bar(h["called"], top).replace("█", "▒")), str(h["called"]))
        outcomes = ", ".join(f"{_(present.OUTCOMES.get(k, k))}: {v}"
                             for k, v in f["by_outcome"].items() if k)
        precalls = ", ".join(f"{_(present.PRECALL_RESULTS.get(k, k))}: {v}"
                             for k, v in f["precalls"].items()) or "—"
        return Group(totals, Text(""), Text(_("Outcomes: {list}").format(list=outcomes or "—")),
                     Text(_("Pre-calls: {list}").format(list=precalls)), Text(""), service,
                     counters, hours)

    def idle_rows(self, idle: dict | None) -> list[tuple[str, str]]:
        """Idle counter minutes (the time a chance queue could fill) and, when the site has
        set what a staff hour costs, their value."""
        if not idle:
            return []
        out = [(_("Idle counter minutes"), _("{minutes} min").format(
            minutes=present.decimal(idle["minutes"], 0)))]
        if self.start != self.end:
            out.append((_("Idle counter minutes a day"), _("{minutes} min").format(
                minutes=present.decimal(idle["per_day"], 0))))
        if idle.get("dkk") is not None:
            out.append((_("Their value at DKK {rate} an hour").format(
                rate=present.decimal(idle["staff_hour_dkk"], 0)),
                _("DKK {amount}").format(amount=present.decimal(idle["dkk"], 0))))
        return out

    # --- actions ---------------------------------------------------------------------------
    def action_day(self, step: int) -> None:
        self.start = self.end = self.end + timedelta(days=step)
        self.load()

    def action_week(self) -> None:
        self.start = self.end - timedelta(days=6)
        self.load()

    @work(group="stats-export", exclusive=True, exit_on_error=False)
    async def action_export(self) -> None:
        try:
            text = await self.app.client.stats_csv(self.start, self.end)
        except errors.ApiError as exc:
            self.notify(errors.said(exc), severity="error")
            return
        path = export_path(self.start, self.end)
        await asyncio.to_thread(_write, path, text)
        self.exported = path
        self.notify(_("Saved as {path}").format(path=path), timeout=12)


def export_path(start: date, end: date) -> Path:
    folder = platformdirs.user_documents_path() / "Skranke"
    return folder / f"skranke-statistik-{start.isoformat()}-{end.isoformat()}.csv"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
