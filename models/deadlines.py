"""A ticket's arrival deadline (R12) as pure arithmetic on its calendar: fixed at call-in,
warned about at the policy's fraction, and moved by a hold by the working time it paused.
Workflow code calls these; tests/models/test_deadlines.py holds them to exact cases. The
console shows how much working time is left (`arrival_time_left`) with the same arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.ticket import ServiceClock
from models.worktime import WorkCalendar


@dataclass(frozen=True)
class ArrivalDeadline:
    """R12: when the technician must be there, and when the dispatcher is warned."""

    due_at: datetime
    warning_at: datetime


def arrival_deadline(clock: ServiceClock, called_in_at: datetime) -> ArrivalDeadline:
    """R12: the zone's arrival hours counted in working time from the call-in; the warning at
    the policy's fraction of them (R16)."""
    hours = clock.arrival_hours
    return ArrivalDeadline(
        due_at=clock.calendar.add(called_in_at, timedelta(hours=hours)),
        warning_at=clock.calendar.add(
            called_in_at, timedelta(hours=hours * clock.warning_fraction)
        ),
    )


@dataclass(frozen=True)
class Resumed:
    """What a resume changes: the paused working time, and the instants it moved (None: not
    moved)."""

    paused: timedelta
    due_at: datetime | None = None
    warning_at: datetime | None = None


def resume(
    clock: ServiceClock,
    held_since: datetime,
    resumed_at: datetime,
    due_at: datetime,
    warning_at: datetime | None,
    overdue: bool,
) -> Resumed:
    """R12: a hold pauses the arrival clock. What was left of each instant when the hold
    began is counted again, in working time, from `resumed_at`: a hold over a night moves it
    by none of the night. An instant already passed when the hold began stays, and so does
    the deadline once it was missed (`overdue`)."""
    calendar = clock.calendar

    def moved(instant: datetime) -> datetime:
        return calendar.add(resumed_at, calendar.between(held_since, instant))

    return Resumed(
        paused=calendar.between(held_since, resumed_at),
        due_at=moved(due_at) if held_since < due_at and not overdue else None,
        warning_at=moved(warning_at)
        if warning_at is not None and held_since < warning_at
        else None,
    )


class Urgency(StrEnum):
    """How a deadline stands, as a person sees it: amber after the warning, red once missed."""

    ON_TIME = "on_time"
    WARNING = "warning"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class TimeLeft:
    """R12, R16: the working time left until an arrival deadline (once missed, the working
    time it is overdue by), and how it stands."""

    working_time: timedelta
    urgency: Urgency


def arrival_time_left(
    calendar: WorkCalendar,
    called_in_at: datetime,
    due_at: datetime,
    now: datetime,
    warning_fraction: float,
) -> TimeLeft:
    """R12, R16: the working time from `now` to `due_at` on `calendar`; a warning once
    `warning_fraction` of the working time from call-in to the deadline has passed (when the
    dispatcher is warned), overdue from the deadline on."""
    if now >= due_at:
        return TimeLeft(calendar.between(due_at, now), Urgency.OVERDUE)
    left = calendar.between(now, due_at)
    allowed = calendar.between(called_in_at, due_at)
    warned = left <= allowed * (1 - warning_fraction)
    return TimeLeft(left, Urgency.WARNING if warned else Urgency.ON_TIME)
