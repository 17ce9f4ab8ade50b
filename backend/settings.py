"""Server settings: the shipped, documented defaults (data/server.toml), the operator's
TOML file laid over them, then environment variables (SKRANKE_*)."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .domain.types import Rules

DATA = Path(__file__).parent / "data"
DEFAULTS_FILE = DATA / "server.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")
CUSTOMARY_CLOSED = ((6, 5), (12, 24), (12, 31))


def _parse_windows(text: str) -> list[tuple[time, time]]:
    out = []
    for part in text.split(","):
        m = _WINDOW.match(part)
        if not m:
            raise ValueError(f"'{part.strip()}' is not HH:MM-HH:MM")
        a = time(int(m[1]), int(m[2]))
        b = time(int(m[3]), int(m[4]))
        if b <= a:
            raise ValueError(f"'{part.strip()}' closes before it opens")
        out.append((a, b))
    return out


@lru_cache(maxsize=16)
def _danish_holidays(year: int) -> dict[date, str]:
    return dict(holidays.Denmark(years=year, language="da"))


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
    name: str
    timezone: str = "Europe/Copenhagen"
    counters: Annotated[int, Field(ge=1, le=60)] = 6
    slot_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    booking_capacity: Annotated[int, Field(ge=0, le=60)] = 5
    grace_minutes: Annotated[int, Field(ge=0, le=120)] = 10
    due_ahead_minutes: Annotated[int, Field(ge=0, le=60)] = 2
    max_calls: Annotated[int, Field(ge=1, le=10)] = 3
    recall_min_seconds: Annotated[int, Field(ge=0, le=600)] = 30
    booking_days_ahead: Annotated[int, Field(ge=0, le=400)] = 60
    passed_over_minutes: Annotated[int, Field(ge=0, le=480)] = 20
    duration_quantile: Annotated[float, Field(ge=0, le=1)] = 0.8
    #: What one staffed counter hour costs in DKK (salary and overhead); 0: not known. The
    #: statistics then give the value of the idle counter minutes.
    staff_hour_dkk: Annotated[float, Field(ge=0, le=100_000)] = 0
    hours: dict[str, str] = Field(default_factory=lambda: {d: "09:00-15:00" for d in WEEKDAYS[:5]})
    closed_on_customary_days: bool = True
    #: Closed on Danish public holidays (only the demo turns this off).
    public_holidays: bool = True
    closed_dates: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception:
            raise ValueError(f"unknown time zone '{v}'") from None
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        for day, text in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"'{day}' is not a weekday; use {', '.join(WEEKDAYS)}")
            _parse_windows(text)
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def rules(self) -> Rules:
        return Rules(grace_minutes=self.grace_minutes, due_ahead_minutes=self.due_ahead_minutes,
                     max_calls=self.max_calls, recall_min_seconds=self.recall_min_seconds,
                     slot_minutes=self.slot_minutes,
                     passed_over_minutes=self.passed_over_minutes,
                     duration_quantile=self.duration_quantile)

    def closed_reason(self, day: date) -> str | None:
        """Why the site is closed that day, or None when it is open."""
        dk = _danish_holidays(day.year)
        if self.public_holidays and day in dk:
            return dk[day]
        if self.closed_on_customary_days and (day.month, day.day) in CUSTOMARY_CLOSED:
            return {(6, 5): "Grundlovsdag", (12, 24): "Juleaftensdag",
                    (12, 31): "Nytårsaftensdag"}[(day.month, day.day)]
        if day in self.closed_dates:
            return "Lukket"
        if WEEKDAYS[day.weekday()] not in self.hours:
            return "Lukket (ugedag)"
        return None

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """Opening windows of a day as aware datetimes; empty on a closed day."""
        if self.closed_reason(day):
            return []
        text = self.hours[WEEKDAYS[day.weekday()]]
        return [(datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz))
                for a, b in _parse_windows(text)]

    def closing_at(self, day: date) -> datetime | None:
        w = self.windows(day)
        return w[-1][1] if w else None

    def open_days(self, start: date, count: int) -> list[date]:
        """The next `count` open days from `start` (included)."""
        out, d = [], start
        while len(out) < count and d < start + timedelta(days=400):
            if not self.closed_reason(d):
                out.append(d)
            d += timedelta(days=1)
        return out


_FILES: list[Path] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKRANKE_", extra="forbid", frozen=True)

    database_url: str = "sqlite:///skranke.db"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8470
    tls_certificate: str = ""
    tls_key: str = ""
    token_days: Annotated[int, Field(ge=1, le=3650)] = 180
    idempotency_hours: Annotated[int, Field(ge=48)] = 48
    tick_seconds: Annotated[float, Field(gt=0, le=300)] = 5
    worker_threads: Annotated[int, Field(ge=1, le=200)] = 4
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    #: A write that cannot get the database's lock within this many seconds of its arrival
    #: answers 503 database_busy (nothing written; the console sends it again, same key).
    write_lock_timeout: Annotated[float, Field(gt=0, le=120)] = 5
    personal_data_days: Annotated[int, Field(ge=1, le=3650)] = 30
    event_retention_hours: Annotated[int, Field(ge=1)] = 48
    events_poll_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5
    sse_heartbeat_seconds: Annotated[float, Field(gt=0, le=300)] = 5
    errands_file: str = ""
    public_url: Annotated[str, Field(pattern=r"^(https?://[^\s/]+)?$")] = ""
    device_ping_seconds: Annotated[float, Field(gt=0, le=60)] = 5
    display_stale_seconds: Annotated[float, Field(gt=0, le=600)] = 15
    pairing_hours: Annotated[int, Field(ge=1, le=720)] = 24
    kiosk_idle_seconds: Annotated[int, Field(ge=5, le=600)] = 30
    #: Hostile clients (docs/security.md): limits checked before a request is parsed.
    max_body_bytes: Annotated[int, Field(ge=1024, le=16_777_216)] = 65_536
    max_url_bytes: Annotated[int, Field(ge=256, le=65_536)] = 4096
    max_header_bytes: Annotated[int, Field(ge=1024, le=262_144)] = 16_384
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10
    keep_alive_seconds: Annotated[float, Field(gt=0, le=300)] = 5
    max_connections: Annotated[int, Field(ge=16, le=100_000)] = 2000
    max_event_streams: Annotated[int, Field(ge=1, le=100_000)] = 1000
    auth_failures_allowed: Annotated[int, Field(ge=1, le=1000)] = 10
    auth_failure_window_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    #: The keys kept outside the database (docs/security.md); empty: next to the database.
    key_file: str = ""
    #: The key file's content itself (for secret stores that hand it as an environment
    #: variable, SKRANKE_KEYS); wins over key_file.
    keys: str = ""
    sites: list[SiteConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sites(self) -> Settings:
        ids = [s.id for s in self.sites]
        if len(set(ids)) != len(ids):
            raise ValueError("site ids must be unique")
        if bool(self.tls_certificate) != bool(self.tls_key):
            raise ValueError("tls_certificate and tls_key go together")
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        return (init_settings, env_settings, _TomlFiles(settings_cls))

    @cached_property
    def site_map(self) -> dict[str, SiteConfig]:
        return {s.id: s for s in self.sites}


class _TomlFiles(PydanticBaseSettingsSource):
    """The shipped defaults, then the operator's file, merged key by key."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for path in [DEFAULTS_FILE, *_FILES]:
            with open(path, "rb") as fh:
                merged.update(tomllib.load(fh))
        return merged


class SettingsError(Exception):
    pass


def load_settings(path: str | os.PathLike | None = None, **overrides: Any) -> Settings:
    """Read settings; a bad file or value raises SettingsError naming the file and key."""
    path = path or os.environ.get("SKRANKE_SERVER_CONFIG") or None
    _FILES[:] = [Path(path)] if path else []
    where = str(path) if path else "the defaults"
    try:
        if path and not Path(path).is_file():
            raise SettingsError(f"settings file {path} does not exist")
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{where}: not valid TOML: {exc}") from None
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        if errors:
            lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors()]
            raise SettingsError(f"{where} (or SKRANKE_* environment):\n" + "\n".join(lines)
                                ) from None
        raise SettingsError(f"{where}: {exc}") from None
