"""A maintenance contract's own promises (R31, R32, R35) as a calendar of events: monthly (or
quarterly, or listed) preventive inspections, quarterly follow-up visits, the expiry notice and
renewal visit a month before the end, and the sales director's warning three months before
free maintenance ends. Each event falls on a working day of the contract's calendar and has a
key, so the contract's workflow carries it out once however often it is computed again.

Pure: the contract's workflow (workflows/contract.py) and the API's calendar read these.
"""

from __future__ import annotations

import calendar as months
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from models.refusals import CONFLICT, INVALID_PAYLOAD, Refused, field_refused
from models.ticket import BillingTerms, Customer, Product, ServiceClock
from models.worktime import WorkCalendar, local


class EventKind(StrEnum):
    INSPECTION = "inspection"
    """R32: a preventive inspection with the contract's checklist."""
    FOLLOW_UP = "follow_up"
    """R32: the quarterly follow-up visit."""
    EXPIRY_NOTICE = "expiry_notice"
    """R31: the customer is told the contract ends in a month."""
    RENEWAL_VISIT = "renewal_visit"
    """R31: a visit to renew, queued for dispatch a month before the end."""
    SALES_WARNING = "sales_warning"
    """R31: the sales director is told free maintenance ends in three months."""
    VISIT_NOTICE = "visit_notice"
    """R35: the customer is told what will be done, its impact and when, days before."""


JOBS = frozenset({EventKind.INSPECTION, EventKind.FOLLOW_UP, EventKind.RENEWAL_VISIT})
"""Events that open an internal job at the customer's site."""


class Every(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


@dataclass
class ContractTerms:
    """What the contract's workflow keeps: the contract as it stands (renewals, extensions,
    early termination and schedule changes replace it)."""

    contract_id: int
    uid: str
    """Names its workflow, jobs and notices (models/tables.py `ContractRecord.uid`)."""
    number: str
    customer: Customer
    product: Product
    zone: str
    starts_on: date
    ends_on: date
    calendar: WorkCalendar
    """The working days events fall on, holidays known for the whole contract."""
    billing: BillingTerms
    every: str | None = Every.MONTH
    """Inspections every month or quarter; None: only on `dates`."""
    dates: list[date] = field(default_factory=list)
    checklist: list[str] = field(default_factory=list)
    free_maintenance_until: date | None = None
    terminated_on: date | None = None
    """Early termination: nothing happens after this day."""
    branch: str | None = None
    """The branch of its zone: its jobs are that branch's."""
    arrival_hours: float | None = None
    """R13: a repair's arrival hours (the contract's own, or its zone's when it was made)."""
    warning_fraction: float = 0.8
    notice_months: int = 1
    sales_warning_months: int = 3
    follow_up_months: int = 3
    customer_id: int | None = None
    """The customer's record: how and in which language their notices go (issue 14)."""
    visit_notice_days: int = 3


@dataclass(frozen=True)
class ContractEvent:
    key: str
    """`<kind>-<nominal day>`: the same event however often the calendar is computed."""
    kind: str
    on: date
    """The working day it falls on (the nominal day, or the next working day)."""
    visit_on: date | None = None
    """A visit notice's visit day."""
    visit_kind: str | None = None
    """A visit notice's visit: `inspection` or `follow_up`."""


def add_months(day: date, count: int) -> date:
    """`day` moved by `count` months, on the month's last day when it has no such day."""
    month = day.month - 1 + count
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, months.monthrange(year, month)[1]))


def _working_day(terms: ContractTerms, day: date) -> date:
    for _ in range(366):
        if terms.calendar.is_working_day(day):
            return day
        day += timedelta(days=1)
    return day


def _working_day_before(terms: ContractTerms, day: date) -> date:
    for _ in range(366):
        if terms.calendar.is_working_day(day):
            return day
        day -= timedelta(days=1)
    return day


