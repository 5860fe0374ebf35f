"""The policy file (shared/spec/api.md "The policy file"; R12, R13, R16, R21, R22, R26): the
shipped default holds the regulation's values, calendars resolve to working time with the
country's holidays and make-up days, and a bad file is refused whole with a message naming the
file, the key and the problem."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from models.policy import Calendar, PolicyError, load_policy

SHIPPED = Path(str(resources.files("models").joinpath("default_policy.toml")))
MINIMAL = """
[calendars.office]
timezone = "Asia/Shanghai"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = [["08:30", "12:00"], ["13:00", "17:30"]]
holidays = "CN"

[calendars.always]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = [["00:00", "24:00"]]

[zones.urban]
calendar = "office"
arrival_hours = 6

[zones.suburban]
calendar = "office"
arrival_hours = 7
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    return str(refused.value)


def test_shipped_default_holds_the_regulations_values() -> None:
    for policy in (load_policy(None), load_policy(SHIPPED)):
        # R12: 6 working hours in the urban zone, 7 in the suburbs, on office time.
        assert policy.zones["urban"].arrival_hours == 6
        assert policy.zones["suburban"].arrival_hours == 7
        assert policy.zones["urban"].calendar == "office"
        assert policy.zones["suburban"].calendar == "office"
        office = policy.calendars["office"]
        assert office.timezone == "Asia/Shanghai"
        assert office.workdays == ["mon", "tue", "wed", "thu", "fri"]
        assert office.hours == [("08:30", "12:00"), ("13:00", "17:30")]
        assert office.holidays == "CN"
        # R13: regulation 3's 24-hour service is configuration too.
        always = policy.calendars["always"]
        assert always.workdays == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        assert always.hours == [("00:00", "24:00")]
        assert {z.calendar for z in policy.zones.values()} == {"office", "always"}
        # R22: the survey card goes out a day after resolution.
        assert policy.survey.delay_hours == 24
        assert policy.billing.hourly_rate == Decimal("120.00")


