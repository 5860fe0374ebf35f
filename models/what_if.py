"""Policy what-if (R12-R16 under another policy): what the deadlines and escalations of real
tickets would have been under a candidate policy — its calendars and holidays, zones and
arrival hours, warning fraction, the same-day rule — recomputed from their recorded instants
(call-in, dispatch, holds, arrival, resolution, end) exactly as the ticket workflow keeps them
(workflows/ticket.py), and set beside what happened. Pure: nothing about a ticket changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from models.deadlines import arrival_deadline, resume
from models.escalation import EscalationKind
from models.policy import Policy, service_clock
from models.refusals import field_refused
from models.ticket import ServiceClock

K = EscalationKind
POLICY_KINDS = (K.ARRIVAL_WARNING, K.ARRIVAL_OVERDUE, K.CARRIED_OVER, K.UNRESOLVED_SAME_DAY)
"""The escalations a policy's calendars and deadlines decide (a repair's promised date, a
complaint or an approval are not the policy's timing)."""


@dataclass
class Recorded:
    """One ticket as it happened: its instants, and its deadline and escalations then."""

    ticket_id: str
    zone: str
    created_at: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    done_at: datetime | None
    """Resolved, closed or cancelled: done for the day (R14, R15)."""
    cancelled: bool
    holds: list[tuple[datetime, datetime | None]]
    """R12: each hold's start and resume (None: still on hold), oldest first."""
    arrival_due_at: datetime | None
    escalations: list[str]
    contract_hours: float | None = None
    """R13: the contract's own arrival hours, which no policy changes."""


@dataclass
class Outcome:
    """A ticket under one policy: its arrival deadline and what escalated."""

    due_at: datetime | None
    arrival: str
    """`met`, `missed` or `pending` (still within its deadline), `none` without one."""
    escalations: list[str] = field(default_factory=list)


def actual(ticket: Recorded, now: datetime) -> Outcome:
    """What happened: the recorded deadline and the policy's escalations raised."""
    kinds = [kind for kind in ticket.escalations if kind in POLICY_KINDS]
    return Outcome(ticket.arrival_due_at, _arrival(ticket, ticket.arrival_due_at, now), kinds)


def simulate(ticket: Recorded, clock: ServiceClock, now: datetime) -> Outcome:
    """What `clock` (the candidate's terms for the ticket's zone) would have made of it: the
    arrival timers run while the ticket waits for its technician and is not on hold; a
    resume moves them by the working time the hold paused (R12); the end of the call-in's
    working day carries an undispatched ticket over (R14) and reports an unresolved one
    (R15)."""
    deadline = arrival_deadline(clock, ticket.created_at)
    due, warning = deadline.due_at, deadline.warning_at
    leaves = min((t for t in (ticket.arrived_at, ticket.done_at) if t), default=now)
    raised: list[str] = []

    def timers_run_until(end: datetime) -> None:
        end = min(end, leaves, now)
        if K.ARRIVAL_WARNING not in raised and warning < end:
            raised.append(K.ARRIVAL_WARNING)
        if K.ARRIVAL_WARNING in raised and K.ARRIVAL_OVERDUE not in raised and due < end:
            raised.append(K.ARRIVAL_OVERDUE)

    still_held = False
    for since, until in ticket.holds:
        if since >= leaves:
            break
        timers_run_until(since)
        if until is None:
            still_held = True
            break
        moved = resume(clock, since, until, due, warning, K.ARRIVAL_OVERDUE in raised)
        due, warning = moved.due_at or due, moved.warning_at or warning
    if not still_held:
        timers_run_until(leaves)
    day_end = clock.calendar.day_end(ticket.created_at)
    if day_end <= now and (ticket.done_at is None or ticket.done_at > day_end):
        if ticket.dispatched_at is None or ticket.dispatched_at > day_end:
            raised.append(K.CARRIED_OVER)  # R14
        raised.append(K.UNRESOLVED_SAME_DAY)  # R15
    return Outcome(due, _arrival(ticket, due, now), raised)


def _arrival(ticket: Recorded, due: datetime | None, now: datetime) -> str:
    if due is None:
        return "none"
    if ticket.arrived_at is not None:
        return "met" if ticket.arrived_at <= due else "missed"
    if ticket.cancelled:
        return "none"
    return "pending" if due > now else "missed"


@dataclass
class Summary:
    """A policy's figures over the period's tickets."""

    tickets: int = 0
    arrival_met: int = 0
    arrival_missed: int = 0
    escalations: dict[str, int] = field(default_factory=dict)

    @property
    def arrival_compliance(self) -> float | None:
        whole = self.arrival_met + self.arrival_missed
        return round(self.arrival_met / whole, 4) if whole else None

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Summary:
        kinds = Counter(kind for outcome in outcomes for kind in outcome.escalations)
        return cls(
            tickets=len(outcomes),
            arrival_met=sum(outcome.arrival == "met" for outcome in outcomes),
            arrival_missed=sum(outcome.arrival == "missed" for outcome in outcomes),
            escalations={kind.value: kinds.get(kind.value, 0) for kind in POLICY_KINDS},
        )


@dataclass
class Changed:
    """A ticket the candidate would have treated differently."""

    ticket_id: str
    actual: Outcome
    candidate: Outcome


@dataclass
class Comparison:
    actual: Summary
    candidate: Summary
    changed: list[Changed]

    def summaries(self) -> tuple[Summary, Summary]:
        return self.actual, self.candidate


def compare(tickets: list[Recorded], candidate: Policy, now: datetime) -> Comparison:
    """What happened beside what `candidate` would have made of the same tickets; refused
    when the candidate lacks a zone the tickets were called in for."""
    missing = sorted({ticket.zone for ticket in tickets} - set(candidate.zones))
    if missing:
        raise field_refused(
            "policy",
            f"the candidate policy has no zone {', '.join(missing)}: the period's "
            "tickets were called in for it",
        )
    before, after, changed = [], [], []
    for ticket in tickets:
        clock = service_clock(candidate, ticket.zone, ticket.created_at, ticket.contract_hours)
        happened, would = actual(ticket, now), simulate(ticket, clock, now)
        before.append(happened)
        after.append(would)
        if (happened.due_at, happened.arrival, sorted(happened.escalations)) != (
            would.due_at,
            would.arrival,
            sorted(would.escalations),
        ):
            changed.append(Changed(ticket.ticket_id, happened, would))
    return Comparison(Summary.of(before), Summary.of(after), changed)
