"""The day's reports (R27-R29, A8.10-A8.12): each technician's daily report drafted from the
day's timeline — every job with its category (the service type) and the time on site, in the
workshop and travelling, the parts used and the result — which the technician confirms (or
corrects) and the director reviews; the director's daily report rolls them up (R28); the
branch manager signs it, and it is forwarded to the service department (R29).

Pure: the daily report workflow (workflows/daily_report.py) keeps these, the activities draft
them from the read model, the API shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.escalation import Escalation
from models.lifecycle import SYSTEM_ACTOR, Action
from models.refusals import CONFLICT, FORBIDDEN, INVALID_PAYLOAD, refuse
from models.roles import Role
from models.worktime import WorkCalendar

# Who reviews a technician's report (A8.10: the service supervisor) and who signs the
# branch's report (A8.12: the manager); an admin may do either.
REVIEWING_ROLES = frozenset({Role.DIRECTOR, Role.ADMIN})
SIGNING_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
CONFIRMING_ROLES = frozenset({Role.TECHNICIAN}) | REVIEWING_ROLES
"""R27: the technician confirms their day; a reviewer may confirm on their behalf."""
# Steps that end a stretch on site.
LEAVING = frozenset({Action.RESOLVE, Action.CARRY_IN, Action.HOLD, Action.CANCEL})


@dataclass
class Step:
    """One step of a ticket's timeline, as the draft reads it."""

    ticket_id: str
    number: str
    service_type: str
    at: datetime
    action: str
    actor: str
    data: dict[str, Any]
    status: str
    """The ticket's status when the report is drafted."""


@dataclass
class Job:
    """R27: one ticket a technician worked on that day."""

    ticket_id: str
    number: str
    category: str
    """The ticket's service type (paid, warranty, contract, internal)."""
    travel_minutes: int = 0
    on_site_minutes: int = 0
    workshop_minutes: int = 0
    """The labour recorded on the repair card that day (R8)."""
    parts: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    result: str = ""
    """The ticket's status when the report was drafted."""
    note: str | None = None
    """The technician's correction, if any."""


@dataclass
class TechnicianReport:
    technician: str
    jobs: list[Job]
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None

    def totals(self) -> dict[str, int]:
        return {
            "jobs": len(self.jobs),
            "travel_minutes": sum(job.travel_minutes for job in self.jobs),
            "on_site_minutes": sum(job.on_site_minutes for job in self.jobs),
            "workshop_minutes": sum(job.workshop_minutes for job in self.jobs),
        }


@dataclass
class RollUp:
    """R28: the director's daily report: each technician's totals and the day's by category."""

    technicians: dict[str, dict[str, int]]
    categories: dict[str, dict[str, int]]
    total: dict[str, int]


@dataclass(frozen=True)
class Window:
    """A day's report covers the steps after the previous working day's end up to this one's,
    and counts working time (the branch's calendar)."""

    start: datetime
    end: datetime
    calendar: WorkCalendar


@dataclass
class DailyReportStart:
    branch: str
    day: date
    window: Window
    """Its steps and how their time counts; its end (the working day's) is when it is drafted."""
    due_at: datetime
    """R29: confirmed, reviewed and signed by then (the next working day's policy hour), or
    it escalates."""
    forward_to: list[str] = field(default_factory=lambda: [Role.VP.value])
    """The roles of the service department the signed report is forwarded to."""


@dataclass
class DailyReportState:
    branch: str
    day: date
    due_at: datetime
    technicians: list[TechnicianReport] = field(default_factory=list)
    drafted_at: datetime | None = None
    roll_up: RollUp | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None
    sign_note: str | None = None
    forwarded_at: datetime | None = None
    escalations: list[Escalation] = field(default_factory=list)
    updated_at: datetime | None = None

    @property
    def status(self) -> str:
        """drafting, no_work, awaiting_confirmation, awaiting_review, awaiting_signature,
        signed, forwarded."""
        if self.drafted_at is None:
            return "drafting"
        if not self.technicians:
            return "no_work"
        if self.forwarded_at is not None:
            return "forwarded"
        if self.signed_at is not None:
            return "signed"
        if any(report.confirmed_at is None for report in self.technicians):
            return "awaiting_confirmation"
        if any(report.reviewed_at is None for report in self.technicians):
            return "awaiting_review"
        return "awaiting_signature"

    def missing(self) -> list[str]:
        """What the report still waits for, in words (the escalation names it)."""
        waiting = [
            *(f"{r.technician}'s confirmation" for r in self.technicians if r.confirmed_at is None),
            *(
                f"the review of {r.technician}'s report"
                for r in self.technicians
                if r.confirmed_at is not None and r.reviewed_at is None
            ),
        ]
        if self.signed_at is None and self.technicians:
            waiting.append("the manager's signature")
        return waiting

    def report_of(self, technician: str) -> TechnicianReport:
        for report in self.technicians:
            if report.technician == technician:
                return report
        raise refuse(f"{technician} has no report on {self.day}", INVALID_PAYLOAD)


