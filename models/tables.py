"""SQLModel tables: users, the read model of tickets (their timeline, workshop papers, invoices,
payments, escalations, approvals, surveys, complaints), the tickets' attachments, the
notifications outbox, the records behind the entitlement check (customers, products,
contracts) and the parts store (its price list, stock and every movement, R19)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from pydantic_core import to_jsonable_python
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Numeric,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models.lifecycle import TicketFacts
from models.ticket import TicketState


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kwargs))


def _money() -> Any:
    return Field(default=Decimal("0.00"), sa_column=Column(Numeric(12, 2), nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"

    username: str = Field(primary_key=True, max_length=64)
    full_name: str = Field(max_length=200)
    password_hash: str
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    branch: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Bumped when the password changes or the user is deactivated: older tokens stop working."""


class TicketRecord(SQLModel, table=True):
    """The read model of one ticket: a projection of its workflow, never ahead of it."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_technician", "technician"),
        Index("ix_tickets_customer_phone", "customer_phone"),
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_priority_created", "priority", "created_at"),
        Index("ix_tickets_branch_created", "branch", "created_at"),
        Index("ix_tickets_customer_created", "customer_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    number: str = Field(unique=True, max_length=32)
    seq: int
    status: str = Field(max_length=32)
    service_type: str = Field(max_length=16)
    zone: str = Field(max_length=64)
    customer_id: int | None = Field(default=None, foreign_key="customers.id")
    """The customer's one record, found by phone at call-in (or made from the call)."""
    customer_name: str
    customer_phone: str = Field(max_length=64)
    customer_address: str
    product_model: str
    product_serial_no: str | None = None
    problem: str
    channel: str = Field(max_length=32)
    technician: str | None = Field(default=None, max_length=64)
    arrival_due_at: datetime | None = _when(nullable=True)
    priority: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    hold: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    carried_over_at: datetime | None = _when(nullable=True)
    resolution_promised_by: datetime | None = _when(nullable=True)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    invoice: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    work_order: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    inspection: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """R32: a contract inspection's checklist and results, and the repair a fault opened."""
    """R17-R20: quotation, parts, discount, responsibility, deposit and the ticket's facts;
    None for tickets called in before work orders existed."""
    amount_due: Decimal = _money()
    amount_paid: Decimal = _money()
    registered_by: str = Field(max_length=64)
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)
    # R30: the milestones the KPIs read (models/ticket.py `Milestones`).
    branch: str | None = Field(default=None, max_length=100)
    dispatched_at: datetime | None = _when(nullable=True)
    dispatches: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    arrived_at: datetime | None = _when(nullable=True)
    arrival_minutes: int | None = None
    carried_in: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    resolved_at: datetime | None = _when(nullable=True)
    resolution_minutes: int | None = None
    ended_at: datetime | None = _when(nullable=True)