def test_the_spec_example_loads_and_unlisted_sections_take_defaults(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    assert set(policy.zones) == {"urban", "suburban"}
    assert policy.survey.delay_hours == 24


def test_fractional_hours_are_accepted(tmp_path: Path) -> None:
    text = MINIMAL.replace("arrival_hours = 6", "arrival_hours = 1.5") + (
        "\n[survey]\ndelay_hours = 0.5\n"
    )
    policy = load_policy(write(tmp_path, text))
    assert policy.zones["urban"].arrival_hours == 1.5
    assert policy.survey.delay_hours == 0.5


def test_ring_road_zones_on_24_hour_service_are_configuration(tmp_path: Path) -> None:
    # R13: a zone table unlike the regulation 8 one, written only as data.
    text = MINIMAL + '\n[zones.ring_1]\ncalendar = "always"\narrival_hours = 1\n'
    policy = load_policy(write(tmp_path, text))
    assert policy.zones["ring_1"].calendar == "always"


BAD_POLICIES = {
    "unparsable TOML": (
        MINIMAL.replace('calendar = "office"\narrival_hours = 7', 'calendar = "office\n'),
        [],
        ["not valid toml"],
    ),
    "unknown calendar in a zone": (
        MINIMAL.replace(
            'calendar = "office"\narrival_hours = 7', 'calendar = "ofice"\narrival_hours = 7'
        ),
        ["zones.suburban.calendar"],
        ["unknown calendar", "ofice"],
    ),
    "arrival_hours zero": (
        MINIMAL.replace("arrival_hours = 6", "arrival_hours = 0"),
        ["zones.urban.arrival_hours"],
        ["greater than 0"],
    ),
    "arrival_hours negative": (
        MINIMAL.replace("arrival_hours = 7", "arrival_hours = -2"),
        ["zones.suburban.arrival_hours"],
        ["greater than 0"],
    ),
    "arrival_hours not a number": (
        MINIMAL.replace("arrival_hours = 7", 'arrival_hours = "seven"'),
        ["zones.suburban.arrival_hours"],
        ["number"],
    ),
    "unknown timezone": (
        MINIMAL.replace('"Asia/Shanghai"', '"Asia/Shangri-La"'),
        ["calendars.office.timezone"],
        ["unknown time zone", "Asia/Shangri-La"],
    ),
    "working-hours span ending before it starts": (
        MINIMAL.replace('["13:00", "17:30"]', '["17:30", "13:00"]'),
        ["calendars.office.hours"],
        ["17:30-13:00", "ends before it starts"],
    ),
    "overlapping working-hours spans": (
        MINIMAL.replace('["13:00", "17:30"]', '["11:00", "17:30"]'),
        ["calendars.office.hours"],
        ["overlaps"],
    ),
    "hour past the end of the day": (
        MINIMAL.replace('"17:30"]', '"25:00"]'),
        ["calendars.office.hours.1.1"],
        ["should match pattern"],
    ),
    "unknown weekday": (
        MINIMAL.replace('"thu", "fri"]\nhours = [["08:30"', '"thu", "fry"]\nhours = [["08:30"'),
        ["calendars.office.workdays.4"],
        ["'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'"],
    ),
    "unknown top-level key": (
        MINIMAL + '\n[zonez.urban]\ncalendar = "office"\n',
        ["zonez"],
        ["extra inputs are not permitted"],
    ),
    "unknown key inside a zone (a typo must not be ignored)": (
        MINIMAL.replace("arrival_hours = 7", "arival_hours = 7"),
        ["zones.suburban.arival_hours", "zones.suburban.arrival_hours"],
        ["extra inputs are not permitted", "field required"],
    ),
    "negative survey delay": (
        MINIMAL + "\n[survey]\ndelay_hours = -1\n",
        ["survey.delay_hours"],
        ["greater than or equal to 0"],
    ),
    "no zones at all": (
        MINIMAL.split("[zones.urban]")[0],
        ["zones"],
        ["field required"],
    ),
    "unknown country code": (
        MINIMAL.replace('holidays = "CN"', 'holidays = "XX"'),
        ["calendars.office.holidays"],
        ["unknown country code 'XX'"],
    ),
    "a date both an extra holiday and an extra workday": (
        MINIMAL.replace(
            'holidays = "CN"',
            'holidays = "CN"\nextra_holidays = [2026-10-10]\nextra_workdays = [2026-10-10]',
        ),
        ["calendars.office.extra_workdays"],
        ["2026-10-10 also in extra_holidays"],
    ),
    "survey card expiring at its reminder": (
        MINIMAL + "\n[survey]\nreminder_hours = 48\nexpiry_hours = 48\n",
        ["survey.expiry_hours"],
        ["more than reminder_hours (48)"],
    ),
    "survey reminder after the default expiry": (
        MINIMAL + "\n[survey]\nreminder_hours = 200\n",
        ["survey.expiry_hours"],
        ["more than reminder_hours (200)"],
    ),
    "warning fraction of 1": (
        MINIMAL + "\n[deadlines]\nwarning_fraction = 1\n",
        ["deadlines.warning_fraction"],
        ["less than 1"],
    ),
    "warning fraction of 0": (
        MINIMAL + "\n[deadlines]\nwarning_fraction = 0\n",
        ["deadlines.warning_fraction"],
        ["greater than 0"],
    ),
    "repeat-complaint window of 0 days": (
        MINIMAL + "\n[complaints]\nrepeat_window_days = 0\n",
        ["complaints.repeat_window_days"],
        ["greater than or equal to 1"],
    ),
    "repeat-complaint window over ten years": (
        MINIMAL + "\n[complaints]\nrepeat_window_days = 3651\n",
        ["complaints.repeat_window_days"],
        ["less than or equal to 3650"],
    ),
    "repeat-complaint window of a fractional day": (
        MINIMAL + "\n[complaints]\nrepeat_window_days = 1.5\n",
        ["complaints.repeat_window_days"],
        ["valid integer"],
    ),
}


@pytest.mark.parametrize(("text", "keys", "problems"), BAD_POLICIES.values(), ids=BAD_POLICIES)
def test_bad_policy_is_refused_naming_file_key_and_problem(
    tmp_path: Path, text: str, keys: list[str], problems: list[str]
) -> None:
    path = write(tmp_path, text, "site-policy.toml")
    message = refusal(path)
    assert str(path) in message
    for key in keys:
        assert key in message, message
    for problem in problems:
        assert problem.lower() in message.lower(), message


def test_unparsable_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("arrival_hours = 7", "arrival_hours = = 7"))
    message = refusal(path)
    lines = MINIMAL.splitlines()
    assert f"line {lines.index('arrival_hours = 7') + 1}" in message, message


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "policy.toml"
    message = refusal(path)
    assert str(path) in message and "no such file" in message.lower()


