"""The policy file (TOML): calendars, zones, deadlines, billing, discounts, quotations,
warranty and authority limits, survey timing and complaints (R12, R13, R16–R22, R26).

A policy loads whole or not at all: any problem raises PolicyError naming file, key and
problem, so a bad file stops start-up instead of half-loading.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.approvals import ApprovalKind, ApprovalTerms, Band
from models.messages import Milestone, NotifyTerms
from models.roles import Role
from models.ticket import BillingTerms, ServiceClock, SurveyTerms
from models.values import MONEY_CEILING, Category, ShortItem
from models.worktime import WorkCalendar

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_HOURS = 24 * 366  # a deadline or delay beyond a year is a typo, not a policy
OFFICE_CALENDAR = "office"
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def minutes_of(hhmm: str) -> int:
    """Minutes since midnight of an "HH:MM" string ("24:00" is 1440)."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@functools.cache
def _supported_countries() -> frozenset[str]:
    import holidays  # imported on first use: it takes about 0.1 s

    return frozenset(holidays.list_supported_countries())


@functools.lru_cache(maxsize=32)
def _country_days(code: str, years: tuple[int, ...]) -> tuple[frozenset[date], frozenset[date]]:
    """A country's days off and make-up working days in `years`, from the `holidays` package."""
    import holidays

    country = holidays.country_holidays(code, years=years)
    # `weekend_workdays` holds make-up days of years other than those asked for, too.
    make_up_days = frozenset(day for day in country.weekend_workdays if day.year in years)
    return frozenset(country), make_up_days


def _iso_dates_in(days: frozenset[date], years: frozenset[int]) -> list[str]:
    return sorted(day.isoformat() for day in days if day.year in years)


class Calendar(_Strict):
    """Working time for deadlines (R12). Whether a date works, strongest rule first:
    extra_holidays, extra_workdays, the country's holidays, the country's make-up working days
    (`weekend_workdays` of the `holidays` package), the weekly workdays."""

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

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, holidays: str | list[date]) -> str | list[date]:
        if isinstance(holidays, str) and holidays not in _supported_countries():
            raise ValueError(f"unknown country code '{holidays}'")
        return holidays

    @field_validator("extra_workdays")
    @classmethod
    def _not_also_extra_holidays(cls, workdays: list[date], info: ValidationInfo) -> list[date]:
        both = sorted(set(workdays) & set(info.data.get("extra_holidays", [])))
        if both:
            listed = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"{listed} also in extra_holidays: a date is either off or working")
        return workdays

    def resolve(self, years: Iterable[int]) -> WorkCalendar:
        """This calendar as plain data for workflows (R12), with the days off and make-up days
        of `years` only: outside them just the weekly workdays apply."""
        wanted = frozenset(years)
        if isinstance(self.holidays, str):
            country_off, make_up_days = _country_days(self.holidays, tuple(sorted(wanted)))
        else:
            country_off, make_up_days = frozenset(self.holidays), frozenset()
        extra_off = frozenset(self.extra_holidays)
        working = ((make_up_days - country_off) | frozenset(self.extra_workdays)) - extra_off
        return WorkCalendar(
            timezone=self.timezone,
            workdays=sorted({WEEKDAYS.index(day) for day in self.workdays}),
            spans=[[minutes_of(start), minutes_of(end)] for start, end in self.hours],
            holidays=_iso_dates_in(country_off | extra_off, wanted),
            extra_workdays=_iso_dates_in(working, wanted),
        )


class Zone(_Strict):
    calendar: str
    arrival_hours: float = Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)
    branch: str = Field("main", min_length=1, max_length=100)
    """The branch whose technicians serve it: its tickets' reports are that branch's."""