class TimelineRecord(SQLModel, table=True):
    """One step of a ticket: who did what, when (R11)."""

    __tablename__ = "ticket_timeline"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_timeline_ticket_seq"),
        # R36: the day's or period's steps of one kind (the parts used in resolutions).
        Index("ix_timeline_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id", max_length=64)
    seq: int
    at: datetime = _when(nullable=False)
    action: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PartUsageRecord(SQLModel, table=True):
    """R36: one part line of an on-site resolution or a workshop repair round, with the
    product model it went into: what the quality department adds up by model and part."""

    __tablename__ = "part_usage"
    __table_args__ = (Index("ix_part_usage_used_at", "used_at", "branch"),)

    ticket_id: str = Field(foreign_key="tickets.id", primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    """The step's sequence number on the ticket."""
    line: int = Field(primary_key=True)
    part_no: str = Field(max_length=200)
    qty: int
    product_model: str
    branch: str | None = Field(default=None, max_length=100)
    used_at: datetime = _when(nullable=False)


class TicketTechnicianRecord(SQLModel, table=True):
    """Every technician a ticket was ever assigned to (R4): they may read it for good."""

    __tablename__ = "ticket_technicians"
    __table_args__ = (Index("ix_ticket_technicians_technician", "technician", "ticket_id"),)

    ticket_id: str = Field(foreign_key="tickets.id", primary_key=True, max_length=64)
    technician: str = Field(primary_key=True, max_length=64)


class Counter(SQLModel, table=True):
    """Gapless sequences, one row per name (ticket numbers per year)."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True, max_length=64)
    value: int = 0


class ProductReceiptRecord(SQLModel, table=True):
    """R7: the receipt a customer holds for a carried-in product; voided on return (R8)."""

    __tablename__ = "product_receipts"

    number: str = Field(primary_key=True, max_length=40)
    ticket_id: str = Field(foreign_key="tickets.id", unique=True, max_length=64)
    issued_at: datetime = _when(nullable=False)
    promised_by: datetime = _when(nullable=False)
    voided_at: datetime | None = _when(nullable=True)


class RegisterRecord(SQLModel, table=True):
    """R7, R8: the product in/out register: when a product entered and left the workshop."""

    __tablename__ = "product_register"
    __table_args__ = (Index("ix_product_register_in", "checked_in_at"),)

    ticket_id: str = Field(foreign_key="tickets.id", primary_key=True, max_length=64)
    receipt_number: str = Field(max_length=40)
    ticket_number: str = Field(max_length=32)
    customer_name: str
    product_model: str
    product_serial_no: str | None = None
    checked_in_at: datetime = _when(nullable=False)
    checked_out_at: datetime | None = _when(nullable=True)


class RepairRoundRecord(SQLModel, table=True):
    """R8: one round on a repair card: labour, parts, and the supervisor's inspection."""

    __tablename__ = "repair_card_rounds"

    ticket_id: str = Field(foreign_key="tickets.id", primary_key=True, max_length=64)
    round: int = Field(primary_key=True)
    labor_minutes: int
    parts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    notes: str
    fee: Decimal = _money()
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _when(nullable=False)
    inspection_passed: bool | None = None
    inspection_notes: str | None = None
    inspected_by: str | None = Field(default=None, max_length=64)
    inspected_at: datetime | None = _when(nullable=True)


class AttachmentRecord(SQLModel, table=True):
    """Issue 14: a photo or document attached to a ticket, about the ticket itself, one of
    its repair rounds, an inspection or one of its complaints. The bytes are in the file store
    (store/files.py) under `sha256`; they are not in any workflow, so a rebuilt read model
    keeps these rows as they are."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket", "ticket_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id", max_length=64)
    about: str = Field(max_length=16)
    """`ticket`, `round`, `inspection` or `complaint` (models/attachments.py `About`)."""
    ref: str | None = Field(default=None, max_length=32)
    """The round's number (a round, a round's inspection) or the complaint's id; None for
    the ticket, and for the inspection of a contract's ticket (R32)."""
    filename: str = Field(max_length=200)
    """The name the uploader's file had, made safe (models/attachments.py `safe_filename`);
    never a storage path."""
    content_type: str = Field(max_length=64)
    """What its first bytes say it is, not what the client claimed."""
    size: int
    sha256: str = Field(max_length=71)
    """Its key in the file store: `sha256/<hex digest of its bytes>`."""
    note: str | None = None
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = _when(nullable=False)


class InvoiceRecord(SQLModel, table=True):
    """R21: one invoice per chargeable job, numbered without gaps per year."""

    __tablename__ = "invoices"

    number: str = Field(primary_key=True, max_length=32)
    ticket_id: str = Field(foreign_key="tickets.id", unique=True, max_length=64)
    year: int = Field(index=True)
    amount: Decimal = _money()
    lines: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    issued_at: datetime = _when(nullable=False)


class PaymentRecord(SQLModel, table=True):
    """R21: a payment recorded against a ticket's invoice."""

    __tablename__ = "payments"

    ticket_id: str = Field(foreign_key="tickets.id", primary_key=True, max_length=64)
    position: int = Field(primary_key=True)
    amount: Decimal = _money()
    method: str = Field(max_length=64)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _when(nullable=False)


