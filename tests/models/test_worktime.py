"""Working-time arithmetic (R12, R14, R15): `WorkCalendar` against the minute-stepping
reference definition (`naive_between`, `naive_add`), exact instants on the shipped office
calendar, DST, and a run inside the workflow sandbox."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import models.worktime as host_worktime
import worker as worker_module
from models.policy import load_policy
from models.worktime import (
    ONE_MINUTE,
    WorkCalendar,
    naive_add,
    naive_between,
    naive_is_working,
)

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)
MON_TO_FRI = [0, 1, 2, 3, 4]
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]
Bounds = tuple[datetime, datetime]


def office() -> WorkCalendar:
    """The shipped default's office calendar (Asia/Shanghai, 08:30–12:00 and 13:00–17:30,
    Mon–Fri, holidays "CN" with the country's make-up days), as the API resolves it."""
    return load_policy(None).work_calendar("urban", datetime(2026, 6, 1, tzinfo=UTC))


def cst(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


# --- the reference definition, for day_end and next_day_start -------------------------------


def working_days_by_minute(calendar: WorkCalendar, start: datetime) -> Iterator[Bounds]:
    """Each working local date's first working minute and the end of its last one, in order,
    stepping minutes from `start` (a date is yielded once the next one has begun)."""
    zone = ZoneInfo(calendar.timezone)
    day, first, end = None, start, start
    minute = start
    while True:
        if naive_is_working(calendar, minute):
            local_day = minute.astimezone(zone).date()
            if local_day != day:
                if day is not None:
                    yield first, end
                day, first = local_day, minute
            end = minute + ONE_MINUTE
        minute += ONE_MINUTE


# Two days back is before the start of `at`'s local date in any zone.
def reference_day_end(calendar: WorkCalendar, at: datetime) -> datetime:
    days = working_days_by_minute(calendar, at - timedelta(days=2))
    return next(end for _, end in days if end > at)


def reference_next_day_start(calendar: WorkCalendar, at: datetime) -> datetime:
    days = working_days_by_minute(calendar, at - timedelta(days=2))
    return next(first for first, _ in days if first > at)


# --- strategies -------------------------------------------------------------------------------

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"]
# The 2026 DST changes of those zones, and an ordinary day.
ANCHORS = [
    date(2026, 3, 8),  # New York springs forward at 02:00
    date(2026, 3, 29),  # Berlin springs forward at 02:00
    date(2026, 4, 5),  # Lord Howe falls back half an hour at 02:00
    date(2026, 10, 4),  # Lord Howe springs forward half an hour at 02:00
    date(2026, 10, 25),  # Berlin falls back at 03:00
    date(2026, 11, 1),  # New York falls back at 02:00
    date(2026, 6, 15),
]
# Span boundaries: often on the half hour, where DST changes happen, sometimes any minute.
BOUNDARY = st.one_of(st.sampled_from(range(0, 1441, 30)), st.integers(0, 1440))


def as_spans(points: list[int]) -> list[list[int]]:
    ordered = sorted(points)
    return [[ordered[i], ordered[i + 1]] for i in range(0, len(ordered) - 1, 2)]


@st.composite
def calendar_and_start(draw: st.DrawFn) -> tuple[WorkCalendar, datetime]:
    """A random calendar, and a minute-aligned instant within three days of a DST change."""
    anchor = draw(st.sampled_from(ANCHORS))
    nearby = st.integers(-4, 10).map(lambda days: (anchor + timedelta(days=days)).isoformat())
    calendar = WorkCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        workdays=sorted(draw(st.sets(st.integers(0, 6), min_size=1))),
        spans=as_spans(draw(st.lists(BOUNDARY, min_size=2, max_size=6, unique=True))),
        holidays=draw(st.lists(nearby, max_size=4, unique=True)),
        extra_workdays=draw(st.lists(nearby, max_size=3, unique=True)),
    )
    midnight = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    start = midnight + ONE_MINUTE * draw(st.integers(-3 * 1440, 3 * 1440))
    return calendar, start


ORACLE = settings(max_examples=150, deadline=None)
FAST = settings(max_examples=200, deadline=None)


# --- properties against the reference definition (R12) -----------------------------------


@ORACLE
@given(calendar_and_start(), st.integers(-60, 3 * 1440))
def test_between_is_the_working_time_by_the_definition(
    drawn: tuple[WorkCalendar, datetime], minutes: int
) -> None:
    calendar, start = drawn
    end = start + minutes * ONE_MINUTE
    assert calendar.between(start, end) == naive_between(calendar, start, end)


