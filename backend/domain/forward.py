"""The forward plan: the day run on from now with the planner's dispatch (planner.py),
booked citizens as call next takes them and the waiting walk-ins placed into the gaps by
the same choice. It gives every waiting visit its place in the queue, every waiting walk-in
its estimated call time and the gap it is planned into. Pure functions (DESIGN.md rule 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .planner import INF, Model, Sim, booked_key, walkin_key
from .types import DayState, Kind, State, Visit


@dataclass(frozen=True, slots=True)
class Plan:
    #: Every waiting visit's place in the order call next takes them (1 = next).
    ranks: dict[int, int]
    #: Waiting walk-ins: when the planner expects them to be called, to the minute (never
    #: before now's minute).
    estimates: dict[int, datetime]
    #: Waiting walk-ins: the gap each is planned into: (counter id, its start, the start of
    #: the booking that ends the gap at that counter, or None when no booking follows).
    gaps: dict[int, tuple[int, datetime, datetime | None]] = field(default_factory=dict)


def plan(day: DayState, now: datetime) -> Plan:
    """Run the day forward from now: booked by dispatch, walk-ins into the gaps."""
    m = Model(day, now)
    sim = Sim(m)
    sim.walkins = list(m.walkins)
    need = {j for j in range(m.n) if m.visit[j].state is State.WAITING}
    t = 0
    # on until every waiting visit has its start and every walk-in's gap its end (or no
    # booked citizen is left to end it)
    while (sim.walkins or need or (sim.open_gaps and sim.booked)) and t < INF:
        started: list[int] = []
        sim.step(t, [], started)
        need.difference_update(started)
        t = sim.next_time()
    starts = {m.visit[j].id: s for j, s in sim.start.items()}
    starts.update(sim.placed)
    estimates = {m.visit[j].id: _minute(m.at(s)) for j, s in sim.start.items()
                 if not m.booked[j]}
    estimates.update((vid, _minute(m.at(s))) for vid, s in sim.placed.items())
    gaps = {vid: (m.counters[k].id, _minute(m.at(start)),
                  m.at(end) if end is not None else None)
            for vid, (k, start, end) in sim.gaps.items()}
    return Plan(ranks(day, now, starts), estimates, gaps)


def _minute(at: datetime) -> datetime:
    """An estimate (and the start of the gap it is planned into) to its minute, as every
    screen and page tells it (HH:MM): a plan whose estimates moved by seconds only, as the
    clock ran, is the same plan and is not sent again (services/planning.py)."""
    return at.replace(second=0, microsecond=0)


def ranks(day: DayState, now: datetime, starts: dict[int, int]) -> dict[int, int]:
    """Assigned and due booked citizens first (as call next takes them), then everyone else
    by the planner's expected call time, walk-ins before booked at the same time."""
    due_by = now + day.rules.due_ahead

    def key(v: Visit) -> tuple:
        if v.counter_id is not None:  # sent to a counter: first there (queue.choose_next)
            return (0, 0, 0, *booked_key(v))
        if v.kind is Kind.BOOKED and v.slot_start is not None and v.slot_start <= due_by:
            return (0, 0, 1, *booked_key(v))
        at = starts.get(v.id, INF)
        if v.kind is Kind.WALKIN:
            return (1, at, 0, *walkin_key(v))
        return (1, at, 1, *booked_key(v))

    waiting = sorted((v for v in day.visits if v.state is State.WAITING), key=key)
    return {v.id: i for i, v in enumerate(waiting, start=1)}
