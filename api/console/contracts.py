"""The contracts' calendar (issue 15, R31, R32, R35): one month of every contract's events on
the office calendar — inspections, follow-up visits, visit notices, expiry notices and renewal
visits, sales warnings, and the day each contract ends — in a grid of weeks, Monday first,
and below it (instead of it, on a phone) as a list by day.

Each contract's events are those of `GET /contracts/{id}/calendar` (`api/contract_commands.py`
`calendar`, with what was done: a job done links to its ticket); the console computes none
of them. That takes a query of each running contract's workflow, so a month shows at most
`SHOWN` contracts, and says so when there are more."""

from __future__ import annotations

import asyncio
import calendar as months
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api import contract_commands
from api.console import labels
from api.console.auth import ConsoleUser
from api.console.i18n import _
from api.console.pages import CONTRACTS, console_router, render, require
from api.deps import OfficeDay, Services, ServicesDep
from models.contract import ContractTerms, EventKind, last_day
from models.policy import OFFICE_CALENDAR, Policy
from models.worktime import WorkCalendar
from store import catalog
from store import contracts as contract_store

router = console_router()
SHOWN = 60
"""Contracts a month's page shows: each is a query of its workflow."""
Month = Annotated[str | None, Query(pattern=r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$")]
ENDS = "contract_end"
"""The day a contract ends (its last day, or the day it was terminated)."""
EVENT_KINDS = {
    EventKind.INSPECTION: _("Inspection"),
    EventKind.FOLLOW_UP: _("Follow-up visit"),
    EventKind.VISIT_NOTICE: _("Visit notice"),
    EventKind.EXPIRY_NOTICE: _("Expiry notice"),
    EventKind.RENEWAL_VISIT: _("Renewal visit"),
    EventKind.SALES_WARNING: _("Sales warning"),
    ENDS: _("Contract ends"),
}
EVENT_STATUSES = {"upcoming": _("Upcoming"), "done": _("Done"), "missed": _("Missed")}


@dataclass(frozen=True)
class Event:
    """One event of a contract on the page: what, on which day, for whom."""

    kind: str
    on: date
    status: str | None
    """`upcoming`, `done` or `missed` (as the API says); None for the contract's end."""
    terms: ContractTerms
    ticket_id: str | None = None


@dataclass
class Day:
    """A day of the grid: whether it is of the month shown and an office working day."""

    on: date
    in_month: bool
    working: bool
    today: bool
    events: list[Event] = field(default_factory=list)


def first_of(month: str | None, today: date) -> date:
    """The first day of `month` (YYYY-MM), or of this month in the office."""
    if month is None:
        return today.replace(day=1)
    year, number = month.split("-")
    return date(int(year), int(number), 1)


def last_of(first: date) -> date:
    return first.replace(day=months.monthrange(first.year, first.month)[1])


def shifted(first: date, count: int) -> str:
    """The month `count` months from `first`, as YYYY-MM."""
    index = first.year * 12 + first.month - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def office_calendar(policy: Policy, first: date) -> WorkCalendar:
    """The office's working days around the month (any calendar if the policy has no office)."""
    name = OFFICE_CALENDAR if OFFICE_CALENDAR in policy.calendars else next(iter(policy.calendars))
    return policy.calendar_near(name, datetime(first.year, first.month, 15))


def _in_month(
    app: Services, first: date, last: date
) -> tuple[list[tuple[ContractTerms, bool]], int]:
    """The terms of the contracts running some day of the month (at most SHOWN, those that
    started latest) with whether their workflow runs, and how many contracts run."""
    with app.session() as db:
        running, total = catalog.contracts_running(db, first, last, SHOWN)
        shown = [
            (contract_store.contract_terms(db, app.policy, row), row.workflow_started)
            for row in running
        ]
        return shown, total


async def _events_of(app: Services, terms: ContractTerms, running: bool) -> list[Event]:
    """The contract's events as `GET /contracts/{id}/calendar?past=true` answers, and its end."""
    found = await contract_commands.calendar(app.temporal, terms, running, past=True)
    events = [Event(e.kind, e.on, e.status, terms, e.ticket_id) for e in found]
    return [*events, Event(ENDS, last_day(terms), None, terms)]


async def month_events(app: Services, first: date) -> tuple[list[Event], int, int]:
    """Every event of the month's contracts (oldest first), how many contracts are shown,
    and how many run that month."""
    last = last_of(first)
    shown, total = await run_in_threadpool(_in_month, app, first, last)
    found = await asyncio.gather(*(_events_of(app, terms, runs) for terms, runs in shown))
    events = [e for events in found for e in events if first <= e.on <= last]
    return sorted(events, key=lambda e: (e.on, e.kind, e.terms.number)), len(shown), total


def weeks(first: date, today: date, office: WorkCalendar, events: list[Event]) -> list[list[Day]]:
    """The month's grid: whole weeks, Monday first, each day with its events."""
    by_day: dict[date, list[Event]] = defaultdict(list)
    for event in events:
        by_day[event.on].append(event)
    grid = months.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return [
        [
            Day(d, d.month == first.month, office.is_working_day(d), d == today, by_day[d])
            for d in week
        ]
        for week in grid
    ]


@router.get("/contracts")
async def contracts_calendar(
    request: Request, app: ServicesDep, user: ConsoleUser, today: OfficeDay, month: Month = None
) -> Response:
    """The month's calendar of every contract's events (R31, R32, R35); `month` is YYYY-MM,
    this month in the office by default."""
    require(user, CONTRACTS)
    first = first_of(month, today)
    events, shown, total = await month_events(app, first)
    grid = weeks(first, today, office_calendar(app.policy, first), events)
    days = [day for week in grid for day in week if day.in_month and day.events]
    contracts = {e.terms.contract_id: e.terms for e in events}
    context = {
        "active": CONTRACTS.key,
        "month": first,
        "previous": shifted(first, -1),
        "next": shifted(first, 1),
        "this_month": shifted(today.replace(day=1), 0),
        "weekdays": labels.WEEKDAYS,
        "grid": grid,
        "days": days,
        "contracts": sorted(contracts.values(), key=lambda terms: terms.number),
        "shown": shown,
        "total": total,
        "event_kinds": EVENT_KINDS,
        "event_statuses": EVENT_STATUSES,
    }
    return render(request, "console/contracts.html", context)
