"""Complaints as clients record and read them (R25, R26, A2, R16)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, StringConstraints

from api.schemas.base import Request
from models.complaint import ComplaintStatus, Severity, allowed_actions, facts_of, status_of
from models.tables import ComplaintRecord, EscalationRecord
from models.values import Text


class ComplaintCreate(Request):
    """R26: a complaint staff received by phone, letter, email or in person, about a ticket."""

    ticket_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    text: Text
    received_via: Literal["phone", "letter", "email", "walk_in"]


class ComplainingCustomer(BaseModel):
    name: str
    phone: str


class ComplainedProduct(BaseModel):
    model: str
    serial_no: str | None


class ComplaintEscalation(BaseModel):
    """R16: an escalation the complaint raised (shared/spec/api.md's escalation object)."""

    id: str
    kind: str
    raised_at: datetime
    due_at: datetime | None
    owner_role: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class ComplaintPublic(BaseModel):
    id: str
    ticket_id: str
    ticket_number: str
    status: ComplaintStatus
    severity: Severity | None
    customer: ComplainingCustomer
    product: ComplainedProduct
    technician: str | None
    text: str
    received_via: str
    recorded_by: str
    received_at: datetime
    repeated: bool
    """A2: an earlier complaint from the customer about the same product, within the window."""
    previous_complaint_id: str | None
    triage: dict[str, Any] | None
    vp_review: dict[str, Any] | None
    reply: dict[str, Any] | None
    visit: dict[str, Any] | None
    closed_at: datetime | None
    closed_by: str | None
    escalations: list[ComplaintEscalation]
    allowed_actions: list[str]
    updated_at: datetime

    @classmethod
    def from_record(
        cls, row: ComplaintRecord, escalations: list[EscalationRecord]
    ) -> ComplaintPublic:
        facts = facts_of(row.severity, row.vp_review, row.reply, row.visit, row.closed_at)
        return cls(
            id=row.id,
            ticket_id=row.ticket_id,
            ticket_number=row.ticket_number,
            status=status_of(facts),
            severity=Severity(row.severity) if row.severity else None,
            customer=ComplainingCustomer(name=row.customer_name, phone=row.customer_phone),
            product=ComplainedProduct(model=row.product_model, serial_no=row.product_serial_no),
            technician=row.technician,
            text=row.text,
            received_via=row.received_via,
            recorded_by=row.recorded_by,
            received_at=row.received_at,
            repeated=row.repeated,
            previous_complaint_id=row.previous_complaint_id,
            triage=row.triage,
            vp_review=row.vp_review,
            reply=row.reply,
            visit=row.visit,
            closed_at=row.closed_at,
            closed_by=row.closed_by,
            escalations=[
                ComplaintEscalation.model_validate(e, from_attributes=True)
                for e in sorted(escalations, key=lambda e: e.raised_at)
            ],
            allowed_actions=allowed_actions(facts),
            updated_at=row.updated_at,
        )