@ORACLE
@given(calendar_and_start(), st.integers(0, 4 * 1440), st.data())
def test_add_is_the_earliest_instant_with_that_much_working_time(
    drawn: tuple[WorkCalendar, datetime], horizon: int, data: st.DataObject
) -> None:
    calendar, start = drawn
    # An amount the reference reaches within the horizon, so stepping stays short.
    available = naive_between(calendar, start, start + horizon * ONE_MINUTE) // ONE_MINUTE
    amount = data.draw(st.integers(0, available)) * ONE_MINUTE
    deadline = calendar.add(start, amount)
    assert deadline == naive_add(calendar, start, amount)
    assert deadline.utcoffset() == timedelta(0)
    assert calendar.between(start, deadline) == amount
    if amount:
        assert calendar.between(start, deadline - MICROSECOND) < amount


@FAST
@given(
    calendar_and_start(),
    st.lists(st.integers(0, 3 * 24 * 3600 * 10**6), min_size=2, max_size=2),
    st.integers(0, 24 * 3600 * 10**6),
)
def test_add_is_monotonic_in_the_start_and_the_amount(
    drawn: tuple[WorkCalendar, datetime], amounts: list[int], shift: int
) -> None:
    calendar, start = drawn
    smaller, larger = sorted(amount * MICROSECOND for amount in amounts)
    later = start + shift * MICROSECOND
    assert calendar.add(start, smaller) <= calendar.add(start, larger)
    assert calendar.add(start, smaller) <= calendar.add(later, smaller)
    assert calendar.add(start, smaller) >= start
    assert calendar.between(start, calendar.add(start, larger)) == larger


@FAST
@given(
    calendar_and_start(), st.lists(st.integers(0, 2 * 24 * 3600 * 10**6), min_size=3, max_size=3)
)
def test_between_adds_up_over_any_split_to_the_microsecond(
    drawn: tuple[WorkCalendar, datetime], offsets: list[int]
) -> None:
    calendar, anchor = drawn
    start, middle, end = (anchor + offset * MICROSECOND for offset in sorted(offsets))
    whole = calendar.between(start, end)
    assert calendar.between(start, middle) + calendar.between(middle, end) == whole
    assert calendar.between(end, start) == timedelta(0)


@ORACLE
@given(calendar_and_start())
def test_day_end_is_the_end_of_this_or_the_next_working_day(
    drawn: tuple[WorkCalendar, datetime],
) -> None:
    calendar, at = drawn
    assert calendar.day_end(at) == reference_day_end(calendar, at)


@ORACLE
@given(calendar_and_start())
def test_next_day_start_is_the_first_working_day_start_after_the_instant(
    drawn: tuple[WorkCalendar, datetime],
) -> None:
    calendar, at = drawn
    assert calendar.next_day_start(at) == reference_next_day_start(calendar, at)


# --- the contract's edges -------------------------------------------------------------------