class EscalationRecord(SQLModel, table=True):
    """R16: an escalation, open until acknowledged; owned by the workflow that raised it."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_open", "acknowledged_at", "raised_at"),
        Index("ix_escalations_ticket", "ticket_id", "acknowledged_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    ticket_id: str = Field(max_length=64)
    workflow_id: str = Field(max_length=128)
    owner_role: str = Field(max_length=32)
    notify_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    raised_at: datetime = _when(nullable=False)
    due_at: datetime | None = _when(nullable=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    acknowledged_at: datetime | None = _when(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=64)


class ApprovalRecord(SQLModel, table=True):
    """R17-R20: one approval a ticket asked for, and its decision; owned by the ticket's
    workflow."""

    __tablename__ = "approvals"
    __table_args__ = (
        Index("ix_approvals_status_requested", "status", "requested_at"),
        Index("ix_approvals_ticket", "ticket_id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    ticket_id: str = Field(max_length=64)
    ticket_number: str = Field(max_length=32)
    workflow_id: str = Field(max_length=128)
    requested_by: str = Field(max_length=64)
    requested_at: datetime = _when(nullable=False)
    amount: Decimal = _money()
    reason: str
    approver_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    due_at: datetime | None = _when(nullable=True)
    status: str = Field(max_length=16)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _when(nullable=True)
    note: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class NotificationRecord(SQLModel, table=True):
    """The outbox of notifications: one row per message and recipient, so a retried send
    skips the recipients who already have it (R16: notified once)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key", "channel", "recipient", name="uq_notifications_key_recipient"),
        # The backlog (docs/operations.md): pending rows counted without reading sent ones.
        Index("ix_notifications_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=254)
    subject: str
    status: str = Field(max_length=16)
    created_at: datetime = _when(nullable=False)
    sent_at: datetime | None = _when(nullable=True)


class SurveyRecord(SQLModel, table=True):
    """R22, R23: the survey card of one resolved ticket, its token and its answer."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_technician_sent", "technician", "sent_at"),)

    ticket_id: str = Field(primary_key=True, max_length=64)
    ticket_number: str = Field(max_length=32)
    workflow_id: str = Field(max_length=128)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    """SHA-256 of the customer's secret link token: the token itself is never stored."""
    status: str = Field(max_length=16)
    technician: str | None = Field(default=None, max_length=64)
    service_type: str = Field(max_length=16)
    customer_name: str
    customer_phone: str = Field(max_length=64)
    customer_email: str | None = Field(default=None, max_length=254)
    product_model: str
    product_serial_no: str | None = None
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scheduled_for: datetime = _when(nullable=False)
    sent_at: datetime | None = _when(nullable=True)
    reminded_at: datetime | None = _when(nullable=True)
    expires_at: datetime | None = _when(nullable=True)
    answered_at: datetime | None = _when(nullable=True)
    attitude: int | None = None
    skill: int | None = None
    arrival_time: int | None = None
    promise_keeping: int | None = None
    comment: str | None = None
    complaint: str | None = None
    complaint_id: str | None = Field(default=None, max_length=32)
    updated_at: datetime = _when(nullable=False)


class ComplaintRecord(SQLModel, table=True):
    """R25, R26: a complaint, its triage, the VP's review, the reply and the visit."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_customer", "customer_phone", "received_at"),
        Index("ix_complaints_technician", "technician", "received_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    ticket_id: str = Field(max_length=64, index=True)
    ticket_number: str = Field(max_length=32)
    workflow_id: str = Field(max_length=128)
    customer_name: str
    customer_phone: str = Field(max_length=64)
    product_model: str
    product_serial_no: str | None = None
    technician: str | None = Field(default=None, max_length=64)
    text: str
    received_via: str = Field(max_length=16)
    recorded_by: str = Field(max_length=64)
    received_at: datetime = _when(nullable=False)
    repeated: bool = False
    previous_complaint_id: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=16)
    severity: str | None = Field(default=None, max_length=16)
    triage: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    vp_review: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reply: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    visit: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    closed_at: datetime | None = _when(nullable=True)
    closed_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime = _when(nullable=False)


def _stamp() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CustomerRecord(SQLModel, table=True):
    """A customer: whom a product belongs to (R2)."""

    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=64, index=True)
    address: str
    safety_agreement_required: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()}
    )
    """R33: no technician enters this customer's site without a valid safety agreement."""
    email: str | None = Field(default=None, max_length=254)
    language: str = Field(default="zh", max_length=8, sa_column_kwargs={"server_default": "zh"})
    """The language their messages and documents are in: `zh` (Simplified Chinese) or `en`."""
    notify_by: str = Field(default="sms", max_length=8, sa_column_kwargs={"server_default": "sms"})
    """How they want to hear from us: `sms`, `email` or `none`."""
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class ProductRecord(SQLModel, table=True):
    """One serial-numbered product; `warranty_until` is the last day of the free warranty."""

    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    serial_no: str = Field(max_length=200, unique=True)
    model: str = Field(max_length=200)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    warranty_until: date | None = None
    category: str | None = Field(default=None, max_length=64)
    """R34: the product category; the policy names those a technician needs a certificate for."""
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class SafetyAgreementRecord(SQLModel, table=True):
    """R33: a safety agreement signed for a customer's site, valid `signed_on` to
    `valid_until` inclusive."""

    __tablename__ = "safety_agreements"
    __table_args__ = (
        CheckConstraint("valid_until >= signed_on", name="ck_safety_agreements_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    signer: str = Field(max_length=200)
    signed_on: date
    valid_until: date
    document_ref: str = Field(max_length=200)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _stamp()


class CertificateRecord(SQLModel, table=True):
    """R34: a technician's certificate for a product category, valid until its expiry."""

    __tablename__ = "certificates"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(foreign_key="users.username", index=True, max_length=64)
    category: str = Field(max_length=64)
    number: str = Field(max_length=200)
    valid_until: date
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _stamp()


class DailyReportRecord(SQLModel, table=True):
    """R27-R29: a branch's day: the technicians' reports and the director's roll-up, with who
    confirmed, reviewed and signed; a projection of its workflow."""

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("branch", "day", name="uq_daily_reports_branch_day"),)

    id: str = Field(primary_key=True, max_length=160)
    workflow_id: str = Field(max_length=200)
    branch: str = Field(max_length=100)
    day: date = Field(index=True)
    status: str = Field(max_length=32)
    due_at: datetime = _when(nullable=False)
    drafted_at: datetime | None = _when(nullable=True)
    technicians: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    """Each technician's report: jobs, totals, confirmation and review."""
    roll_up: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    signed_by: str | None = Field(default=None, max_length=64)
    signed_at: datetime | None = _when(nullable=True)
    sign_note: str | None = None
    forwarded_at: datetime | None = _when(nullable=True)
    updated_at: datetime = _when(nullable=False)


class ContractRecord(SQLModel, table=True):
    """A maintenance contract on one product of one customer, `starts_on` to `ends_on`
    inclusive (R2)."""

    __tablename__ = "contracts"
    __table_args__ = (CheckConstraint("ends_on > starts_on", name="ck_contracts_period"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    starts_on: date
    ends_on: date
    covers_labor: bool = True
    covers_parts: bool = False
    arrival_hours: float | None = None
    """R13: "remote places as the contract says": the contract's arrival hours, overriding
    the zone's for the tickets it covers (frozen into each at call-in)."""
    zone: str = Field(default="urban", max_length=64, sa_column_kwargs={"server_default": "urban"})
    """Where the contract's own jobs (inspections, follow-ups, renewal visits) are."""
    kind: str | None = Field(default=None, max_length=64)
    """The contract type, which picks the policy's inspection checklist (R32)."""
    every: str | None = Field(default="month", max_length=16)
    """R32: inspections every `month` or `quarter`; None: on `dates` only."""
    dates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    checklist: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    free_maintenance_until: date | None = None
    """R31: the sales director hears three months before this day."""
    terminated_on: date | None = None
    uid: str | None = Field(
        default_factory=lambda: uuid4().hex[:16], max_length=32, unique=True, index=True
    )
    """Names the contract's workflow, jobs and notices: unlike its number, it never changes
    and is never given twice (contracts from before got `c<id>`)."""
    workflow_started: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    """Whether the contract's workflow runs (contracts from before it get one at upgrade)."""
    notes: str | None = None
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class PartRecord(SQLModel, table=True):
    """R19: one part of the price list, with the stock on hand (never below zero)."""

    __tablename__ = "parts"
    __table_args__ = (CheckConstraint("stock_on_hand >= 0", name="ck_parts_stock"),)

    part_no: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    unit_cost: Decimal = _money()
    list_price: Decimal = _money()
    stock_on_hand: int = 0
    active: bool = True
    """False once discontinued: off the price list, its history kept."""
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class StockMovementRecord(SQLModel, table=True):
    """R19: every change of a part's stock: received, issued to a ticket, returned from one,
    counted. `key` makes a ticket's movement idempotent (one per key and part)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        UniqueConstraint("key", "part_no", name="uq_stock_movements_key_part"),
        Index("ix_stock_movements_part", "part_no", "at"),
        Index("ix_stock_movements_ticket", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    part_no: str = Field(foreign_key="parts.part_no", max_length=64)
    kind: str = Field(max_length=16)
    qty: int
    """Signed: into the store positive, out of it negative."""
    ticket_id: str | None = Field(default=None, max_length=64)
    key: str | None = Field(default=None, max_length=160)
    unit_cost: Decimal = _money()
    list_price: Decimal = _money()
    actor: str = Field(max_length=64)
    note: str | None = None
    at: datetime = _when(nullable=False)


class DiscountWeekRecord(SQLModel, table=True):
    """R17: how many discounts an advisor granted on their own authority in one office
    week (Monday's date)."""

    __tablename__ = "discount_weeks"

    advisor: str = Field(primary_key=True, max_length=64)
    week: date = Field(primary_key=True)
    granted: int = 0


class DiscountGrantRecord(SQLModel, table=True):
    """R17: one discount counted against an advisor's week, once per ticket step."""

    __tablename__ = "discount_grants"

    key: str = Field(primary_key=True, max_length=160)
    advisor: str = Field(max_length=64)
    week: date
    granted: bool
    at: datetime = _when(nullable=False)


def ticket_values(state: TicketState) -> dict[str, Any]:
    call_in = state.call_in
    return {
        "seq": state.seq,
        "status": state.status.value,
        "service_type": state.service_type,
        "evidence": state.evidence,
        "zone": call_in.zone,
        "customer_name": call_in.customer.name,
        "customer_phone": call_in.customer.phone,
        "customer_address": call_in.customer.address,
        "product_model": call_in.product.model,
        "product_serial_no": call_in.product.serial_no,
        "problem": call_in.problem,
        "channel": call_in.channel,
        "technician": state.technician,
        "arrival_due_at": state.arrival_due_at,
        "priority": state.priority,
        "hold": _hold_summary(state),
        "carried_over_at": state.carried_over_at,
        "resolution_promised_by": state.resolution_promised_by,
        "invoice": _invoice_summary(state),
        "work_order": _work_order_summary(state),
        "inspection": _inspection_summary(state),
        "amount_due": state.amount_due,
        "amount_paid": state.amount_paid,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "branch": state.branch,
        **asdict(state.milestones),
        # Tickets from before had it linked by the upgrade: never overwritten with nothing.
        **({"customer_id": state.customer_id} if state.customer_id is not None else {}),
    }


def _inspection_summary(state: TicketState) -> dict[str, Any] | None:
    """R32: the checklist and its results, without the repair's deadline terms."""
    if state.inspection is None:
        return None
    recorded = asdict(state.inspection)
    del recorded["repair_clock"]
    return dict(to_jsonable_python(recorded))


def _invoice_summary(state: TicketState) -> dict[str, Any] | None:
    invoice = state.invoice
    if invoice is None:
        return None
    return {
        "number": invoice.number,
        "amount": f"{invoice.amount:.2f}",
        "issued_at": invoice.issued_at.isoformat(),
    }


def _hold_summary(state: TicketState) -> dict[str, Any] | None:
    hold = state.hold
    if hold is None:
        return None
    return {"since": hold.since.isoformat(), "reason": hold.reason, "by": hold.by}


def _work_order_summary(state: TicketState) -> dict[str, Any] | None:
    """R17-R20 as the ticket shows them, with the facts its allowed actions depend on."""
    order = state.work_order
    if order is None:
        return None
    facts = asdict(state.facts())
    del facts["on_hold"]  # the `hold` column says it
    summary: dict[str, Any] = to_jsonable_python(order.summary(state.service_type))
    return summary | {"facts": facts}


def facts_of(row: TicketRecord) -> TicketFacts:
    """The facts a ticket's row was projected with (its allowed actions depend on them)."""
    on_hold = row.hold is not None
    checklist_open = row.inspection is not None and row.inspection["recorded_at"] is None
    if row.work_order is None:
        return TicketFacts(on_hold=on_hold, checklist_open=checklist_open)
    return TicketFacts(on_hold=on_hold, **row.work_order["facts"])
