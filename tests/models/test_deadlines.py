"""The arrival deadline's arithmetic (R12), exact cases on the shipped office calendar with a
2030 holiday list: fixed at call-in with its warning at the policy's fraction, and moved by a
hold by the working time it paused, not the night."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.deadlines import arrival_deadline, resume
from models.policy import parse_policy, service_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = parse_policy(
    """
[calendars.office]
timezone = "Asia/Shanghai"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = [["08:30", "12:00"], ["13:00", "17:30"]]
holidays = []

[zones.urban]
calendar = "office"
arrival_hours = 6
""",
    "test policy",
)


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHANGHAI)


CLOCK = service_clock(POLICY, "urban", at("2030-11-25", "09:00"))


def test_a_friday_evening_call_is_due_monday_and_warned_at_the_fraction() -> None:
    # Fri 16:30: one working hour left that day, five on Monday (08:30-12:00, 13:00-14:30).
    deadline = arrival_deadline(CLOCK, at("2030-11-22", "16:30"))
    assert deadline.due_at == at("2030-11-25", "14:30")
    # 80 % of 6 h = 4.8 h: Friday's hour, then 3 h 48 min on Monday.
    assert deadline.warning_at == at("2030-11-25", "13:18")


def test_a_hold_over_the_night_moves_the_deadline_by_its_working_time_only() -> None:
    # A deadline of Mon 16:00, held from Mon 10:00 until Tue 09:00.
    due = at("2030-11-25", "16:00")
    resumed = resume(
        CLOCK, at("2030-11-25", "10:00"), at("2030-11-26", "09:00"), due, None, overdue=False
    )
    # Paused: Mon 10:00-12:00, 13:00-17:30 and Tue 08:30-09:00 = 7 h of working time.
    assert resumed.paused == timedelta(hours=7)
    # What was left at 10:00 (5 h) counted from Tue 09:00: 09:00-12:00, 13:00-15:00.
    assert resumed.due_at == at("2030-11-26", "15:00")
    assert resumed.warning_at is None


@pytest.mark.parametrize(
    ("held_since", "overdue"),
    [
        (at("2030-11-25", "16:30"), False),  # the hold began after the deadline
        (at("2030-11-25", "10:00"), True),  # the deadline was already missed
    ],
)
def test_a_deadline_past_or_missed_stays(held_since: datetime, overdue: bool) -> None:
    due = at("2030-11-25", "16:00")
    resumed = resume(CLOCK, held_since, at("2030-11-26", "09:00"), due, due, overdue=overdue)
    assert resumed.due_at is None


def test_the_warning_moves_with_the_deadline_while_it_is_ahead() -> None:
    due, warning = at("2030-11-25", "16:00"), at("2030-11-25", "14:48")
    resumed = resume(
        CLOCK, at("2030-11-25", "10:00"), at("2030-11-26", "09:00"), due, warning, overdue=False
    )
    # 14:48 was 3 h 48 min of working time after 10:00: Tue 09:00 + 3 h 48 min = 13:48.
    assert resumed.warning_at == at("2030-11-26", "13:48")