def _notice(terms: ContractTerms, visit: ContractEvent) -> ContractEvent:
    """R35: the customer hears of a visit `visit_notice_days` before it (a working day, not
    before the contract starts)."""
    day = _working_day_before(terms, visit.on - timedelta(days=terms.visit_notice_days))
    return ContractEvent(
        f"notice_{visit.key}",
        EventKind.VISIT_NOTICE,
        max(day, min(terms.starts_on, visit.on)),
        visit_on=visit.on,
        visit_kind=visit.kind,
    )


def _event(terms: ContractTerms, kind: EventKind, nominal: date) -> ContractEvent:
    return ContractEvent(f"{kind.value}-{nominal.isoformat()}", kind, _working_day(terms, nominal))


def _every(terms: ContractTerms, months_apart: int, first: int) -> list[date]:
    days, step = [], first
    while (day := add_months(terms.starts_on, step)) <= terms.ends_on:
        days.append(day)
        step += months_apart
    return days


def events(terms: ContractTerms) -> list[ContractEvent]:
    """Every event of the contract's life as it stands, in order; none after an early
    termination."""
    if terms.every == Every.MONTH:
        inspections = _every(terms, 1, 0)
    elif terms.every == Every.QUARTER:
        inspections = _every(terms, 3, 0)
    else:
        inspections = [d for d in terms.dates if terms.starts_on <= d <= terms.ends_on]
    found = [_event(terms, EventKind.INSPECTION, day) for day in inspections]
    months_apart = terms.follow_up_months
    found += [
        _event(terms, EventKind.FOLLOW_UP, day) for day in _every(terms, months_apart, months_apart)
    ]
    found += [_notice(terms, visit) for visit in found]
    notice = add_months(terms.ends_on, -terms.notice_months)
    found += [_event(terms, EventKind.EXPIRY_NOTICE, notice)]
    found += [_event(terms, EventKind.RENEWAL_VISIT, notice)]
    if terms.free_maintenance_until is not None:
        warning = add_months(terms.free_maintenance_until, -terms.sales_warning_months)
        found.append(_event(terms, EventKind.SALES_WARNING, warning))
    last = last_day(terms)
    kept = {event.key: event for event in found if terms.starts_on <= event.on <= last}
    return sorted(kept.values(), key=lambda event: (event.on, event.kind, event.key))


def last_day(terms: ContractTerms) -> date:
    """R31: the contract's last day: its end, or the day it was terminated."""
    return terms.terminated_on or terms.ends_on


def repair_clock(terms: ContractTerms) -> ServiceClock | None:
    """R13: the deadline terms of a repair an inspection's fault opens: the contract's
    arrival hours on its own working days."""
    if terms.arrival_hours is None:
        return None
    return ServiceClock(terms.calendar, terms.arrival_hours, terms.warning_fraction)


def fires_at(terms: ContractTerms, event: ContractEvent) -> datetime:
    """The instant an event is carried out: the start of its working day."""
    midnight = datetime.combine(event.on, time(0), ZoneInfo(terms.calendar.timezone))
    return terms.calendar.next_day_start(midnight - timedelta(microseconds=1))


def ends_at(terms: ContractTerms) -> datetime:
    """The end of the contract's last day (or of its termination day)."""
    last = last_day(terms)
    zone = ZoneInfo(terms.calendar.timezone)
    return datetime.combine(last + timedelta(days=1), time(0), zone)


class ChangeKind(StrEnum):
    RENEW = "renew"
    """A new end date, later than the current one (renewal or extension)."""
    TERMINATE = "terminate"
    RESCHEDULE = "reschedule"


@dataclass
class ContractChange:
    """The `change` update: a renewal or extension (new end, with the calendar resolved for
    it), an early termination, or a new schedule and checklist."""

    kind: str
    actor: str
    ends_on: date | None = None
    calendar: WorkCalendar | None = None
    terminated_on: date | None = None
    every: str | None = None
    dates: list[date] = field(default_factory=list)
    checklist: list[str] | None = None
    free_maintenance_until: date | None = None