@dataclass
class BranchReportsStart:
    branch: str
    after: datetime | None = None
    """The end of the last day reported; None: from the start of the day it starts on."""


@dataclass
class DayAfter:
    """Which report day of `branch` comes after `after`."""

    branch: str
    after: datetime


@dataclass
class ReportProjection:
    state: DailyReportState
    workflow_id: str


@dataclass
class Correction:
    """A technician's correction of one job: the minutes as they were, and why."""

    ticket_id: str
    travel_minutes: int | None = None
    on_site_minutes: int | None = None
    workshop_minutes: int | None = None
    note: str | None = None


@dataclass
class ReportStep:
    """An update of the day's report: `confirm` (the technician, with corrections),
    `review` (the director, per technician), `sign` (the manager)."""

    actor: str
    roles: list[str]
    technician: str | None = None
    corrections: list[Correction] = field(default_factory=list)
    note: str | None = None


def report_day(
    branch: str, calendar: WorkCalendar, after: datetime, due_by: str, forward_to: list[str]
) -> DailyReportStart:
    """R27-R29: `branch`'s next day report after `after` (the previous one's end): the
    working day that ends first after it, covering the steps since; due by `due_by` ("HH:MM")
    the next working day."""
    end = calendar.day_end(after)
    zone = ZoneInfo(calendar.timezone)
    day = (end - timedelta(microseconds=1)).astimezone(zone).date()
    next_start = calendar.next_day_start(end)
    hours, minutes = (int(part) for part in due_by.split(":"))
    midnight = datetime.combine(next_start.astimezone(zone).date(), time(0), zone)
    due = max(midnight + timedelta(hours=hours, minutes=minutes), next_start)
    return DailyReportStart(branch, day, Window(after, end, calendar), due, forward_to)


def _minutes(start: datetime, end: datetime, day: Window) -> int:
    """The working minutes of [start, end) that fall in the day's window, to the nearest."""
    start, end = max(start, day.start), min(end, day.end)
    return round(day.calendar.between(start, end) / timedelta(minutes=1)) if start < end else 0


@dataclass
class _Stretch:
    """Travelling or on site, since when, and whose."""

    kind: str
    since: datetime
    technician: str


def draft(steps: Iterable[Step], day: Window) -> list[TechnicianReport]:
    """R27: each technician's jobs of the day from the tickets' steps (each ticket's steps up
    to the day's end): travelling from the dispatch to the arrival, on site from the arrival
    to leaving (resolved, carried in, on hold, cancelled), in working minutes; in the
    workshop the repair card's labour; a step is the ticket's technician's of the time,
    whoever took it for them."""
    jobs: dict[tuple[str, str], Job] = {}
    tickets: dict[str, tuple[str, str]] = {}
    technician: dict[str, str] = {}
    open_: dict[str, _Stretch] = {}

    def job(who: str, ticket: str) -> Job:
        if (who, ticket) not in jobs:
            jobs[who, ticket] = Job(ticket, *tickets[ticket])
        return jobs[who, ticket]

    def close(ticket: str, at: datetime) -> None:
        stretch = open_.pop(ticket, None)
        if stretch is not None and (minutes := _minutes(stretch.since, at, day)):
            found = job(stretch.technician, ticket)
            if stretch.kind == "travel":
                found.travel_minutes += minutes
            else:
                found.on_site_minutes += minutes

    for step in sorted(steps, key=lambda s: (s.at, s.ticket_id)):
        ticket = step.ticket_id
        tickets[ticket] = (step.number, step.service_type)
        if step.action in (Action.DISPATCH, Action.ARRIVE, *LEAVING):
            close(ticket, step.at)
        if step.action == Action.DISPATCH:
            technician[ticket] = str(step.data["technician"])
            open_[ticket] = _Stretch("travel", step.at, technician[ticket])
            continue  # the dispatcher's step: the technician's day starts with travelling
        who = technician.get(ticket)
        if who is None:
            continue
        if step.action == Action.ARRIVE:
            open_[ticket] = _Stretch("on_site", step.at, who)
        if day.start < step.at <= day.end and step.actor != SYSTEM_ACTOR:
            found = job(who, ticket)
            found.steps.append(step.action)
            found.result = step.status
            found.parts += step.data.get("parts") or []
            if step.action == Action.RECORD_REPAIR:
                found.workshop_minutes += int(step.data.get("labor_minutes") or 0)
    for ticket in list(open_):  # still travelling or on site when the day ends
        close(ticket, day.end)
    by_technician: dict[str, list[Job]] = {}
    for (who, _), found in sorted(jobs.items()):
        by_technician.setdefault(who, []).append(found)
    return [TechnicianReport(who, found) for who, found in by_technician.items()]


