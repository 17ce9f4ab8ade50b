"""The day's statistics, computed by the backend from the anonymised visit facts: counts,
the booked share against the 70 % goal, rates, waiting, service against expected,
counter utilisation, idle counter minutes and their value, pre-calls, and arrivals and
calls by hour as bars. `a` switches to every site of the municipality (`GET /stats`, for a
supervisor token not bound to one site): a row per site and all of them together."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import platformdirs
from rich import box
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
        #: every site of the municipality (GET /stats), else this site's
        self.all_sites = False

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
        every = self.all_sites
        client = self.app.client
        try:
            figures = await (client.municipality_stats if every else client.stats)(
                self.start, self.end)
        except errors.ApiError as exc:
            if every and exc.code == "wrong_site":
                self.all_sites = False
                self.notify(_("Your sign-in is for this site only: every site's figures "
                              "need a supervisor token for the whole municipality."),
                            severity="warning", timeout=12)
            else:
                self.notify(errors.said(exc), severity="error")
            return
        if every != self.all_sites:
            return  # switched back while this was on its way
        self.figures = figures
        if self.start == self.end:  # one day is said once
            title = _("Statistics, all sites {day}") if every else _("Statistics {day}")
        else:
            title = _("Statistics, all sites {start} – {end}") if every else \
                _("Statistics {start} – {end}")
        self.say(title.format(day=present.long_date(self.start),
                              start=present.long_date(self.start),
                              end=present.long_date(self.end)))
        self.query_one("#figures", Static).update(
            self.render_sites(figures) if every else self.render_figures(figures))

    def render_sites(self, m: dict) -> Group:
        """A row per site and one for all of them (the visits, then the idle counter minutes
        and their value: two tables, so that each fits the narrowest terminal), then every
        figure of all the sites together."""
        days = self.start != self.end  # a range: the idle minutes per day too
        rows = [site_row(one["name"], one, days) for one in m["sites"]]
        rows.append(site_row(_("All sites"), m["total"], days))
        visits = (_("Booked"), _("Walk-ins"), _("Booked share, %"), _("No-show rate, %"),
                  _("Walk-in wait, mean min"))
        idle = (_("Idle counter min"), *([_("Idle min a day")] if days else []),
                _("Their value, DKK"))
        tables = []
        for title, headings, first in ((_("Sites"), visits, 1),
                                       (_("Idle counter minutes"), idle, 1 + len(visits))):
            table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD,
                          collapse_padding=True, pad_edge=False)
            cols = [0, *range(first, first + len(headings))]
            for col, heading in zip(cols, (_("Site name"), *headings), strict=True):
                # the figures have no spaces (their units are in the heading): a narrow
                # terminal wraps the headings, never a figure
                table.add_column(heading, justify="right" if col else "left")
            for i, row in enumerate(rows):
                table.add_row(*(row[c] for c in cols), end_section=i == len(rows) - 2,
                              style="bold" if i == len(rows) - 1 else None)
            tables.append(table)
        return Group(*tables, Text(""), Text(_("All sites together"), style="bold"),
                     self.render_figures(m["total"]))

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
            # all sites together: each site's minutes at its own rate (where it set one)
            label = _("Their value at DKK {rate} an hour").format(
                rate=present.decimal(idle["staff_hour_dkk"], 0)) if idle.get(
                "staff_hour_dkk") else _("Their value at each site's staff hour")
            out.append((label, dkk(idle["dkk"])))
        return out

    # --- actions ---------------------------------------------------------------------------
    def action_day(self, step: int) -> None:
        self.start = self.end = self.end + timedelta(days=step)
        self.load()

    def action_week(self) -> None:
        self.start = self.end - timedelta(days=6)
        self.load()

    def action_sites(self) -> None:
        self.all_sites = not self.all_sites
        self.load()

    @work(group="stats-export", exclusive=True, exit_on_error=False)
    async def action_export(self) -> None:
        every = self.all_sites
        client = self.app.client
        try:
            text = await (client.municipality_stats_csv if every else client.stats_csv)(
                self.start, self.end)
        except errors.ApiError as exc:
            self.notify(errors.said(exc), severity="error")
            return
        path = export_path(self.start, self.end, every) if every else \
            export_path(self.start, self.end)
        await asyncio.to_thread(_write, path, text)
        self.exported = path
        self.notify(_("Saved as {path}").format(path=path), timeout=12)


def site_row(name: str, f: dict, days: bool) -> list[str]:
    """One site's (or all sites') line of the all-sites table; `days`: with the idle
    minutes per day."""
    idle = f.get("idle") or {}
    wait = f["waiting_walkin"]["mean"]  # minutes
    return [name, number(f["booked"]), number(f["walkins"]), number(f["booked_share"]),
            number(f["no_show_rate"]), number(wait), present.decimal(idle.get("minutes"), 0),
            *([present.decimal(idle.get("per_day"), 0)] if days else []),
            present.decimal(idle.get("dkk"), 0)]


def dkk(amount) -> str:
    return "—" if amount is None else _("DKK {amount}").format(
        amount=present.decimal(amount, 0))


def export_path(start: date, end: date, all_sites: bool = False) -> Path:
    folder = platformdirs.user_documents_path() / "Skranke"
    which = "alle-steder-" if all_sites else ""
    return folder / f"skranke-statistik-{which}{start.isoformat()}-{end.isoformat()}.csv"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
