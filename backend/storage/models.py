"""The tables. Portable SQLAlchemy types only: nothing ties the schema to SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .crypto import EncryptedCpr


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC everywhere, handed out as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def as_utc(value: datetime | None) -> datetime | None:
    """An aware time in UTC itself (the same instant): a time parsed from a request keeps its
    offset as pydantic's own tzinfo, and comparing it with the UTC times held in memory cost
    34 times a UTC-to-UTC comparison (the queue decision compares every open visit's slot)."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SiteRow(Base):
    """One row per site; also the site's lock row and its event sequence."""

    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the planner's settings as a supervisor set them (null: the settings file's)
    passed_over_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_quantile: Mapped[float | None] = mapped_column(Float, nullable=True)


class CounterRow(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("site_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(16), default="closed")
    # a user staffs at most one counter: NULLs are distinct in SQLite and PostgreSQL alike
    staffed_by: Mapped[str | None] = mapped_column(String(80), unique=True)
    errands: Mapped[list[Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None]


class VisitRow(Base):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("site_id", "day", "ticket"),
        Index("ix_visits_site_day_state", "site_id", "day", "state"),
        Index("ix_visits_cpr_ref", "cpr_ref"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    ticket: Mapped[str] = mapped_column(String(10))
    ticket_seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))
    errand: Mapped[str] = mapped_column(String(40))
    expected_minutes: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    booking_ref: Mapped[str | None] = mapped_column(String(12), unique=True)
    slot_start: Mapped[datetime | None]
    citizen_name: Mapped[str] = mapped_column(String(200))
    #: encrypted at rest (storage/crypto.py); searched by `cpr_ref`, its keyed hash
    cpr: Mapped[str | None] = mapped_column(EncryptedCpr)
    cpr_ref: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(30))
    citizen_note: Mapped[str | None] = mapped_column(Text)
    prepared_notes: Mapped[str | None] = mapped_column(Text)
    precall: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    documents: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    arrived_at: Mapped[datetime | None]
    called_at: Mapped[datetime | None]
    last_called_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    referred_to: Mapped[str | None] = mapped_column(String(200))
    left_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class NoteRow(Base):
    __tablename__ = "visit_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    occurred_at: Mapped[datetime | None]


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    person: Mapped[str] = mapped_column(String(80))
    #: the one site it acts on; null: every site (an admin or supervisor made without --site)
    site_id: Mapped[str | None] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DevicePairingRow(Base):
    """A one-time pairing code for a display or kiosk token (backend/web/pairing.py): only
    its SHA-256 is kept; opening its URL once gives the device its cookie."""

    __tablename__ = "device_pairings"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("tokens.id"), index=True)
    site_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TicketCodeRow(Base):
    """The opaque code of a citizen's own ticket page (/t/{code}), valid on `day` only:
    only its SHA-256 is kept."""

    __tablename__ = "ticket_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    site_id: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
class AuthFailureRow(Base):
    """Failed authentications of one client address in its current window
    (services/throttle.py)."""

    __tablename__ = "auth_failures"
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditRow(Base):
    """Append-only: the code never updates or deletes, and database triggers refuse it."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_site_at", "site_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    occurred_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(80), index=True)
    token_id: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[str | None] = mapped_column(String(40))
    visit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    counter_id: Mapped[int | None] = mapped_column(Integer)
    citizen_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("site_id", "seq"), Index("ix_events_at", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyRow(Base):
    __tablename__ = "idempotency"
    actor: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(400))
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)


def _set_utc(_target: Any, value: datetime | None, _old: Any, _initiator: Any
             ) -> datetime | None:
    return as_utc(value)


# every time column of every table holds its value in UTC, whatever the writer was given
for _mapper in Base.registry.mappers:
    for _prop in _mapper.column_attrs:
        if isinstance(_prop.columns[0].type, UTCDateTime):
            sa_event.listen(getattr(_mapper.class_, _prop.key), "set", _set_utc, retval=True)
