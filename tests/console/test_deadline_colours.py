"""How an arrival deadline stands (R12, R16; `models/deadlines.py` `arrival_time_left`): the
working time left on the ticket's calendar, amber once the policy's warning fraction of the
working time from call-in has passed (when the dispatcher is warned), red from the deadline
on, with the working time it is overdue by. Expected values are worked out by hand from the
calendars below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.deadlines import Urgency, arrival_time_left
from models.worktime import WorkCalendar

ALWAYS = WorkCalendar(timezone="UTC", workdays=[0, 1, 2, 3, 4, 5, 6], spans=[[0, 1440]])
# Monday to Friday, 09:00-12:00 and 13:00-18:00 UTC: 8 working hours a day.
OFFICE = WorkCalendar(timezone="UTC", workdays=[0, 1, 2, 3, 4], spans=[[540, 720], [780, 1080]])
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(day: datetime, hour: float) -> datetime:
    return day + timedelta(hours=hour)


def test_on_time_until_the_warning_fraction_has_passed() -> None:
    called, due = at(MONDAY, 0), at(MONDAY, 6)
    left = arrival_time_left(ALWAYS, called, due, at(MONDAY, 1), 0.8)
    assert (left.working_time, left.urgency) == (5 * HOUR, Urgency.ON_TIME)
    warned = arrival_time_left(ALWAYS, called, due, at(MONDAY, 4.8), 0.8)
    assert (warned.working_time, warned.urgency) == (1.2 * HOUR, Urgency.WARNING)
    before = arrival_time_left(ALWAYS, called, due, at(MONDAY, 4.7), 0.8)
    assert before.urgency is Urgency.ON_TIME


def test_overdue_from_the_deadline_by_the_working_time_since() -> None:
    called, due = at(MONDAY, 0), at(MONDAY, 6)
    assert arrival_time_left(ALWAYS, called, due, due, 0.8).urgency is Urgency.OVERDUE
    late = arrival_time_left(ALWAYS, called, due, at(MONDAY, 7.5), 0.8)
    assert (late.working_time, late.urgency) == (1.5 * HOUR, Urgency.OVERDUE)


def test_nights_lunches_and_weekends_are_not_counted() -> None:
    # Called in Friday 16:00 with 6 working hours: 2 on Friday, 4 on Monday (due 14:00).
    friday = MONDAY + timedelta(days=4)
    called, due = at(friday, 16), at(MONDAY + timedelta(days=7), 14)
    saturday = arrival_time_left(OFFICE, called, due, at(friday + timedelta(days=1), 10), 0.8)
    assert (saturday.working_time, saturday.urgency) == (4 * HOUR, Urgency.ON_TIME)
    lunch = arrival_time_left(OFFICE, called, due, at(MONDAY + timedelta(days=7), 12.5), 0.8)
    assert (lunch.working_time, lunch.urgency) == (1 * HOUR, Urgency.WARNING)  # 1 h ≤ 1.2 h
    next_day = arrival_time_left(OFFICE, called, due, at(MONDAY + timedelta(days=8), 10), 0.8)
    assert (next_day.working_time, next_day.urgency) == (5 * HOUR, Urgency.OVERDUE)
