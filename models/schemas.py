"""API schemas: what clients send and what they get back (shared/spec/api.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from models.lifecycle import Status, allowed_actions
from models.roles import Role
from models.tables import EscalationRecord, TicketRecord, TimelineRecord, ticket_values
from models.ticket import TicketState

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"\S")
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()-]{3,29}[0-9]$")
]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Money = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channel(StrEnum):
    PHONE = "phone"
    LETTER = "letter"
    WEB = "web"
    EMAIL = "email"
    WALK_IN = "walk_in"
    INTERNAL = "internal"


class CustomerIn(_Request):
    name: Name
    phone: Phone
    address: Text
    email: Email | None = None
    """Where the survey card goes (R22), besides an SMS to the phone."""


class ProductIn(_Request):
    model: Name
    serial_no: Name | None = None


class CallInRequest(_Request):
    """R3: what the clerk registers."""

    customer: CustomerIn
    zone: Name
    product: ProductIn
    problem: Text
    channel: Channel = Channel.PHONE


class InternalCategory(StrEnum):
    """R1: administrative work not tied to a customer call."""

    INSPECTION = "inspection"
    PARTS_HANDLING = "parts_handling"
    TOOL_MAINTENANCE = "tool_maintenance"
    TRAINING = "training"


class InternalJobRequest(_Request):
    """R1: an internal job opened by a supervisor."""

    category: InternalCategory
    description: Text
    zone: Name


class UserCreate(_Request):
    username: Username
    password: Password
    full_name: Name
    roles: list[Role] = Field(min_length=1)
    branch: Name | None = None
    email: Email | None = None
    """Where escalations for the user's roles are sent (R16)."""


class UserPublic(BaseModel):
    username: str
    full_name: str
    roles: list[str]
    branch: str | None
    active: bool
    email: str | None = None


class PasswordChange(_Request):
    """A user's own change: the current password, then the new one."""

    current_password: Annotated[str, StringConstraints(max_length=200)]
    new_password: Password


class PasswordReset(_Request):
    """An admin's reset of another user's password."""

    new_password: Password


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class CustomerOut(BaseModel):
    name: str
    phone: str
    address: str


class ProductOut(BaseModel):
    model: str
    serial_no: str | None


class TicketPublic(BaseModel):
    id: str
    number: str
    status: Status
    service_type: str
    zone: str
    customer: CustomerOut
    product: ProductOut
    problem: str
    channel: str
    technician: str | None
    arrival_due_at: datetime | None
    priority: str
    """`high` while a carried-over ticket waits for dispatch (R14), else `normal`."""
    hold: dict[str, Any] | None
    carried_over_at: datetime | None
    resolution_promised_by: datetime | None
    escalations: list[dict[str, Any]]
    open_escalations: int
    survey: dict[str, Any] | None = None
    invoice: dict[str, Any] | None
    evidence: dict[str, Any]
    amount_due: Money
    amount_paid: Money
    allowed_actions: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_state(cls, state: TicketState, escalations: list[EscalationRecord]) -> TicketPublic:
        """The ticket as its workflow has it, rendered exactly as the read model would."""
        assert state.number is not None
        row = TicketRecord(
            id=state.ticket_id,
            number=state.number,
            registered_by="",
            **ticket_values(state),
        )
        return cls.from_record(row, escalations)

    @classmethod
    def from_record(cls, row: TicketRecord, escalations: list[EscalationRecord]) -> TicketPublic:
        """The ticket's row with its escalations: its own deadlines' and its complaints' (R16)."""
        status = Status(row.status)
        return cls(
            id=row.id,
            number=row.number,
            status=status,
            service_type=row.service_type,
            zone=row.zone,
            customer=CustomerOut(
                name=row.customer_name, phone=row.customer_phone, address=row.customer_address
            ),
            product=ProductOut(model=row.product_model, serial_no=row.product_serial_no),
            problem=row.problem,
            channel=row.channel,
            technician=row.technician,
            arrival_due_at=row.arrival_due_at,
            priority="high" if row.priority else "normal",
            hold=row.hold,
            carried_over_at=row.carried_over_at,
            resolution_promised_by=row.resolution_promised_by,
            escalations=[_escalation_summary(e) for e in escalations],
            open_escalations=sum(1 for e in escalations if e.acknowledged_at is None),
            invoice=row.invoice,
            evidence=row.evidence,
            amount_due=row.amount_due,
            amount_paid=row.amount_paid,
            allowed_actions=allowed_actions(status, on_hold=row.hold is not None),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _escalation_summary(row: EscalationRecord) -> dict[str, Any]:
    """As the contract shows escalations on the ticket (shared/spec/api.md)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "raised_at": row.raised_at,
        "due_at": row.due_at,
        "owner_role": row.owner_role,
        "acknowledged_at": row.acknowledged_at,
        "acknowledged_by": row.acknowledged_by,
        "details": row.details,
    }


class TimelineEntryPublic(BaseModel):
    seq: int
    at: datetime
    action: str
    actor: str
    data: dict[str, Any]

    @classmethod
    def from_record(cls, row: TimelineRecord) -> TimelineEntryPublic:
        return cls(seq=row.seq, at=row.at, action=row.action, actor=row.actor, data=row.data)


class ProductReceiptPublic(BaseModel):
    number: str
    issued_at: datetime
    promised_by: datetime
    voided_at: datetime | None


class RepairRoundPublic(BaseModel):
    round: int
    labor_minutes: int
    parts: list[dict[str, Any]]
    notes: str
    fee: Money
    recorded_by: str
    recorded_at: datetime
    inspection_passed: bool | None
    inspection_notes: str | None
    inspected_by: str | None
    inspected_at: datetime | None


class RepairCardPublic(BaseModel):
    """R7, R8: what is attached to a carried-in product."""

    ticket_id: str
    ticket_number: str
    product_model: str
    product_serial_no: str | None
    receipt: ProductReceiptPublic | None
    rounds: list[RepairRoundPublic]


class RegisterLinePublic(BaseModel):
    """R7, R8: one line of the product in/out register."""

    ticket_id: str
    ticket_number: str
    receipt_number: str
    customer_name: str
    product_model: str
    product_serial_no: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None


class InvoicePublic(BaseModel):
    number: str
    ticket_id: str
    amount: Money
    lines: list[dict[str, Any]]
    issued_at: datetime


class PaymentPublic(BaseModel):
    amount: Money
    method: str
    recorded_by: str
    recorded_at: datetime


class EscalationPublic(BaseModel):
    """R16: an escalation, as `GET /escalations` lists it."""

    id: str
    kind: str
    ticket_id: str
    raised_at: datetime
    due_at: datetime | None
    owner_role: str
    notify_roles: list[str]
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    details: dict[str, Any]

    @classmethod
    def from_record(cls, row: EscalationRecord) -> EscalationPublic:
        return cls.model_validate(row, from_attributes=True)


class AcknowledgeBody(_Request):
    note: Text | None = None
