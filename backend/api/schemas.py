"""Request bodies (strict: unknown fields refused) and response shapes for the OpenAPI contract."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..domain.types import DocStatus, Outcome

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ]{8,20}$", max_length=21)]
Number = Annotated[int, Field(ge=1, le=999)]
#: An errand's or a document's code, as in the catalogue (backend/data/errands.toml).
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", max_length=40)]
#: A mapping keyed by codes, said in the published schema (pydantic does not carry the key's
#: pattern into it): so Schemathesis and clients see the keys a request may use.
CODE_KEYS = {"propertyNames": {"pattern": r"^[a-z][a-z0-9_]{1,39}$", "maxLength": 40},
             "additionalProperties": False}
#: DDMMYY-XXXX or DDMMYYXXXX with a real birth date (domain/cpr.py), as one pattern: days
#: 01-28 of any month, 29-30 of all but February, 31 of the long months, 29 February in a
#: leap year (year 00 is 2000, a leap year, when the 7th digit is 4-9, else 1900).
CPR_PATTERN = (r"^(?:(?:0[1-9]|1[0-9]|2[0-8])(?:0[1-9]|1[0-2])[0-9]{2}"
               r"|(?:29|30)(?:0[13-9]|1[0-2])[0-9]{2}|31(?:0[13578]|1[02])[0-9]{2}"
               r"|2902(?:0[48]|[2468][048]|[13579][26]))-?[0-9]{4}$|^290200-?[4-9][0-9]{3}$")
Cpr = Annotated[str, Field(pattern=CPR_PATTERN, min_length=10, max_length=11)]
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _day(value: Any) -> Any:
    """A day strictly as YYYY-MM-DD (pydantic alone also took a Unix time, '20261124' …)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(DAY_PATTERN, value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


#: A calendar day in a query: YYYY-MM-DD and nothing else.
Day = Annotated[date, BeforeValidator(_day),
                WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN})]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def exactly_one(*fields: str) -> dict:
    """The JSON Schema of "exactly one of these fields is given (not null)", for a body
    whose fields are each optional and nullable."""
    return {"oneOf": [{"required": [f], "properties": {
        g: ({"type": "string"} if g == f else {"type": "null"}) for g in fields}}
        for f in fields]}


class CallBody(Body):
    counter: Number


class TransferBody(Body):
    counter: Number | None = None
    errand: Code | None = None


class MoveBody(Body):
    counter: Number | None = None


class PriorityBody(Body):
    priority: Annotated[int, Field(ge=-9, le=9)]


class ReasonBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=40,
                                 pattern=r"^[a-z_]+$")] = "left"


class FinishBody(Body):
    outcome: Outcome
    note: Annotated[str, Field(max_length=2000)] | None = None
    referred_to: Annotated[str, Field(max_length=200)] | None = None
    rebook_at: AwareDatetime | None = Field(None, description=(
        "Missing documents only: book the citizen this free time in the same change; "
        "undoing the finish cancels that booking"))


class DocumentBody(Body):
    status: DocStatus


class NoteBody(Body):
    text: Text


class WalkinBody(Body):
    errand: Code
    name: Name
    cpr: Cpr | None = None
    phone: Phone | None = None
    documents: Annotated[dict[Code, DocStatus], Field(
        max_length=40, json_schema_extra=CODE_KEYS)] = Field(default_factory=dict)
    priority: Annotated[int, Field(ge=-9, le=9)] = 0
    answers: Annotated[dict[Code, bool], Field(max_length=10, description=(
        "The errand's questions answered (catalogue `questions`): the visit gets only the "
        "documents that apply"), json_schema_extra=CODE_KEYS)] = Field(default_factory=dict)


class BookingBody(Body):
    errand: Code
    start: AwareDatetime
    name: Name
    cpr: Cpr | None = None
    phone: Phone | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    counter: Number | None = None


class RescheduleBody(Body):
    start: AwareDatetime


class CancelBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")] = (
        "cancelled")


class CheckInBody(Body):
    booking_ref: Annotated[str, Field(min_length=4, max_length=12, pattern=r"^[A-Za-z0-9]+$")]


class ErrandsBody(Body):
    errands: Annotated[list[Code], Field(max_length=100)] | None


# --- responses -----------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(Out):
    code: str
    message: str


class DocumentOut(Out):
    code: str
    status: DocStatus
    name_da: str | None = None
    name_en: str | None = None


class CitizenOut(Out):
    name: str
    cpr: str | None = Field(description="Masked DDMMYY-XXXX; reveal through /cpr")
    phone: str | None


class NoteOut(Out):
    at: str
    author: str
    text: str


class GapOut(Out):
    counter: int | None = Field(description="The counter the walk-in is planned at")
    start: str = Field(description="When the walk-in is expected to be called there")
    until: str | None = Field(description="The booking that ends the gap there; None when "
                                          "no booking follows")


class VisitOut(Out):
    id: int
    ticket: str
    kind: str
    state: str
    errand: str
    expected_minutes: int
    priority: int
    counter_id: int | None
    counter: int | None
    counter_name: str | None
    slot_start: str | None
    arrived_at: str | None
    called_at: str | None
    started_at: str | None
    finished_at: str | None
    call_count: int
    outcome: str | None
    left_reason: str | None
    documents: list[DocumentOut]
    queue_rank: int | None
    estimated_call_at: str | None = None
    planned_gap: GapOut | None = Field(None, description="A waiting walk-in's gap in the "
                                                         "booking calendar")
    version: int
    site_id: str
    day: str
    booking_ref: str | None
    citizen: CitizenOut
    citizen_note: str | None
    prepared_notes: str | None
    precall: dict[str, Any] | None
    notes: list[NoteOut]


class RebookingOut(Out):
    """The booking a finish for missing documents made (state booked), or that its undo
    cancelled (state cancelled)."""

    id: int
    ticket: str
    booking_ref: str | None
    slot_start: str | None
    state: str


class FinishOut(VisitOut):
    rebooking: RebookingOut | None = None


class TicketOut(Out):
    """What a device (kiosk, display) is told of a visit: its ticket and times, no citizen."""

    id: int
    ticket: str
    kind: str
    state: str
    errand: str
    site_id: str
    day: str
    slot_start: str | None
    arrived_at: str | None
    counter: int | None
    counter_name: str | None
    queue_rank: int | None = None
    estimated_call_at: str | None = None
    planned_gap: GapOut | None = None
    version: int


#: The fields of a visit a device role gets (TicketOut).
TICKET_FIELDS = tuple(TicketOut.model_fields)


def for_role(role: str, visit: dict[str, Any]) -> dict[str, Any]:
    """A visit's answer as the role may have it: a device role gets TicketOut only."""
    if role in ("kiosk", "display"):
        return {k: visit[k] for k in TICKET_FIELDS if k in visit}
    return visit


class CounterOut(Out):
    id: int
    number: int
    name: str
    state: str
    staffed_by: str | None
    errands: list[str] | None
    version: int


class DayOut(Out):
    site_id: str
    date: str
    seq: int
    now: str
    closed_reason: str | None
    opening: list[list[str]]
    counters: list[CounterOut]
    visits: list[VisitOut]


class CallNextOut(Out):
    visit: VisitOut | None
    reason: str
    next_booking_at: str | None
    walkins_waiting: int | None
    #: nobody called though walk-ins wait: the first of them, held back because no gap
    #: here fits them before the next booking ({"id", "ticket"}; no personal data)
    held: dict[str, Any] | None = None


class FreeTimesOut(Out):
    site_id: str
    date: str
    errand: str
    minutes: int
    closed_reason: str | None
    times: list[str]


class CprOut(Out):
    visit_id: int
    cpr: str | None
