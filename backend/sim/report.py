"""The study's report: Markdown with PNG charts, and a terminal summary (Danish by default)."""

from __future__ import annotations

import re
from pathlib import Path

from .study import Study
from .texts import t


def danish(text: str, lang: str) -> str:
    """Danish numbers: a decimal comma and a thousands point (1.234,5)."""
    if lang != "da":
        return text
    return re.sub(r"(?<=\d)[.,](?=\d)", lambda m: "," if m.group() == "." else ".", text)


def _f(x, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _row(s: dict) -> list[str]:
    share = s["share_of_optimum"]
    return [s["policy"], _f(s["served_per_day"]), _f(s["left_per_day"]),
            _f(s["turned_away_per_day"]), f"{_f(s['wait_mean'])} / {_f(s['wait_p90'])}",
            _f(100 * s["delayed_share"]), _f(s["extra_mean"], 2), _f(s["extra_p95"], 2),
            f"{_f(100 * s['late_share'])} / {_f(s['late_p95'], 2)}",
            _f(s["idle_minutes_per_day"], 0), _f(s["idle_dkk_per_day"], 0),
            _f(s["overtime_minutes_per_day"]), "–" if share is None else f"{100 * share:.0f} %"]





def _table(header: str, rows: list[list[str]]) -> str:
    cols = header.split("|")
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def headline(study: Study, policy: str = "planner") -> dict:
    """The figures the answer quotes, from the named policy (or the last one run)."""
    sums = {s["policy"]: s for s in study.summaries()}
    s = sums.get(policy) or list(sums.values())[-1]
    base = sums["booking"]
    p = study.params
    filled = base["idle_minutes_per_day"] - s["idle_minutes_per_day"]
    return {"served_week": s["served_per_week"], "served_day": s["served_per_day"],
            "walkins_day": s["walkins_per_day"], "delayed": 100 * s["delayed_share"],
            "extra_mean": s["extra_mean"], "extra_p95": s["extra_p95"], "filled": filled,
            "late": 100 * s["late_share"],
            "idle": base["idle_minutes_per_day"],
            "dkk_week": filled / 60 * p.staff_hour_dkk * p.days_per_week,
            "optimum_day": s["optimum_per_day"],
            "share": 100 * (s["share_of_optimum"] or 0)}


def assumptions(study: Study, lang: str) -> str:
    p = study.params
    cv = sum(e.cv * e.share for e in p.errands) / (sum(e.share for e in p.errands) or 1)
    disp = (t("poisson", lang) if p.dispersion <= 0
            else t("overdispersed", lang, d=p.dispersion))
    days = len(next(iter(study.stats.values())).days) if study.stats else 0
    return t("assume", lang, days=days, seed=study.seed, source=p.source,
             counters=study.counters or p.counters, open=p.open.strftime("%H:%M"),
             close=p.close.strftime("%H:%M"), slot=p.slot_minutes, capacity=p.booking_capacity,
             fill=100 * p.booking_fill, no_show=100 * p.no_show, early=-p.arrival_mean,
             sd=p.arrival_sd, short=100 * p.short_share, cv=cv,
             rate=p.walkins_per_hour_per_counter, disp=disp, patience=p.patience_mean,
             dkk=p.staff_hour_dkk)


def charts(study: Study, out: Path, lang: str, whatifs: list[tuple[str, Study]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    sums = study.summaries()
    main = [s for s in sums if not s["policy"].startswith("planner q=")]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = [s["policy"] for s in main] + ([t("optimum", lang)] if study.optimum else [])
    values = [s["served_per_day"] for s in main]
    if study.optimum:
        values.append(sum(study.optimum) / len(study.optimum))
    ax.bar(names, values, color="#4a7ab0")
    ax.set_title(t("chart_served", lang))
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.1f}", ha="center", va="bottom")
    fig.tight_layout()
    fig.savefig(out / "served.png", dpi=100)
    plt.close(fig)
    files.append("served.png")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([s["policy"] for s in main], [s["idle_minutes_per_day"] for s in main],
           color="#b07a4a")
    ax.set_title(t("chart_idle", lang))
    fig.tight_layout()
    fig.savefig(out / "idle.png", dpi=100)
    plt.close(fig)
    files.append("idle.png")
    sweep = [s for s in sums if s["policy"].startswith("planner")]
    if len(sweep) > 2:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.scatter([s["extra_p95"] for s in sweep], [s["served_per_day"] for s in sweep])
        for s in sweep:
            ax.annotate(s["policy"].replace("planner ", ""),
                        (s["extra_p95"], s["served_per_day"]), fontsize=7)
        ax.axvline(1.0, color="grey", linestyle=":")
        ax.set_title(t("chart_tradeoff", lang))
        fig.tight_layout()
        fig.savefig(out / "tradeoff.png", dpi=100)
        plt.close(fig)
        files.append("tradeoff.png")
    return files


def hour_table(study: Study, lang: str, policy: str) -> list[str]:
    """Walk-ins who come and are served, by hour of arrival: where the places pay."""
    sums = {s["policy"]: s for s in study.summaries()}
    s = sums.get(policy) or list(sums.values())[-1]
    if not s["served_by_hour"]:
        return []
    first = study.params.open.hour
    rows = [[f"{(first + h) % 24:02d}", _f(come), _f(served),
             f"{100 * served / come:.0f} %" if come else "–"]
            for h, (come, served) in enumerate(zip(s["come_by_hour"], s["served_by_hour"],
                                                   strict=True))]
    return ["", f"## {t('by_hour', lang)}", "", t("by_hour_note", lang, policy=s["policy"]), "",
            _table(t("by_hour_cols", lang), rows)]


def whatif_rows(study: Study, whatifs: list[tuple[str, Study]], policy: str) -> list[list[str]]:
    rows = []
    for label, st in [(None, study), *whatifs]:
        sums = {s["policy"]: s for s in st.summaries()}
        s = sums.get(policy) or list(sums.values())[-1]
        p = st.params
        rows.append([label or "", _f(s["served_per_week"], 0), _f(s["extra_p95"], 2),
                     _f(s["idle_minutes_per_day"], 0),
                     _f(s["idle_minutes_per_day"] / 60 * p.staff_hour_dkk * p.days_per_week, 0),
                     "–" if s["share_of_optimum"] is None
                     else f"{100 * s['share_of_optimum']:.0f} %"])
    return rows


def markdown(study: Study, lang: str, command: str, files: list[str],
             whatifs: list[tuple[str, Study]], policy: str = "planner") -> str:
    h = headline(study, policy)
    sums = study.summaries()
    lines = [f"# {t('title', lang)}", "", t("question", lang), "", f"## {t('answer', lang)}", "",
             t("answer_text", lang, **h), "",
             t("verdict_pays" if h["extra_p95"] <= 1.0 else "verdict_costs", lang), "",
             f"## {t('policies', lang)}", "", t("policy_names", lang), "",
             _table(t("cols", lang), [_row(s) for s in sums
                                      if not s["policy"].startswith("planner q=")]),
             "", t("late_note", lang)]
    sweep = [s for s in sums if s["policy"].startswith("planner q=")]
    if sweep:
        lines += ["", f"## {t('tradeoff', lang)}", "", t("tradeoff_note", lang), "",
                  _table(t("cols", lang), [_row(s) for s in sweep])]
    lines += hour_table(study, lang, policy)
    if whatifs:
        rows = whatif_rows(study, whatifs, policy)
        rows[0][0] = t("base", lang)
        lines += ["", f"## {t('whatif', lang)}", "", _table(t("whatif_cols", lang), rows)]
    if files:
        lines += ["", f"## {t('charts', lang)}", ""]
        lines += [f"![{f}]({f})" for f in files]
    gap = t("gap", lang, gap=max(study.gaps)) if study.gaps and max(study.gaps) > 0 else ""
    lines += ["", f"## {t('assumptions', lang)}", "", assumptions(study, lang), "",
              t("simplify", lang, grid=study.params.grid_seconds, gap=gap)]
    tail = ["", "", f"## {t('command', lang)}", "", f"    {command}", "",
            danish(timing(study, lang), lang), ""]
    return danish("\n".join(lines), lang) + "\n".join(tail)


def timing(study: Study, lang: str) -> str:
    n = len(next(iter(study.stats.values())).days) if study.stats else 1
    sims = sum(v for k, v in study.seconds.items() if k != "hindsight")
    per = 1000 * sims / max(1, n * len(study.policies))
    return t("timing", lang, wall=study.wall, per=per, hs=study.seconds.get("hindsight", 0.0))


def terminal(study: Study, lang: str, whatifs: list[tuple[str, Study]],
             policy: str = "planner") -> str:
    """The summary printed when the run ends."""
    h = headline(study, policy)
    text = t("answer_text", lang, **h).replace("**", "")
    sums = study.summaries()
    cols = t("cols", lang).split("|")
    out = [t("title", lang), "", text, ""]
    width = max(len(s["policy"]) for s in sums)
    head = (f"{cols[0]:<{width}}  {cols[1]:>12}  {cols[6]:>14}  {cols[7]:>14}  "
            f"{cols[8]:>20}  {cols[12]:>16}")
    out.append(head)
    for s in sums:
        r = _row(s)
        out.append(f"{r[0]:<{width}}  {r[1]:>12}  {r[6]:>14}  {r[7]:>14}  {r[8]:>20}  "
                   f"{r[12]:>16}")
    if whatifs:
        out += ["", t("whatif", lang) + ":"]
        rows = whatif_rows(study, whatifs, policy)
        rows[0][0] = t("base", lang)
        wcols = t("whatif_cols", lang).split("|")
        out.append(" | ".join(wcols))
        out += [" | ".join(r) for r in rows]
    out += ["", timing(study, lang)]
    return danish("\n".join(out), lang)


def write(study: Study, out: Path, lang: str, command: str,
          whatifs: list[tuple[str, Study]] | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    whatifs = whatifs or []
    files = charts(study, out, lang, whatifs)
    path = out / ("rapport.md" if lang == "da" else "report.md")
    path.write_text(markdown(study, lang, command, files, whatifs), "utf-8")
    return path
