"""Typed results of the backend API, as the console reads them (no backend import)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Document(_Model):
    code: str
    status: str
    name_da: str | None = None
    name_en: str | None = None


class Citizen(_Model):
    name: str
    cpr: str | None = None  # masked DDMMYY-XXXX
    phone: str | None = None


class Note(_Model):
    at: datetime
    author: str
    text: str


class Gap(_Model):
    """The gap in the booking calendar a waiting walk-in is planned into."""

    counter: int | None = None
    start: datetime
    #: the booking that ends the gap at that counter; None when none follows
    until: datetime | None = None


class Visit(_Model):
    id: int
    ticket: str
    kind: str
    state: str
    errand: str
    expected_minutes: int
    priority: int = 0
    counter_id: int | None = None
    counter: int | None = None
    counter_name: str | None = None
    slot_start: datetime | None = None
    arrived_at: datetime | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    call_count: int = 0
    outcome: str | None = None
    left_reason: str | None = None
    documents: tuple[Document, ...] = ()
    queue_rank: int | None = None
    #: walk-ins: when the planner expects them to be called
    estimated_call_at: datetime | None = None
    planned_gap: Gap | None = None
    version: int
    booking_ref: str | None = None
    citizen: Citizen | None = None
    citizen_note: str | None = None
    prepared_notes: str | None = None
    precall: dict[str, Any] | None = None
    notes: tuple[Note, ...] = ()


class Counter(_Model):
    id: int
    number: int
    name: str
    state: str
    staffed_by: str | None = None
    errands: tuple[str, ...] | None = None
    version: int


class Day(_Model):
    site_id: str
    date: str
    seq: int
    now: datetime
    closed_reason: str | None = None
    #: opening hours of the day: (start, end) pairs
    opening: tuple[tuple[datetime, datetime], ...] = ()
    counters: tuple[Counter, ...]
    visits: tuple[Visit, ...]


class CallNext(_Model):
    visit: Visit | None
    reason: str
    next_booking_at: datetime | None = None
    walkins_waiting: int | None = None
    #: nobody called though walk-ins wait: the first of them ({"id", "ticket"})
    held: dict[str, Any] | None = None


class FreeTimes(_Model):
    date: str
    errand: str
    minutes: int
    closed_reason: str | None = None
    times: tuple[datetime, ...]


class Me(_Model):
    person: str
    role: str
    token_id: str
    #: the one site the token acts on; None: every site
    site: str | None = None
