"""The report's words in Danish (the default) and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "title": {"da": "Chancekø: betaler walk-ins i hullerne sig?",
              "en": "Chance queue: do walk-ins in the gaps pay?"},
    "question": {
        "da": "Spørgsmålet (Kalundborg, budget 2023): ville en chancekø af borgere uden tid, "
              "der udfylder hullerne i den obligatoriske tidsbestilling, spare penge eller give "
              "bedre service for de samme penge – eller spilde personaletid?",
        "en": "The question (Kalundborg, 2023 budget): would a chance queue of walk-ins, filling "
              "the gaps of the mandatory booking calendar, save money or give better service for "
              "the same money – or waste staff time?"},
    "answer": {"da": "Svaret", "en": "The answer"},
    "answer_text": {
        "da": "Med Skrankes planlægger ville en chancekø betjene ca. **{served_week:.0f} borgere "
              "om ugen** ({served_day:.1f} om dagen, af {walkins_day:.1f} der kommer). Det koster "
              "de bookede borgere: {delayed:.1f} % får ekstra ventetid, i gennemsnit "
              "{extra_mean:.2f} min, og 95 % venter højst {extra_p95:.1f} min ekstra; {late:.1f} % "
              "kommer til senere end deres bookede tid, end de ellers ville. Køen "
              "udfylder {filled:.0f} af dagens {idle:.0f} ledige skrankeminutter, en værdi af "
              "**{dkk_week:,.0f} kr. om ugen** i personaletid, der ellers står ubrugt. "
              "Bagklogskabens optimum (alt kendt på forhånd, ingen booket forsinket) ville "
              "betjene {optimum_day:.1f} om dagen; planlæggeren når {share:.0f} % af det.",
        "en": "With Skranke's planner a chance queue would serve about **{served_week:.0f} "
              "citizens a week** ({served_day:.1f} a day, of {walkins_day:.1f} who come). The cost "
              "to booked citizens: {delayed:.1f} % get extra waiting, {extra_mean:.2f} min on "
              "average, and 95 % wait at most {extra_p95:.1f} min extra; {late:.1f} % are served "
              "later than their booked time than they would have been. The queue fills "
              "{filled:.0f} of the day's {idle:.0f} idle counter minutes, worth **DKK "
              "{dkk_week:,.0f} a week** of staff time that is otherwise unused. The hindsight "
              "optimum (everything known in advance, no booked citizen delayed) would serve "
              "{optimum_day:.1f} a day; the planner reaches {share:.0f} % of it."},
    "verdict_pays": {
        "da": "Konklusion: personaletiden er betalt under alle omstændigheder; chancekøen bruger "
              "ledig tid og gør ikke de bookede borgeres dag mærkbart længere.",
        "en": "Conclusion: the staff time is paid for either way; the chance queue uses idle "
              "time and does not make booked citizens' day noticeably longer."},
    "verdict_costs": {
        "da": "Konklusion: chancekøen bruger ledig tid, men forsinker bookede borgere mere end "
              "1 minut for de 5 % mest ramte; overvej planlæggerens indstillinger.",
        "en": "Conclusion: the chance queue uses idle time but delays the 5 % most affected "
              "booked citizens by more than a minute; consider the planner's settings."},
    "policies": {"da": "Politikker", "en": "Policies"},
    "policy_names": {"da": "booking=kun tidsbestilling (walk-ins afvises); naive=walk-in når en "
                           "skranke er ledig; planner=Skrankes planlægger",
                     "en": "booking=booking only (walk-ins turned away); naive=a walk-in whenever "
                           "a counter idles; planner=Skranke's planner"},
    "cols": {"da": "politik|betjent/dag|gik/dag|afvist/dag|ventetid gns./p90 min|bookede "
                   "forsinket %|ekstra gns. min|ekstra p95 min|efter tiden % / p95 min|"
                   "ledig min/dag|ledig kr./dag|overtid min/dag|andel af optimum",
             "en": "policy|served/day|left/day|turned away/day|wait mean/p90 min|booked delayed %|"
                   "extra mean min|extra p95 min|past the slot % / p95 min|idle min/day|"
                   "idle DKK/day|overtime min/day|share of optimum"},
    "late_note": {
        "da": "Ekstra ventetid er målt mod samme dag uden walk-ins. Det meste af den er bookede, "
              "der ellers var blevet kaldt før deres tid af en ledig skranke; \"efter tiden\" "
              "tæller kun den del, der også ligger efter borgerens bookede tid.",
        "en": "Extra delay is measured against the same day without walk-ins. Most of it is "
              "booked citizens who would otherwise have been called before their time by an "
              "idle counter; \"past the slot\" counts only the part that is also past the "
              "citizen's booked time."},
    "tradeoff": {"da": "Afvejning: planlæggerens indstillinger", "en": "Trade-off: the planner's "
                 "settings"},
    "tradeoff_note": {"da": "q = duration_quantile (0: katalogets minutter), p = "
                            "passed_over_minutes (0: ingen grænse).",
                      "en": "q = duration_quantile (0: the catalogue's minutes), p = "
                            "passed_over_minutes (0: no limit)."},
    "whatif": {"da": "Hvad nu hvis", "en": "What if"},
    "whatif_cols": {"da": "variant|walk-ins betjent/uge|ekstra p95 min|ledig min/dag|ledig "
                          "kr./uge|andel af optimum",
                    "en": "variant|walk-ins served/week|extra p95 min|idle min/day|idle DKK/week|"
                          "share of optimum"},
    "base": {"da": "som nu", "en": "as now"},
    "counters": {"da": "{n} skranker", "en": "{n} counters"},
    "capacity": {"da": "bookingkapacitet {n}", "en": "booking capacity {n}"},
    "no_show": {"da": "udeblivelser {n} %", "en": "no-shows {n} %"},
    "by_hour": {"da": "Time for time: walk-ins pr. dag", "en": "Hour by hour: walk-ins a day"},
    "by_hour_cols": {"da": "time|kommer|betjent|andel betjent",
                     "en": "hour|come|served|share served"},
    "by_hour_note": {
        "da": "Efter ankomsttime, gennemsnit pr. dag, med {policy}. Timer hvor en stor andel "
              "betjenes, er dem hvor chancekøen har plads; timer hvor få betjenes, har ingen "
              "huller at fylde.",
        "en": "By hour of arrival, mean per day, with {policy}. Hours where a large share is "
              "served are those where the chance queue has room; hours where few are served "
              "have no gaps to fill."},
    "assumptions": {"da": "Antagelser", "en": "Assumptions"},
    "assume": {
        "da": "{days} simulerede dage (seed {seed}), parametre fra {source}: {counters} skranker "
              "åbne {open}–{close}; tidsbestilling i {slot}-minutters tider, {capacity} "
              "skranker til bookede, {fill:.0f} % booket; udeblivelser {no_show:.0f} %; bookede "
              "kommer i gennemsnit {early:.0f} min før tiden (spredning {sd:.0f} min); {short:.0f} "
              "% af besøgene slutter kort (manglende dokumenter, henvisning); ekspeditionstider "
              "lognormale (variationskoefficient ca. {cv:.1f}); {rate:.1f} walk-ins i timen pr. "
              "skranke ({disp}); walk-ins venter i gennemsnit højst {patience:.0f} min; en "
              "skranketime koster {dkk:.0f} kr.",
        "en": "{days} simulated days (seed {seed}), parameters from {source}: {counters} counters "
              "open {open}–{close}; booking in {slot}-minute slots, {capacity} counters kept for "
              "booked citizens, {fill:.0f} % booked; no-shows {no_show:.0f} %; booked citizens "
              "arrive {early:.0f} min early on average (spread {sd:.0f} min); {short:.0f} % of "
              "visits end short (missing documents, referral); lognormal service times "
              "(coefficient of variation about {cv:.1f}); {rate:.1f} walk-ins an hour per "
              "counter ({disp}); walk-ins wait at most {patience:.0f} min on average; a counter "
              "hour costs DKK {dkk:.0f}."},
    "poisson": {"da": "Poisson", "en": "Poisson"},
    "overdispersed": {"da": "overspredt, varians {d}", "en": "over-dispersed, variance {d}"},
    "simplify": {
        "da": "Forenklinger: en kaldt borger starter straks; skrankerne er bemandet hele dagen "
              "og tager alle ærinder; en booket borger mere end karenstiden forsinket er "
              "udeblevet; ekstra ventetid måles mod samme dag uden walk-ins (samme ankomster og "
              "ekspeditionstider). Bagklogskabens optimum holder de bookedes starttider fra "
              "dagen uden walk-ins og regner på et {grid}-sekunders gitter afrundet til dets "
              "fordel (en øvre grænse){gap}.",
        "en": "Simplifications: a called citizen starts at once; counters are staffed all day "
              "and take every errand; a booked citizen later than the grace minutes is a "
              "no-show; extra delay is measured against the same day without walk-ins (same "
              "arrivals and service times). The hindsight optimum keeps the booked citizens' "
              "starts of the day without walk-ins and works on a {grid}-second grid rounded in "
              "its favour (an upper bound){gap}."},
    "gap": {"da": "; største MILP-gab {gap:.1%}", "en": "; largest MILP gap {gap:.1%}"},
    "command": {"da": "Kommando", "en": "Command"},
    "charts": {"da": "Figurer", "en": "Charts"},
    "chart_served": {"da": "Walk-ins betjent pr. dag", "en": "Walk-ins served per day"},
    "chart_tradeoff": {"da": "Betjent pr. dag mod bookedes ekstra ventetid (p95, min)",
                       "en": "Served per day against booked extra delay (p95, min)"},
    "chart_idle": {"da": "Ledige skrankeminutter pr. dag", "en": "Idle counter minutes per day"},
    "optimum": {"da": "optimum", "en": "optimum"},
    "timing": {"da": "Køretid: {wall:.0f} s ({per:.0f} ms pr. dag og politik; optimum {hs:.0f} s).",
               "en": "Run time: {wall:.0f} s ({per:.0f} ms per day and policy; optimum {hs:.0f} "
                     "s)."},
}


def t(key: str, lang: str, **kw) -> str:
    text = TEXTS[key].get(lang) or TEXTS[key]["da"]
    return text.format(**kw) if kw else text
