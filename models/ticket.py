"""The ticket workflow's state and messages: plain dataclasses, safe in the workflow sandbox.

Every update takes one input dataclass and returns one result, so fields can be added later
without breaking running workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from models.approvals import ApprovalTerms
from models.escalation import Escalation
from models.lifecycle import TERMINAL, Action, Status, TicketFacts
from models.messages import NotifyTerms
from models.work_order import WorkOrder
from models.worktime import WorkCalendar


class Channel(StrEnum):
    """How a call came in (R3)."""

    PHONE = "phone"
    LETTER = "letter"
    WEB = "web"
    EMAIL = "email"
    WALK_IN = "walk_in"
    INTERNAL = "internal"


class InternalCategory(StrEnum):
    """R1: administrative work not tied to a customer call."""

    INSPECTION = "inspection"
    PARTS_HANDLING = "parts_handling"
    TOOL_MAINTENANCE = "tool_maintenance"
    TRAINING = "training"


@dataclass
class Customer:
    name: str
    phone: str
    address: str
    email: str | None = None

    @property
    def is_someone(self) -> bool:
        """False for an internal job's stand-in (R1: the company's own work has no customer)."""
        return self.phone != NO_CUSTOMER_PHONE


NO_CUSTOMER_PHONE = "00000"
"""The phone of an internal job's stand-in customer."""


@dataclass
class Product:
    model: str
    serial_no: str | None = None


@dataclass
class CallIn:
    """What the clerk registers (R3)."""

    customer: Customer
    product: Product
    zone: str
    problem: str
    channel: str


@dataclass
class BillingTerms:
    """The billing policy in force at call-in; a later policy change does not touch it."""

    hourly_rate: Decimal
    small_fee_threshold: Decimal
    max_line_amount: Decimal = Decimal("100000.00")
    max_ticket_amount: Decimal = Decimal("1000000.00")


@dataclass
class ServiceClock:
    """R12–R15: the zone's deadline terms in force at call-in; a later policy change does not
    move a ticket's deadlines."""

    calendar: WorkCalendar
    arrival_hours: float
    warning_fraction: float = 0.8


@dataclass
class SurveyTerms:
    """R22, A2: the policy's survey and complaint timing in force at call-in."""

    delay_hours: float = 24
    reminder_hours: float = 48
    expiry_hours: float = 168
    repeat_window_days: int = 90


@dataclass
class Hold:
    """R12: the customer cannot receive the technician; the arrival clock is paused."""

    since: datetime
    reason: str
    by: str


@dataclass
class Registration:
    """What registration found (R2, R3): the ticket's number and its entitlement."""

    number: str
    service_type: str
    evidence: dict[str, Any] = field(default_factory=dict)
    covers_labor: bool = False
    covers_parts: bool = False
    customer_id: int | None = None
    """The customer's one record, found by phone or made from the call."""


@dataclass
class ProductReceipt:
    """R7: given to the customer for a carried-in product; voided on return (R8)."""

    number: str
    issued_at: datetime
    promised_by: datetime
    voided_at: datetime | None = None


@dataclass
class Inspection:
    """R32: a contract inspection's checklist and, once recorded, each item's result; a
    fault opens a repair ticket."""

    checklist: list[str]
    results: list[dict[str, Any]] = field(default_factory=list)
    recorded_by: str | None = None
    recorded_at: datetime | None = None
    repair_ticket: str | None = None
    repair_clock: ServiceClock | None = None
    """R13: the deadline terms of the repair ticket a fault opens (the contract's)."""


@dataclass
class RepairRound:
    """One round on the repair card (R8): actual labour and parts, then the inspection."""

    round: int
    labor_minutes: int
    parts: list[dict[str, Any]]
    notes: str
    recorded_by: str
    recorded_at: datetime
    fee: Decimal
    inspection_passed: bool | None = None
    inspection_notes: str | None = None
    inspected_by: str | None = None
    inspected_at: datetime | None = None


@dataclass
class InvoiceRequest:
    ticket_id: str
    ticket_number: str
    amount: Decimal
    lines: list[dict[str, Any]]
    issued_at: datetime
    timezone: str = "UTC"
    """The office calendar's zone: the invoice's year is the local year (R21)."""


@dataclass
class Invoice:
    """R21: issued once per chargeable job, numbered without gaps per year."""

    number: str
    amount: Decimal
    issued_at: datetime
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Payment:
    amount: Decimal
    method: str
    recorded_by: str
    recorded_at: datetime


@dataclass
class TicketStart:
    ticket_id: str
    call_in: CallIn
    registered_by: str
    terms: BillingTerms
    fingerprint: str
    service_type: str = "paid"
    clock: ServiceClock | None = None
    """None for tickets called in before deadlines existed."""
    survey: SurveyTerms | None = None
    approval_terms: ApprovalTerms | None = None
    """R17-R20; None for tickets called in before work orders existed."""
    branch: str | None = None
    """The branch its zone belongs to at call-in (the policy's); its reports are that branch's."""
    notify: NotifyTerms | None = None
    """Issue 14: what its customer hears of; None for tickets called in before."""
    checklist: list[str] | None = None
    """R32: a contract inspection's checklist, recorded item by item on site."""
    repair_clock: ServiceClock | None = None
    """R13: the arrival terms of a repair ticket the inspection's faults open."""
    resumed: TicketState | None = None
    """The whole state, when the ticket continues as new."""


