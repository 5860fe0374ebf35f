"""Working-time arithmetic for deadlines (R12, R14, R15): pure and deterministic, so workflow
code can call it inside the Temporal sandbox (no I/O beyond `ZoneInfo` reading tzdata once, no
wall clock). Workflows must import it passed through, as the worker passes `models` through:
re-imported inside the sandbox, `ZoneInfo` hands out restricted proxies that `astimezone`
refuses.

The definition of working time: a UTC instant is working iff, in the calendar's time zone, its
local date is a working day and its local time of day lies in one of the spans [start, end).
So DST is exact: a span crossing a spring-forward gap is shorter in real time, and the hour a
fall-back repeats counts twice (it is real elapsed time). `naive_between` and `naive_add` spell
that definition out minute by minute; tests and `bench.worktime` hold `WorkCalendar` to them.

`WorkCalendar` never steps minutes: it walks day by day, turning each working date's spans into
UTC intervals. Within a stretch of constant UTC offset local time is UTC plus that offset; the
(rare) offset change near a date is found by comparing the offsets at the ends of a three-day
window and bisecting to the second. Two assumptions, true of every tzdata zone since 2011: an
offset does not change and change back within three days (none since 1970), and no fall-back
crosses local midnight, so local dates never go backwards (St. John's last did so in 2010).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 1440
ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)
SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
DAY_US = MINUTES_PER_DAY * MINUTE_US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = EPOCH.date()

Interval = tuple[int, int]  # [start, end) in microseconds since the epoch (UTC)


@dataclass
class WorkCalendar:
    """A calendar resolved to plain data (Temporal's JSON converter must round-trip it: use only
    str/int/list fields). Built by `models.policy.Calendar.resolve`; treat it as immutable."""

    timezone: str  # IANA name
    workdays: list[int]  # 0=Monday … 6=Sunday
    spans: list[list[int]]  # minutes since local midnight, [[510, 720], [780, 1050]]; end ≤ 1440
    holidays: list[str] = field(default_factory=list)  # ISO dates that are days off
    extra_workdays: list[str] = field(default_factory=list)  # ISO make-up working days

    def __post_init__(self) -> None:
        if not self.workdays or not set(self.workdays) <= set(range(7)):
            raise ValueError(f"workdays must be a non-empty list of 0..6, not {self.workdays}")
        if not self.spans:
            raise ValueError("a calendar needs at least one working span")
        previous_end = 0
        for start, end in self.spans:
            if not previous_end <= start < end <= MINUTES_PER_DAY:
                raise ValueError(f"spans must be ordered, disjoint, within 0..1440: {self.spans}")
            previous_end = end

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day: make-up days work, holidays do not, else the week."""
        if day in self._extra_workday_dates:
            return True
        return day not in self._holiday_dates and day.weekday() in self._weekly_workdays

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant (UTC) when `amount` of working time has elapsed from `start` (R12: the
        arrival deadline); the earliest such instant, `start` itself for a zero amount."""
        if amount < timedelta(0):
            raise ValueError(f"cannot add a negative working time: {amount}")
        remaining = amount // MICROSECOND
        now = _micros(start)
        if remaining == 0:
            return _instant(now)
        for day in self._working_days_from(self._local_date(now)):
            for interval_start, interval_end in self._intervals(day):
                begin = max(interval_start, now)
                if begin >= interval_end:
                    continue
                if remaining <= interval_end - begin:
                    return _instant(begin + remaining)
                remaining -= interval_end - begin
        raise AssertionError("unreachable: every week has working time")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end) (R12); zero if `end` is not after `start`."""
        begin, finish = _micros(start), _micros(end)
        total = 0
        if finish > begin:
            last_day = self._local_date(finish)
            for day in self._working_days_from(self._local_date(begin)):
                if day > last_day:
                    break
                for interval_start, interval_end in self._intervals(day):
                    total += max(0, min(interval_end, finish) - max(interval_start, begin))
        return timedelta(microseconds=total)

    def day_end(self, at: datetime) -> datetime:
        """The end (UTC) of the working day `at` falls in if `at` is before it, else of the next
        working day (R14 carry-over, R15 same-day resolution: "end of the working day")."""
        now = _micros(at)
        for day in self._working_days_from(self._local_date(now)):
            intervals = self._intervals(day)
            if intervals and now < intervals[-1][1]:
                return _instant(intervals[-1][1])
        raise AssertionError("unreachable: every week has working time")

    def next_day_start(self, at: datetime) -> datetime:
        """The start (UTC) of the first working day that starts after `at` (R14: "first thing
        the next working day")."""
        now = _micros(at)
        for day in self._working_days_from(self._local_date(now)):
            intervals = self._intervals(day)
            if intervals and now < intervals[0][0]:
                return _instant(intervals[0][0])
        raise AssertionError("unreachable: every week has working time")

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _weekly_workdays(self) -> frozenset[int]:
        return frozenset(self.workdays)

    @cached_property
    def _holiday_dates(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(day) for day in self.holidays)

    @cached_property
    def _extra_workday_dates(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(day) for day in self.extra_workdays)

    @cached_property
    def _intervals_by_day(self) -> dict[date, tuple[Interval, ...]]:
        return {}

    def _working_days_from(self, day: date) -> Iterator[date]:
        while True:
            if self.is_working_day(day):
                yield day
            day += ONE_DAY

    def _local_date(self, micros: int) -> date:
        return _instant(micros).astimezone(self._zone).date()

    def _intervals(self, day: date) -> tuple[Interval, ...]:
        """The working instants whose local date is `day`, as sorted disjoint UTC intervals."""
        intervals = self._intervals_by_day.get(day)
        if intervals is None:
            intervals = self._intervals_by_day[day] = self._compute_intervals(day)
        return intervals

    def _compute_intervals(self, day: date) -> tuple[Interval, ...]:
        midnight = (day - EPOCH_DATE).days * DAY_US  # local wall clock, counted like UTC
        # Offsets lie within ±24 h, so the UTC instants of this local date lie in this window.
        window_start, window_end = midnight - DAY_US, midnight + 2 * DAY_US
        intervals = []
        # Pieces come in UTC order and spans in local order, which within a piece is UTC order.
        for piece_start, piece_end, offset in self._offset_pieces(window_start, window_end):
            for span_start, span_end in self.spans:
                begin = max(piece_start, midnight + span_start * MINUTE_US - offset)
                end = min(piece_end, midnight + span_end * MINUTE_US - offset)
                if begin < end:
                    intervals.append((begin, end))
        return tuple(intervals)

    def _offset_pieces(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """[start, end) split where the UTC offset changes: (piece start, piece end, offset)."""
        start_offset, end_offset = self._offset_at(start), self._offset_at(end)
        if start_offset == end_offset:
            return [(start, end, start_offset)]
        change = self._first_offset_change(start, end, start_offset)
        return [(start, change, start_offset), *self._offset_pieces(change, end)]

    def _first_offset_change(self, start: int, end: int, start_offset: int) -> int:
        """The first instant in (start, end] whose offset differs from `start_offset`, to the
        second (tzdata's transitions fall on whole seconds)."""
        unchanged, changed = start // SECOND_US, -(-end // SECOND_US)
        while changed - unchanged > 1:
            middle = (unchanged + changed) // 2
            if self._offset_at(middle * SECOND_US) == start_offset:
                unchanged = middle
            else:
                changed = middle
        return changed * SECOND_US

    def _offset_at(self, micros: int) -> int:
        offset = _instant(micros).astimezone(self._zone).utcoffset()
        assert offset is not None  # a ZoneInfo always has one
        return offset // MICROSECOND


def _micros(instant: datetime) -> int:
    if instant.utcoffset() is None:
        raise ValueError(f"a naive datetime has no instant: {instant}")
    return (instant - EPOCH) // MICROSECOND


def _instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def naive_is_working(calendar: WorkCalendar, instant: datetime) -> bool:
    """The definition of working time (R12), instant by instant: the reference for tests."""
    local = instant.astimezone(ZoneInfo(calendar.timezone))
    minute = local.hour * 60 + local.minute
    return calendar.is_working_day(local.date()) and any(
        start <= minute < end for start, end in calendar.spans
    )


def naive_between(calendar: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """`WorkCalendar.between` by stepping minutes: the reference definition for tests and
    `bench.worktime`. Exact for minute-aligned inputs in zones with whole-minute offsets."""
    working_minutes = 0
    minute = start
    while minute < end:
        working_minutes += naive_is_working(calendar, minute)
        minute += ONE_MINUTE
    return working_minutes * ONE_MINUTE


def naive_add(calendar: WorkCalendar, start: datetime, amount: timedelta) -> datetime:
    """`WorkCalendar.add` by stepping minutes: the reference definition for tests and
    `bench.worktime`. Needs a whole number of minutes; exact as `naive_between` is."""
    if amount < timedelta(0) or amount % ONE_MINUTE:
        raise ValueError(f"the reference adds whole non-negative minutes only: {amount}")
    remaining = amount // ONE_MINUTE
    minute = start.astimezone(UTC)
    while remaining:
        remaining -= naive_is_working(calendar, minute)
        minute += ONE_MINUTE
    return minute


def local(instant: datetime, timezone: str) -> datetime:
    """`instant` on the wall clock of `timezone` (a ticket's dates and years are the office's)."""
    return instant.astimezone(ZoneInfo(timezone))


def days_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of `first` and of the day after `last`, in `timezone`, as UTC."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of `month` ("YYYY-MM") and of the month after, in `timezone`, as UTC;
    ValueError if `month` is not one."""
    year, number = (int(part) for part in month.split("-"))
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