def changed(terms: ContractTerms, change: ContractChange, now: datetime) -> ContractTerms:
    """The terms after `change` at `now`; a refusal naming the problem when it cannot apply:
    409 for a contract that has ended or was terminated, 422 for a change that makes no sense.
    """
    if now >= ends_at(terms):
        raise Refused(CONFLICT, f"contract {terms.number} has ended: a new contract renews it")
    if terms.terminated_on is not None:
        raise Refused(CONFLICT, f"contract {terms.number} was terminated on {terms.terminated_on}")
    match change.kind:
        case ChangeKind.RENEW:
            if change.ends_on is None or change.ends_on <= terms.ends_on:
                raise field_refused("ends_on", f"a renewal ends after {terms.ends_on}")
            return replace(
                terms, ends_on=change.ends_on, calendar=change.calendar or terms.calendar
            )
        case ChangeKind.TERMINATE:
            day = change.terminated_on or local(now, terms.calendar.timezone).date()
            if not terms.starts_on <= day <= terms.ends_on:
                raise field_refused("terminated_on", "a day of the contract's period")
            return replace(terms, terminated_on=day)
        case ChangeKind.RESCHEDULE:
            if change.every is None and not change.dates:
                raise Refused(INVALID_PAYLOAD, "every or dates: when the inspections are")
            checklist = terms.checklist if change.checklist is None else change.checklist
            return replace(
                terms,
                every=change.every,
                dates=change.dates,
                checklist=checklist,
                free_maintenance_until=change.free_maintenance_until,
            )
    raise Refused(INVALID_PAYLOAD, f"kind: one of {', '.join(ChangeKind)}")


FIXED_FIELDS = frozenset({"customer_id", "product_id", "starts_on"})
"""What a running contract keeps: another customer, product or start is another contract."""
SCHEDULE_FIELDS = frozenset({"every", "dates", "checklist", "free_maintenance_until"})


def requested_changes(
    terms: ContractTerms,
    fields: Mapping[str, Any],
    actor: str,
    calendar_until: Callable[[date], WorkCalendar],
) -> list[ContractChange]:
    """What an edit of a running contract's record asks of its workflow: a later `ends_on`
    renews it (with the calendar `calendar_until` resolves up to the new end), a new
    schedule reschedules it; a refusal for what only a new contract can change."""
    if moved := sorted(FIXED_FIELDS.intersection(fields)):
        raise Refused(
            CONFLICT,
            f"{', '.join(moved)} of a running contract cannot change: terminate it "
            "(POST /contracts/{id}/terminate) and make a new one",
        )
    requests = []
    ends_on = fields.get("ends_on", terms.ends_on)
    if ends_on != terms.ends_on:
        if ends_on < terms.ends_on:
            raise field_refused(
                "ends_on", "a contract ends early by POST /contracts/{id}/terminate"
            )
        requests.append(
            ContractChange(
                ChangeKind.RENEW, actor, ends_on=ends_on, calendar=calendar_until(ends_on)
            )
        )
    if SCHEDULE_FIELDS.intersection(fields):
        dates = sorted(fields.get("dates", terms.dates))
        requests.append(
            ContractChange(
                ChangeKind.RESCHEDULE,
                actor,
                every=None if dates and "every" not in fields else fields.get("every", terms.every),
                dates=dates,
                checklist=fields.get("checklist", terms.checklist),
                free_maintenance_until=fields.get(
                    "free_maintenance_until", terms.free_maintenance_until
                ),
            )
        )
    return requests


def contract_status(
    starts_on: date, ends_on: date, terminated_on: date | None, today: date
) -> Literal["upcoming", "active", "ended", "terminated"]:
    """A contract on `today` (the office's day): `terminated` early, `ended`, `upcoming` or
    `active`."""
    if terminated_on is not None and terminated_on < today:
        return "terminated"
    if ends_on < today:
        return "ended"
    return "upcoming" if starts_on > today else "active"
