"""The policy file (TOML): calendars, zones, billing and survey timing (R12, R13, R21, R22).

A policy loads whole or not at all: any problem raises PolicyError naming file, key and
problem, so a bad file stops start-up instead of half-loading.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_HOURS = 24 * 366  # a deadline or delay beyond a year is a typo, not a policy
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def minutes_of(hhmm: str) -> int:
    """Minutes since midnight of an "HH:MM" string ("24:00" is 1440)."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class Calendar(_Strict):
    timezone: str
    workdays: list[Weekday] = Field(min_length=1)
    hours: list[tuple[HHMM, HHMM]] = Field(min_length=1)
    holidays: str | list[date] = []
    extra_holidays: list[date] = []
    extra_workdays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as unknown:
            raise ValueError(f"unknown time zone '{value}'") from unknown
        return value

    @field_validator("hours")
    @classmethod
    def _ordered_spans(cls, spans: list[tuple[str, str]]) -> list[tuple[str, str]]:
        previous_end = -1
        for start, end in spans:
            if minutes_of(start) >= minutes_of(end):
                raise ValueError(f"span {start}-{end} ends before it starts")
            if minutes_of(start) < previous_end:
                raise ValueError(f"span {start}-{end} overlaps the span before it")
            previous_end = minutes_of(end)
        return spans


class Zone(_Strict):
    calendar: str
    arrival_hours: float = Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)


class Billing(_Strict):
    currency: str = "CNY"
    hourly_rate: Decimal = Field(Decimal("120.00"), ge=0, decimal_places=2)
    small_fee_threshold: Decimal = Field(Decimal("200.00"), ge=0, decimal_places=2)


class Survey(_Strict):
    delay_hours: float = Field(24, ge=0, le=MAX_HOURS, allow_inf_nan=False)


class Policy(_Strict):
    calendars: dict[str, Calendar] = Field(min_length=1)
    zones: dict[str, Zone] = Field(min_length=1)
    billing: Billing = Billing()
    survey: Survey = Survey()

    @model_validator(mode="after")
    def _zones_name_known_calendars(self) -> Policy:
        for name, zone in self.zones.items():
            if zone.calendar not in self.calendars:
                known = ", ".join(sorted(self.calendars))
                raise ValueError(
                    f"zones.{name}.calendar: unknown calendar '{zone.calendar}' (known: {known})"
                )
        return self


class PolicyError(Exception):
    """A policy file that cannot be used, with the file, key and problem."""


def _key(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate a policy document; raises PolicyError naming source, key, problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as bad:
        raise PolicyError(f"{source}: not valid TOML: {bad}") from bad
    try:
        return Policy.model_validate(data)
    except ValidationError as invalid:
        problems = "; ".join(f"{_key(error['loc'])}: {error['msg']}" for error in invalid.errors())
        raise PolicyError(f"{source}: {problems}") from invalid


def load_policy(path: Path | None) -> Policy:
    """The policy at `path`, or the shipped default when `path` is None."""
    if path is None:
        text = resources.files("models").joinpath("default_policy.toml").read_text("utf-8")
        return parse_policy(text, "default_policy.toml")
    try:
        text = path.read_text("utf-8")
    except OSError as unreadable:
        raise PolicyError(f"{path}: cannot read the file: {unreadable.strerror}") from unreadable
    return parse_policy(text, str(path))