def test_zero_amount_is_the_start_itself_and_negative_is_refused() -> None:
    calendar = office()
    saturday = cst(2026, 11, 28, 10)
    assert calendar.add(saturday, timedelta(0)) == saturday
    assert calendar.add(saturday, timedelta(0)).tzinfo is UTC
    with pytest.raises(ValueError, match="negative"):
        calendar.add(saturday, -ONE_MINUTE)
    assert calendar.between(saturday, saturday - HOUR) == timedelta(0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        office().add(datetime(2026, 11, 27, 16, 30), HOUR)


IMPOSSIBLE_CALENDARS = {
    "no workdays": ([], [[510, 720]]),
    "weekday 7": ([7], [[510, 720]]),
    "no spans": ([0], []),
    "backwards span": ([0], [[720, 510]]),
    "overlapping spans": ([0], [[510, 780], [720, 1050]]),
    "past midnight": ([0], [[0, 1441]]),
}


@pytest.mark.parametrize(
    ("workdays", "spans"), IMPOSSIBLE_CALENDARS.values(), ids=IMPOSSIBLE_CALENDARS
)
def test_an_impossible_calendar_is_refused(workdays: list[int], spans: list[list[int]]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar("UTC", workdays, spans)


def test_make_up_days_win_over_holidays_and_holidays_over_the_week() -> None:
    calendar = WorkCalendar(
        "UTC", MON_TO_FRI, [[0, 1440]], holidays=["2026-10-08", "2026-10-10"], extra_workdays=[]
    )
    assert not calendar.is_working_day(date(2026, 10, 8))  # a Thursday off
    assert not calendar.is_working_day(date(2026, 10, 11))  # a Sunday
    calendar = dataclasses.replace(calendar, extra_workdays=["2026-10-10", "2026-10-11"])
    assert calendar.is_working_day(date(2026, 10, 10))  # both a holiday and a make-up day
    assert calendar.is_working_day(date(2026, 10, 11))  # a make-up Sunday


@pytest.mark.parametrize("converter", [DataConverter.default, pydantic_data_converter])
def test_a_used_calendar_round_trips_through_temporals_converters(
    converter: DataConverter,
) -> None:
    calendar = office()
    calendar.add(cst(2026, 9, 30, 16), 6 * HOUR)  # fills the cached sets and intervals
    payloads = converter.payload_converter.to_payloads([calendar])
    assert json.loads(payloads[0].data) == dataclasses.asdict(office())  # no cached state
    (again,) = converter.payload_converter.from_payloads(payloads, [WorkCalendar])
    assert again == calendar
    assert [f.name for f in dataclasses.fields(WorkCalendar)] == [
        "timezone",
        "workdays",
        "spans",
        "holidays",
        "extra_workdays",
    ]


# --- exact instants on the shipped office calendar -------------------------------------------


def test_urban_deadline_over_a_weekend() -> None:
    """R12: a Friday 16:30 call-in in the urban zone (6 working hours) is due Monday 14:30:
    Friday 16:30–17:30 is 1 h, Monday 08:30–12:00 is 3.5 h, 13:00–14:30 the last 1.5 h."""
    call_in = cst(2026, 11, 27, 16, 30)
    due = office().add(call_in, 6 * HOUR)
    assert due == cst(2026, 11, 30, 14, 30)
    assert office().between(call_in, due) == 6 * HOUR


def test_urban_deadline_over_the_national_holiday() -> None:
    """R12: a call-in on Wed 2026-09-30 at 16:00 has 1.5 h that day (to 17:30); Oct 1–7 are off
    (CN National Day), so the other 4.5 h are Thu Oct 8 08:30–12:00 (3.5 h) and 13:00–14:00."""
    assert office().add(cst(2026, 9, 30, 16), 6 * HOUR) == cst(2026, 10, 8, 14)


def test_deadlines_count_the_make_up_saturday() -> None:
    """R12: a call-in on Fri 2026-10-09 at 15:00 has 2.5 h that day; Sat Oct 10 is a make-up
    working day (the `holidays` package's `weekend_workdays`), so 08:30–12:00 there brings the
    urban 6 h to exactly 12:00 (the earliest instant, not 13:00), and the suburban 7th hour ends
    at 14:00 after lunch."""
    call_in = cst(2026, 10, 9, 15)
    assert office().add(call_in, 6 * HOUR) == cst(2026, 10, 10, 12)
    assert office().add(call_in, 7 * HOUR) == cst(2026, 10, 10, 14)


def test_a_make_up_sunday_is_a_full_working_day() -> None:
    """R12: Sun 2026-09-20 is a make-up day (8 h: 3.5 + 4.5); the Saturday before is not."""
    weekend = office().between(cst(2026, 9, 19, 0), cst(2026, 9, 21, 0))
    assert weekend == 8 * HOUR


def test_not_dispatched_by_the_end_of_friday_goes_first_thing_monday() -> None:
    """R14: a Friday 16:30 call-in not dispatched by the end of the working day (Fri 17:30)
    goes to the supervisor first thing the next working day, Mon 08:30."""
    calendar = office()
    end_of_day = calendar.day_end(cst(2026, 11, 27, 16, 30))
    assert end_of_day == cst(2026, 11, 27, 17, 30)
    assert calendar.next_day_start(end_of_day) == cst(2026, 11, 30, 8, 30)


def test_carry_over_before_the_national_holiday_waits_for_october_8() -> None:
    """R14: the end of Wed 2026-09-30 (17:30) carries over to Thu Oct 8 08:30; at 17:30 sharp
    that day is over, so "the end of the working day" is then Oct 8 17:30."""
    calendar = office()
    assert calendar.next_day_start(cst(2026, 9, 30, 17, 30)) == cst(2026, 10, 8, 8, 30)
    assert calendar.day_end(cst(2026, 9, 30, 17, 30)) == cst(2026, 10, 8, 17, 30)


def test_same_day_resolution_on_a_make_up_day_and_on_a_sunday() -> None:
    """R15: a problem raised on the make-up Sat 2026-10-10 should be solved by 17:30 that day;
    one raised on Sun Oct 11, or before opening on Mon Oct 12, by Mon 17:30."""
    calendar = office()
    assert calendar.day_end(cst(2026, 10, 10, 10)) == cst(2026, 10, 10, 17, 30)
    assert calendar.day_end(cst(2026, 10, 11, 10)) == cst(2026, 10, 12, 17, 30)
    assert calendar.day_end(cst(2026, 10, 12, 7)) == cst(2026, 10, 12, 17, 30)
    assert calendar.next_day_start(cst(2026, 10, 12, 7)) == cst(2026, 10, 12, 8, 30)


# --- DST: working hours are real elapsed time (R12, R13) ---------------------------------


BERLIN = ZoneInfo("Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN, fold=fold)


def test_a_24_hour_calendar_counts_real_time_across_both_dst_changes() -> None:
    """R13 (24-hour service) in Europe/Berlin: Sun 2026-03-29 has 23 hours and Sun 2026-10-25
    has 25, so a day's working time and a 24 h deadline follow real time, not the wall clock."""
    always = WorkCalendar("Europe/Berlin", EVERY_DAY, [[0, 1440]])
    assert always.between(berlin(2026, 3, 29, 0), berlin(2026, 3, 30, 0)) == 23 * HOUR
    assert always.between(berlin(2026, 10, 25, 0), berlin(2026, 10, 26, 0)) == 25 * HOUR
    # Sat 12:00 CET + 24 h = Sun 13:00 CEST; Sat 12:00 CEST + 24 h = Sun 11:00 CET.
    assert always.add(berlin(2026, 3, 28, 12), 24 * HOUR) == berlin(2026, 3, 29, 13)
    assert always.add(berlin(2026, 10, 24, 12), 24 * HOUR) == berlin(2026, 10, 25, 11)
    assert always.day_end(berlin(2026, 3, 29, 1)) == berlin(2026, 3, 30, 0)
    assert always.next_day_start(berlin(2026, 10, 25, 2, fold=1)) == berlin(2026, 10, 26, 0)


def test_a_night_shift_counts_the_repeated_hour_twice_and_skips_the_missing_one() -> None:
    """R12 in real time: a 22:00–06:00 shift in Berlin is 9 h the night the clocks go back
    (02:00–03:00 happens twice) and 7 h the night they go forward (02:00–03:00 never happens)."""
    night = WorkCalendar("Europe/Berlin", EVERY_DAY, [[0, 360], [1320, 1440]])
    assert night.between(berlin(2026, 10, 24, 22), berlin(2026, 10, 25, 6)) == 9 * HOUR
    assert night.between(berlin(2026, 3, 28, 22), berlin(2026, 3, 29, 6)) == 7 * HOUR
    # 02:00 CEST + 1 h is 02:00 CET, the repeated hour: still the same night's working time.
    # (Compared in UTC: Python never finds a fold=1 time equal to one in another zone.)
    repeated_two_oclock = berlin(2026, 10, 25, 2, fold=1).astimezone(UTC)
    assert night.add(berlin(2026, 10, 25, 2), HOUR) == repeated_two_oclock


# --- inside the workflow sandbox -------------------------------------------------------------


@workflow.defn(name="WorkTimeInSandbox", sandboxed=True, failure_exception_types=[Exception])
class WorkTimeInSandbox:
    """Computes deadlines inside the sandbox with the calendar it was given through the data
    converter, importing `models.worktime` as the workflows do (passed through)."""

    @workflow.run
    async def run(self, calendar: WorkCalendar, call_in: datetime) -> list[str]:
        with workflow.unsafe.imports_passed_through():
            import models.worktime as imported

        return [
            str(imported is host_worktime and isinstance(calendar, imported.WorkCalendar)),
            calendar.add(call_in, 6 * HOUR).isoformat(),
            str(calendar.between(call_in, call_in + timedelta(days=9))),
            calendar.day_end(call_in).isoformat(),
            calendar.next_day_start(call_in).isoformat(),
        ]


def production_sandbox_runner() -> SandboxedWorkflowRunner:
    # The worker's passthroughs (`models` among them: re-imported inside the sandbox,
    # `zoneinfo.ZoneInfo` hands out restricted proxies that `datetime.astimezone` refuses), and
    # this test module, so the workflow's host globals stay the host's.
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        *worker_module.PASSTHROUGH_MODULES, "tests"
    ).with_import_notification_policy(workflow.SandboxImportNotificationPolicy.SILENT)
    return SandboxedWorkflowRunner(restrictions=restrictions)


async def test_deadlines_compute_inside_the_workflow_sandbox(
    time_env: WorkflowEnvironment,
) -> None:
    """R12 from workflow code: the national-holiday deadline, as in the test above."""
    queue = f"worktime-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[WorkTimeInSandbox],
        workflow_runner=production_sandbox_runner(),
    ):
        result = await time_env.client.execute_workflow(
            WorkTimeInSandbox.run,
            args=[office(), cst(2026, 9, 30, 16)],
            id=f"worktime-{uuid.uuid4()}",
            task_queue=queue,
        )
    assert result == [
        "True",
        cst(2026, 10, 8, 14).astimezone(UTC).isoformat(),
        str(timedelta(hours=1.5 + 8 + 6.5)),  # Sep 30 16:00–17:30, Oct 8, Oct 9 to 16:00
        cst(2026, 9, 30, 17, 30).astimezone(UTC).isoformat(),
        cst(2026, 10, 8, 8, 30).astimezone(UTC).isoformat(),
    ]