PaymentMethod = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Billing(_Strict):
    currency: str = "CNY"
    hourly_rate: Decimal = Field(Decimal("120.00"), ge=0, le=1_000_000, decimal_places=2)
    small_fee_threshold: Decimal = Field(Decimal("200.00"), ge=0, decimal_places=2)
    # R21: the largest amount of one invoice line (labour, or one part's quantity × price) and
    # of one ticket; a step above either is refused, so no amount can overflow the books.
    max_line_amount: Decimal = Field(Decimal("100000.00"), gt=0, decimal_places=2)
    max_ticket_amount: Decimal = Field(
        Decimal("1000000.00"), gt=0, le=MONEY_CEILING, decimal_places=2, validate_default=True
    )
    # R21: how a payment may be recorded.
    payment_methods: list[PaymentMethod] = Field(
        ["cash", "card", "transfer", "cheque"], min_length=1, max_length=20
    )
    # R18: what an hour of labour costs the company, and the least gross margin a job may be
    # invoiced at without the director's approval.
    labour_cost_per_hour: Decimal = Field(Decimal("60.00"), ge=0, le=1_000_000, decimal_places=2)
    min_gross_margin: Decimal = Field(Decimal("0.30"), ge=0, lt=1, decimal_places=4)

    @field_validator("max_ticket_amount")
    @classmethod
    def _ticket_holds_a_line(cls, ceiling: Decimal, info: ValidationInfo) -> Decimal:
        line = info.data.get("max_line_amount")
        if line is not None and ceiling < line:
            raise ValueError(f"must be at least max_line_amount ({line})")
        return ceiling


Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Money = Annotated[Decimal, Field(ge=0, le=MONEY_CEILING, decimal_places=2)]


class Discounts(_Strict):
    # R17: what a service advisor grants on their own authority, per discount and per week.
    advisor_max_percent: Percent = Decimal("10")
    advisor_per_week: int = Field(5, ge=0, le=10_000)


class Quotations(_Strict):
    # R19: the service types whose workshop repairs wait for an accepted quotation, and what
    # the customer pays for the diagnosis when they decline it.
    required_for: list[Literal["paid", "warranty", "contract"]] = ["paid"]
    diagnosis_fee: Money = Decimal("50.00")


class Warranty(_Strict):
    # R19: a warranty-claim order above this needs the after-sales director's countersignature.
    countersign_above: Money = Decimal("2000.00")
    # R20: who decides the responsibility for a defect under warranty.
    responsibility_roles: list[Role] = Field([Role.MANAGER, Role.DIRECTOR], min_length=1)


A3_CHECKLIST = ["front-end devices", "cabling", "central equipment", "system functions"]


class Contracts(_Strict):
    # R32: how often a contract's preventive inspections come unless it says otherwise, and
    # the checklists per contract type ("default" for a contract of no listed type, A3).
    every: Literal["month", "quarter"] = "month"
    checklists: dict[str, list[ShortItem]] = {"default": A3_CHECKLIST}
    # A contract workflow started late (at an upgrade) carries out what fell due this many days
    # back; older events are recorded as missed.
    catch_up_days: int = Field(7, ge=0, le=366)


class Reports(_Strict):
    # R27-R29: the day's reports are drafted at the end of each working day of `calendar`;
    # confirmed, reviewed and signed by `due_by` (local time) on the next working day, or they
    # escalate; the signed director's report is forwarded to the roles of `forward_to` (the
    # service department).
    calendar: str | None = None
    """None: the office calendar (or the first, without one)."""
    due_by: HHMM = "10:00"
    forward_to: list[Role] = Field([Role.VP], min_length=1)


class Qualifications(_Strict):
    # R34: product categories a technician is dispatched to only with a valid certificate.
    required_for: list[Category] = []


class PolicyBand(_Strict):
    role: Role
    up_to: Money | None = None
    """The largest amount this role decides (the percent, for a discount); none: any."""


DEFAULT_BANDS: dict[ApprovalKind, list[PolicyBand]] = {
    ApprovalKind.DISCOUNT: [PolicyBand(role=Role.DIRECTOR)],
    ApprovalKind.LOW_MARGIN: [PolicyBand(role=Role.DIRECTOR)],
    ApprovalKind.ADDED_PARTS: [PolicyBand(role=Role.MANAGER)],
    ApprovalKind.WARRANTY_CLAIM: [PolicyBand(role=Role.MANAGER)],
    ApprovalKind.WARRANTY_COUNTERSIGN: [PolicyBand(role=Role.VP)],
}


