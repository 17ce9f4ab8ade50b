"""The booking calendar: fixed-length slots with a capacity, pooled across counters."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta


def slots_needed(minutes: int, slot_minutes: int) -> int:
    return max(1, math.ceil(minutes / slot_minutes))


def slot_grid(windows: Iterable[tuple[datetime, datetime]], slot_minutes: int) -> list[datetime]:
    """Every slot start inside the opening windows of a day."""
    step = timedelta(minutes=slot_minutes)
    out: list[datetime] = []
    for start, end in windows:
        t = start
        while t + step <= end:
            out.append(t)
            t += step
    return out


def occupancy(bookings: Iterable[tuple[datetime, int]], slot_minutes: int) -> dict[datetime, int]:
    """How many booked citizens each slot holds; a booking covers its consecutive slots."""
    step = timedelta(minutes=slot_minutes)
    used: dict[datetime, int] = {}
    for start, minutes in bookings:
        for i in range(slots_needed(minutes, slot_minutes)):
            t = start + i * step
            used[t] = used.get(t, 0) + 1
    return used


def free_times(windows: list[tuple[datetime, datetime]], slot_minutes: int, capacity: int,
               bookings: Iterable[tuple[datetime, int]], minutes: int,
               not_before: datetime | None = None) -> list[datetime]:
    """Slot starts where an errand of `minutes` still fits under the capacity."""
    grid = slot_grid(windows, slot_minutes)
    in_grid = set(grid)
    used = occupancy(bookings, slot_minutes)
    need = slots_needed(minutes, slot_minutes)
    step = timedelta(minutes=slot_minutes)
    out = []
    for t in grid:
        if not_before is not None and t < not_before:
            continue
        span = [t + i * step for i in range(need)]
        if all(s in in_grid and used.get(s, 0) < capacity for s in span):
            out.append(t)
    return out


def is_free(windows: list[tuple[datetime, datetime]], slot_minutes: int, capacity: int,
            bookings: Iterable[tuple[datetime, int]], minutes: int, start: datetime) -> bool:
    """Whether an errand of `minutes` can start at `start` (only its own slots are checked)."""
    grid = set(slot_grid(windows, slot_minutes))
    used = occupancy(bookings, slot_minutes)
    step = timedelta(minutes=slot_minutes)
    return all(start + i * step in grid and used.get(start + i * step, 0) < capacity
               for i in range(slots_needed(minutes, slot_minutes)))