def test_nan_arrival_hours_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("arrival_hours = 6", "arrival_hours = nan"))
    assert "zones.urban.arrival_hours" in refusal(path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (MINIMAL.replace("arrival_hours = 6", "arrival_hours = inf"), "zones.urban.arrival_hours"),
        (MINIMAL + "\n[survey]\ndelay_hours = inf\n", "survey.delay_hours"),
    ],
    ids=["arrival_hours", "delay_hours"],
)
def test_infinite_hours_are_impossible_values(tmp_path: Path, text: str, key: str) -> None:
    # "an impossible value stops start-up": a deadline that never comes is not a deadline
    # (R12), a survey that never goes out breaks R22 ("every one, never a sample").
    assert key in refusal(write(tmp_path, text))


def test_shipped_default_holds_deadline_survey_and_complaint_timing() -> None:
    policy = load_policy(None)
    assert policy.deadlines.warning_fraction == 0.8  # R12, R16
    assert (policy.survey.reminder_hours, policy.survey.expiry_hours) == (48, 168)  # R22
    assert policy.complaints.repeat_window_days == 90  # R26 (A2)
    assert policy.calendars["office"].extra_holidays == []
    assert policy.calendars["office"].extra_workdays == []


def test_unlisted_timing_sections_take_their_defaults(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    assert policy.deadlines.warning_fraction == 0.8
    assert policy.survey.expiry_hours == 168
    assert policy.complaints.repeat_window_days == 90


def test_a_country_calendar_resolves_with_its_holidays_and_make_up_days() -> None:
    # R12: China's 2026 National Day holiday (Oct 1–7) is off; its make-up days Sun Sep 20 and
    # Sat Oct 10 work. Only 2026 is asked for, though the package knows make-up days of 2001.
    office = load_policy(None).calendars["office"].resolve([2026])
    assert {f"2026-10-0{day}" for day in (1, 2, 3, 5, 6, 7)} <= set(office.holidays)
    assert {"2026-09-20", "2026-10-10"} <= set(office.extra_workdays)
    assert all(day.startswith("2026-") for day in office.holidays + office.extra_workdays)
    assert (office.timezone, office.workdays) == ("Asia/Shanghai", [0, 1, 2, 3, 4])
    assert office.spans == [[510, 720], [780, 1050]]
    assert office.is_working_day(date(2026, 10, 10))
    assert not office.is_working_day(date(2026, 10, 7))


def test_extra_holidays_beat_extra_workdays_beat_country_days() -> None:
    calendar = Calendar(
        timezone="Asia/Shanghai",
        workdays=["mon", "tue", "wed", "thu", "fri"],
        hours=[("08:30", "17:30")],
        holidays="CN",
        extra_holidays=[date(2026, 10, 10), date(2026, 11, 27)],  # a make-up day, a Friday
        extra_workdays=[date(2026, 10, 2), date(2026, 11, 28)],  # a holiday, a Saturday
    )
    resolved = calendar.resolve([2026])
    assert not resolved.is_working_day(date(2026, 10, 10))
    assert not resolved.is_working_day(date(2026, 11, 27))
    assert resolved.is_working_day(date(2026, 10, 2))
    assert resolved.is_working_day(date(2026, 11, 28))
    assert resolved.is_working_day(date(2026, 9, 20))  # the country's make-up day stays


def test_a_list_of_dates_is_the_holidays() -> None:
    calendar = Calendar(
        timezone="UTC", workdays=["mon"], hours=[("00:00", "24:00")], holidays=[date(2026, 6, 1)]
    )
    resolved = calendar.resolve([2026])
    assert (resolved.holidays, resolved.extra_workdays) == (["2026-06-01"], [])
    assert not resolved.is_working_day(date(2026, 6, 1))
    assert resolved.is_working_day(date(2026, 6, 8))


def test_a_zones_work_calendar_knows_the_year_before_to_the_year_after() -> None:
    calendar = load_policy(None).work_calendar("suburban", datetime(2026, 6, 1, tzinfo=UTC))
    years = {int(day[:4]) for day in calendar.holidays}
    assert years == {2025, 2026, 2027}
    ring = load_policy(None).work_calendar("ring_1", datetime(2026, 6, 1, tzinfo=UTC))
    assert (ring.timezone, ring.spans, ring.holidays) == ("UTC", [[0, 1440]], [])


def test_policy_check_names_the_file_and_key_of_a_bad_value(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('holidays = "CN"', 'holidays = "XX"'), "site.toml")
    ran = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert ran.exit_code != 0
    assert str(path) in ran.stderr and "calendars.office.holidays" in ran.stderr, ran.stderr
    assert "unknown country code 'XX'" in ran.stderr