class Approvals(_Strict):
    # R16: working hours an approval may wait before it goes to the next role of the chain.
    escalate_after_hours: float = Field(4, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    chain: list[Role] = Field(
        [Role.CLERK, Role.MANAGER, Role.DIRECTOR, Role.VP], min_length=1, max_length=len(Role)
    )
    # Per kind, amount bands in ascending order, each naming the role that decides.
    bands: dict[ApprovalKind, list[PolicyBand]] = DEFAULT_BANDS

    @field_validator("chain")
    @classmethod
    def _each_role_once(cls, chain: list[Role]) -> list[Role]:
        if len(set(chain)) != len(chain):
            raise ValueError("a role appears twice")
        return chain

    @model_validator(mode="after")
    def _bands_cover_every_amount(self) -> Approvals:
        for kind, bands in self.bands.items():
            if not bands:
                raise ValueError(f"bands.{kind}: at least one band")
            limits = [band.up_to for band in bands[:-1]]
            if None in limits or limits != sorted(limits):  # type: ignore[type-var]
                raise ValueError(f"bands.{kind}: bands must rise, the last one without up_to")
            if bands[-1].up_to is not None:
                raise ValueError(f"bands.{kind}: the last band has no up_to (any amount)")
            for band in bands:
                if band.role not in self.chain:
                    raise ValueError(f"bands.{kind}: role '{band.role}' is not in the chain")
        return self


class Deadlines(_Strict):
    # R12, R16: the warning comes when this share of the arrival working time has passed.
    warning_fraction: float = Field(0.8, gt=0, lt=1, allow_inf_nan=False)


class Survey(_Strict):
    delay_hours: float = Field(24, ge=0, le=MAX_HOURS, allow_inf_nan=False)  # R22
    # After the card is sent: one reminder if unanswered, then the card expires.
    reminder_hours: float = Field(48, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    expiry_hours: float = Field(168, gt=0, le=MAX_HOURS, allow_inf_nan=False, validate_default=True)

    @field_validator("expiry_hours")
    @classmethod
    def _expires_after_the_reminder(cls, expiry: float, info: ValidationInfo) -> float:
        reminder = info.data.get("reminder_hours")
        if reminder is not None and expiry <= reminder:
            raise ValueError(
                f"must be more than reminder_hours ({reminder:g}), so the reminder goes out"
                " before the card expires"
            )
        return expiry


class Notifications(_Strict):
    # Issue 14: the milestones of a ticket its customer hears of, and the night (office time)
    # in which no SMS goes out: it waits for the morning. Emails go at once.
    milestones: list[Milestone] = list(Milestone)
    quiet_from: HHMM = "21:00"
    quiet_until: HHMM = "08:00"
    # The customer's status link works while the ticket is open and this many days after.
    status_link_days: int = Field(30, ge=1, le=3650)


class Complaints(_Strict):
    # R26 (A2): a second complaint from the customer about the product within this window is
    # flagged as repeated.
    repeat_window_days: int = Field(90, ge=1, le=3650)


class Policy(_Strict):
    calendars: dict[str, Calendar] = Field(min_length=1)
    zones: dict[str, Zone] = Field(min_length=1)
    deadlines: Deadlines = Deadlines()
    billing: Billing = Billing()
    survey: Survey = Survey()
    complaints: Complaints = Complaints()
    discounts: Discounts = Discounts()
    quotations: Quotations = Quotations()
    warranty: Warranty = Warranty()
    approvals: Approvals = Approvals()
    qualifications: Qualifications = Qualifications()
    contracts: Contracts = Contracts()
    reports: Reports = Reports()
    notifications: Notifications = Notifications()
    _resolved: dict[tuple[str, int], WorkCalendar] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _zones_name_known_calendars(self) -> Policy:
        for name, zone in self.zones.items():
            if zone.calendar not in self.calendars:
                known = ", ".join(sorted(self.calendars))
                raise ValueError(
                    f"zones.{name}.calendar: unknown calendar '{zone.calendar}' (known: {known})"
                )
        return self

    @model_validator(mode="after")
    def _reports_name_a_known_calendar(self) -> Policy:
        if self.reports.calendar is not None and self.reports.calendar not in self.calendars:
            known = ", ".join(sorted(self.calendars))
            raise ValueError(
                f"reports.calendar: unknown calendar '{self.reports.calendar}' (known: {known})"
            )
        return self

    @property
    def reports_calendar(self) -> str:
        """The calendar whose working days end with the day's reports (R27)."""
        if self.reports.calendar is not None:
            return self.reports.calendar
        return OFFICE_CALENDAR if OFFICE_CALENDAR in self.calendars else next(iter(self.calendars))

    @property
    def branches(self) -> list[str]:
        """The branches the zones belong to."""
        return sorted({zone.branch for zone in self.zones.values()})

    @property
    def office_timezone(self) -> str:
        """The office calendar's time zone: the months of reports, the dates people type
        without one; UTC when the policy has no `office` calendar."""
        office = self.calendars.get(OFFICE_CALENDAR)
        return office.timezone if office is not None else "UTC"

    def period_calendar(self, zone: str, first: date, last: date) -> WorkCalendar:
        """The working days of `zone` from `first` to `last` with every holiday between
        (R32: a contract's events fall on working days for years)."""
        name = self.zones[zone].calendar
        return self.calendars[name].resolve(range(first.year - 1, last.year + 2))

    def work_calendar(self, zone: str, around: datetime) -> WorkCalendar:
        """The working time of `zone` (R12) near `around`, holidays known from the year before
        to the year after: ample for arrival and same-day deadlines (R12, R15), hours or days
        away; only a deadline of most of MAX_HOURS could run past them. KeyError if unknown.
        Resolved once per calendar and year: a country's holidays take milliseconds."""
        return self.calendar_near(self.zones[zone].calendar, around)

    def calendar_near(self, name: str, around: datetime) -> WorkCalendar:
        """The calendar `name` with the holidays from the year before `around` to the year
        after."""
        key = (name, around.year)
        if key not in self._resolved:
            years = range(around.year - 1, around.year + 2)
            self._resolved[key] = self.calendars[name].resolve(years)
        return self._resolved[key]


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
        problems = "; ".join(
            f"{_key(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
            for error in invalid.errors()
        )
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


def service_clock(
    policy: Policy, zone: str, now: datetime, contract_hours: float | None = None
) -> ServiceClock:
    """R12–R15: the zone's deadline terms as they stand at call-in, holidays resolved; frozen
    into the ticket, so a later policy change does not move its deadlines. A contract's own
    arrival hours (R13) replace the zone's."""
    return ServiceClock(
        calendar=policy.work_calendar(zone, now),
        arrival_hours=contract_hours or policy.zones[zone].arrival_hours,
        warning_fraction=policy.deadlines.warning_fraction,
    )


def billing_terms(policy: Policy) -> BillingTerms:
    """R6, R21: the billing terms a ticket is called in with."""
    return BillingTerms(
        hourly_rate=policy.billing.hourly_rate,
        small_fee_threshold=policy.billing.small_fee_threshold,
        max_line_amount=policy.billing.max_line_amount,
        max_ticket_amount=policy.billing.max_ticket_amount,
    )


def survey_terms(policy: Policy) -> SurveyTerms:
    """R22, A2: the survey and complaint timing a ticket is called in with."""
    return SurveyTerms(
        delay_hours=policy.survey.delay_hours,
        reminder_hours=policy.survey.reminder_hours,
        expiry_hours=policy.survey.expiry_hours,
        repeat_window_days=policy.complaints.repeat_window_days,
    )


def notify_terms(policy: Policy) -> NotifyTerms:
    """Issue 14: what a ticket's customer hears of, frozen at call-in."""
    notifications = policy.notifications
    return NotifyTerms(
        milestones=[milestone.value for milestone in notifications.milestones],
        timezone=policy.office_timezone,
        quiet_from=notifications.quiet_from,
        quiet_until=notifications.quiet_until,
        currency=policy.billing.currency,
    )


def approval_terms(policy: Policy) -> ApprovalTerms:
    """R17-R20: the money rules and authority limits a ticket is called in with; a later
    policy change touches neither the ticket nor a pending approval's approver."""
    bands = DEFAULT_BANDS | policy.approvals.bands
    return ApprovalTerms(
        bands={
            kind.value: [Band(band.role.value, band.up_to) for band in kind_bands]
            for kind, kind_bands in bands.items()
        },
        chain=[role.value for role in policy.approvals.chain],
        escalate_after_hours=policy.approvals.escalate_after_hours,
        discount_max_percent=policy.discounts.advisor_max_percent,
        discounts_per_week=policy.discounts.advisor_per_week,
        min_gross_margin=policy.billing.min_gross_margin,
        labour_cost_per_hour=policy.billing.labour_cost_per_hour,
        quotation_for=list(policy.quotations.required_for),
        diagnosis_fee=policy.quotations.diagnosis_fee,
        countersign_above=policy.warranty.countersign_above,
        responsibility_roles=[role.value for role in policy.warranty.responsibility_roles],
        office_timezone=policy.office_timezone,
    )