@dataclass
class RegisterRequest:
    """Sent with the start (update-with-start): answers with the ticket once registered."""

    fingerprint: str


@dataclass
class ActionRequest:
    action: str
    actor: str
    roles: list[str]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TimelineEntry:
    """One step of the ticket (R11): who, when, what."""

    seq: int
    at: datetime
    action: str
    actor: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Milestones:
    """R30: the instants and counts the KPIs read, kept as the steps happen (the timeline
    keeps only its latest steps)."""

    dispatched_at: datetime | None = None
    """The first dispatch."""
    dispatches: int = 0
    """1 + the re-dispatches."""
    arrived_at: datetime | None = None
    """The first arrival on site."""
    arrival_minutes: int | None = None
    """Working minutes from the call-in to the first arrival (the ticket's calendar)."""
    carried_in: bool = False
    resolved_at: datetime | None = None
    resolution_minutes: int | None = None
    """Working minutes from the call-in to the resolution."""
    ended_at: datetime | None = None
    """Closed or cancelled."""

    def step(
        self, action: str, status: Status, at: datetime, since: datetime, days: WorkCalendar | None
    ) -> None:
        """Notes one step taken at `at` on a ticket called in at `since`."""

        def worked() -> int | None:
            return None if days is None else days.between(since, at) // timedelta(minutes=1)

        if action == Action.DISPATCH:
            self.dispatches += 1
            self.dispatched_at = self.dispatched_at or at
        elif action == Action.ARRIVE and self.arrived_at is None:
            self.arrived_at, self.arrival_minutes = at, worked()
        elif action == Action.CARRY_IN:
            self.carried_in = True
        if status is Status.RESOLVED and self.resolved_at is None:
            self.resolved_at, self.resolution_minutes = at, worked()
        if status in TERMINAL and self.ended_at is None:
            self.ended_at = at


@dataclass
class TicketState:
    """All of a ticket's durable state; continue-as-new passes it on whole."""

    ticket_id: str
    call_in: CallIn
    service_type: str
    terms: BillingTerms
    fingerprint: str
    created_at: datetime
    updated_at: datetime
    status: Status = Status.REGISTERED
    number: str | None = None
    technician: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    covers_labor: bool = False
    covers_parts: bool = False
    amount_due: Decimal = Decimal("0.00")
    amount_paid: Decimal = Decimal("0.00")
    receipt: ProductReceipt | None = None
    repair_rounds: list[RepairRound] = field(default_factory=list)
    invoice: Invoice | None = None
    payments: list[Payment] = field(default_factory=list)
    arrival_due_at: datetime | None = None
    arrival_warning_at: datetime | None = None
    hold: Hold | None = None
    carried_over_at: datetime | None = None
    priority: int = 0
    """1 while a carried-over ticket waits for dispatch (R14): top of the dispatch list."""
    resolution_promised_by: datetime | None = None
    escalations: list[Escalation] = field(default_factory=list)
    survey_started: bool = False
    timezone: str = "UTC"
    """The zone of the ticket's calendar: its number's year and entitlement date are local."""
    work_order: WorkOrder | None = None
    inspection: Inspection | None = None
    """R17-R20: quotation, parts, discount, responsibility, approvals."""
    timeline: list[TimelineEntry] = field(default_factory=list)
    """Every step so far: the read model can be rebuilt from the state alone."""
    branch: str | None = None
    milestones: Milestones = field(default_factory=Milestones)
    customer_id: int | None = None
    seq: int = 0

    def facts(self) -> TicketFacts:
        """What the ticket's allowed steps depend on besides its status."""
        order = self.work_order
        inspection = self.inspection
        checklist_open = inspection is not None and inspection.recorded_at is None
        if order is None:
            return TicketFacts(on_hold=self.hold is not None, checklist_open=checklist_open)
        quotation = order.quotation
        offered = quotation is not None and quotation.status == "offered"
        return TicketFacts(
            on_hold=self.hold is not None,
            money_rules=True,
            quote_pending=order.quotation_required(self.service_type)
            and self.status is Status.CARRIED_IN
            and (quotation is None or offered),
            quoted=offered,
            responsibility_pending=self.service_type == "warranty" and order.responsibility is None,
            invoice_waiting=order.held_invoice is not None,
            paid=self.service_type == "paid",
            claim=order.warranty_claims(self.service_type),
            checklist_open=checklist_open,
        )


@dataclass
class Projection:
    """The state after a step and the timeline entry of that step, for the read model; with
    the entries of steps taken with it (a resolution, before the close it led to)."""

    state: TicketState
    entry: TimelineEntry
    earlier: list[TimelineEntry] = field(default_factory=list)