def roll_up(reports: list[TechnicianReport]) -> RollUp:
    """R28: the branch's day, per technician and per category."""
    categories: dict[str, dict[str, int]] = {}
    for report in reports:
        for job in report.jobs:
            sums = categories.setdefault(job.category, dict.fromkeys(report.totals(), 0))
            sums["jobs"] += 1
            sums["travel_minutes"] += job.travel_minutes
            sums["on_site_minutes"] += job.on_site_minutes
            sums["workshop_minutes"] += job.workshop_minutes
    technicians = {report.technician: report.totals() for report in reports}
    total = {
        name: sum(sums[name] for sums in technicians.values())
        for name in ("jobs", "travel_minutes", "on_site_minutes", "workshop_minutes")
    }
    return RollUp(technicians, dict(sorted(categories.items())), total)


def check_confirm(state: DailyReportState, step: ReportStep) -> TechnicianReport:
    """A technician confirms their own report (a director or admin for them), once, before
    the signature; corrections name jobs of the report."""
    _not_signed(state)
    who = step.technician or step.actor
    if who != step.actor and not REVIEWING_ROLES.intersection(step.roles):
        raise refuse(f"only {who} (or a director) confirms {who}'s report", FORBIDDEN)
    report = state.report_of(who)
    if report.confirmed_at is not None:
        raise refuse(f"{who}'s report was confirmed by {report.confirmed_by}", CONFLICT)
    known = {job.ticket_id for job in report.jobs}
    for correction in step.corrections:
        if correction.ticket_id not in known:
            raise refuse(
                f"corrections: {correction.ticket_id} is not in the report", INVALID_PAYLOAD
            )
    return report


def check_review(state: DailyReportState, step: ReportStep) -> TechnicianReport:
    """A.8.10: the director reviews a confirmed technician report, once."""
    _not_signed(state)
    _needs(step, REVIEWING_ROLES, "reviewing a technician's report")
    report = state.report_of(step.technician or "")
    if report.confirmed_at is None:
        raise refuse(f"{report.technician} has not confirmed the report yet", CONFLICT)
    if report.reviewed_at is not None:
        raise refuse(f"{report.technician}'s report was reviewed by {report.reviewed_by}", CONFLICT)
    return report


def check_sign(state: DailyReportState, step: ReportStep) -> None:
    """R29: the manager signs the director's report once every technician report is
    confirmed and reviewed."""
    _not_signed(state)
    _needs(step, SIGNING_ROLES, "signing the branch's daily report")
    if state.roll_up is None:
        raise refuse(f"the report waits for {', '.join(state.missing()[:-1])}", CONFLICT)


def _not_signed(state: DailyReportState) -> None:
    if not state.technicians:
        raise refuse(f"nobody of branch {state.branch} worked on {state.day}", CONFLICT)
    if state.signed_at is not None:
        raise refuse(f"the report was signed by {state.signed_by}", CONFLICT)


def _needs(step: ReportStep, roles: frozenset[Role], what: str) -> None:
    if not roles.intersection(step.roles):
        needed = " or ".join(sorted(roles))
        raise refuse(f"{what} needs the role {needed}", FORBIDDEN)


def apply_corrections(report: TechnicianReport, corrections: list[Correction]) -> None:
    jobs = {job.ticket_id: job for job in report.jobs}
    for correction in corrections:
        job = jobs[correction.ticket_id]
        for name in ("travel_minutes", "on_site_minutes", "workshop_minutes"):
            if (value := getattr(correction, name)) is not None:
                setattr(job, name, value)
        job.note = correction.note or job.note
