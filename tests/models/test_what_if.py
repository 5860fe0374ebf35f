"""Policy what-if, worked by hand (R12-R16): the same recorded tickets under other arrival
hours and warning fraction, across a hold, and across a holiday week that moves their
deadlines; nothing else about them changes.

The office works Monday to Friday, 08:30-12:00 and 13:00-17:30 in Shanghai (8 hours a day).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from models.policy import parse_policy
from models.refusals import Refused
from models.ticket import ServiceClock
from models.what_if import Recorded, compare, simulate
from models.worktime import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = WorkCalendar("Asia/Shanghai", [0, 1, 2, 3, 4], [[510, 720], [780, 1050]])
NATIONAL_DAY = [f"2030-10-0{day}" for day in range(1, 8)]
HOLIDAY_WEEK = WorkCalendar(
    "Asia/Shanghai", [0, 1, 2, 3, 4], [[510, 720], [780, 1050]], holidays=NATIONAL_DAY
)
SHIPPED = ServiceClock(WEEK, arrival_hours=6, warning_fraction=0.8)
NOW = datetime(2030, 11, 1, tzinfo=SHANGHAI)


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2030-{day}T{hhmm}:00").replace(tzinfo=SHANGHAI)


def ticket(**fields: object) -> Recorded:
    values: dict[str, object] = {
        "ticket_id": "t",
        "zone": "urban",
        "dispatched_at": None,
        "arrived_at": None,
        "done_at": None,
        "cancelled": False,
        "holds": [],
        "arrival_due_at": None,
        "escalations": [],
    }
    return Recorded(**(values | fields))  # type: ignore[arg-type]


# Called in Monday 30 September at 16:00, dispatched Tuesday, there Wednesday 10:00.
BEFORE_THE_HOLIDAYS = ticket(
    ticket_id="holiday",
    created_at=at("09-30", "16:00"),
    dispatched_at=at("10-01", "09:00"),
    arrived_at=at("10-02", "10:00"),
    done_at=at("10-02", "11:00"),
    arrival_due_at=at("10-01", "14:00"),
    escalations=["arrival_warning", "arrival_overdue", "carried_over", "unresolved_same_day"],
)
# Called in Tuesday 24 September at 9:00, dispatched at once, there 12:30, fixed 15:00.
SAME_DAY = ticket(
    ticket_id="same-day",
    created_at=at("09-24", "09:00"),
    dispatched_at=at("09-24", "09:05"),
    arrived_at=at("09-24", "12:30"),
    done_at=at("09-24", "15:00"),
    arrival_due_at=at("09-24", "16:00"),
)
# Called in Wednesday 25 September at 9:00, on hold from 10:00 to Thursday 9:00 (the
# customer away), there Thursday 14:00, fixed 15:00.
HELD = ticket(
    ticket_id="held",
    created_at=at("09-25", "09:00"),
    dispatched_at=at("09-25", "09:30"),
    holds=[(at("09-25", "10:00"), at("09-26", "09:00"))],
    arrived_at=at("09-26", "14:00"),
    done_at=at("09-26", "15:00"),
    arrival_due_at=at("09-26", "15:00"),
    escalations=["arrival_warning", "unresolved_same_day"],
)


def test_the_shipped_terms_give_back_what_happened() -> None:
    # Monday 16:00 + 6 working hours: 1.5 h on Monday, 4.5 h on Tuesday (08:30-12:00,
    # 13:00-14:00); warned at 4.8 h, Tuesday 11:48. Undispatched at Monday's end: carried
    # over (R14) and unresolved that day (R15).
    holiday = simulate(BEFORE_THE_HOLIDAYS, SHIPPED, NOW)
    assert (holiday.due_at, holiday.arrival) == (at("10-01", "14:00"), "missed")
    assert holiday.escalations == BEFORE_THE_HOLIDAYS.escalations
    # 09:00 + 6 h = 16:00 (lunch does not count); there at 12:30, fixed the same day.
    same_day = simulate(SAME_DAY, SHIPPED, NOW)
    assert (same_day.due_at, same_day.arrival, same_day.escalations) == (
        at("09-24", "16:00"),
        "met",
        [],
    )
    # R12: the hold began at 10:00 with 5 h left to the deadline (Wednesday 16:00) and 3.8 h
    # to the warning (14:48); counted again from Thursday 09:00: warned at 13:48, due 15:00.
    held = simulate(HELD, SHIPPED, NOW)
    assert (held.due_at, held.arrival) == (at("09-26", "15:00"), "met")
    assert held.escalations == ["arrival_warning", "unresolved_same_day"]


def test_four_hours_warned_at_half_time() -> None:
    # 09:00 + 4 h = 14:00 (three before lunch, one after); warned at 2 h, 11:00, before the
    # technician came at 12:30.
    tighter = ServiceClock(WEEK, arrival_hours=4, warning_fraction=0.5)
    outcome = simulate(SAME_DAY, tighter, NOW)
    assert (outcome.due_at, outcome.arrival, outcome.escalations) == (
        at("09-24", "14:00"),
        "met",
        ["arrival_warning"],
    )


def test_a_holiday_week_moves_the_deadline_past_it() -> None:
    # National Day, 1 to 7 October, off: after Monday's 1.5 h the deadline runs on from
    # Tuesday 8 October 08:30 — 14:00 that day; the technician who came on the 2nd was early.
    outcome = simulate(BEFORE_THE_HOLIDAYS, ServiceClock(HOLIDAY_WEEK, 6, 0.8), NOW)
    assert (outcome.due_at, outcome.arrival) == (at("10-08", "14:00"), "met")
    assert outcome.escalations == ["carried_over", "unresolved_same_day"]


HOLIDAYS = ", ".join(f'"{day}"' for day in NATIONAL_DAY)
CANDIDATE = f"""
[calendars.office]
timezone = "Asia/Shanghai"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = [["08:30", "12:00"], ["13:00", "17:30"]]
holidays = [{HOLIDAYS}]

[zones.urban]
calendar = "office"
arrival_hours = 6
"""


def test_the_period_side_by_side() -> None:
    tickets = [BEFORE_THE_HOLIDAYS, SAME_DAY, HELD]
    comparison = compare(tickets, parse_policy(CANDIDATE, "candidate"), NOW)
    actual, candidate = comparison.actual, comparison.candidate
    assert (actual.tickets, actual.arrival_met, actual.arrival_missed) == (3, 2, 1)
    assert (candidate.arrival_met, candidate.arrival_missed) == (3, 0)
    assert actual.escalations == {
        "arrival_warning": 2,
        "arrival_overdue": 1,
        "carried_over": 1,
        "unresolved_same_day": 2,
    }
    assert candidate.escalations["arrival_overdue"] == 0
    assert candidate.escalations["arrival_warning"] == 1
    assert [changed.ticket_id for changed in comparison.changed] == ["holiday"]


def test_a_candidate_without_the_tickets_zone_is_refused() -> None:
    suburbs_only = CANDIDATE.replace("zones.urban", "zones.suburban")
    with pytest.raises(Refused, match="no zone urban"):
        compare([SAME_DAY], parse_policy(suburbs_only, "candidate"), NOW)
