"""Tickets as clients send and read them (R3, R11, R16, R17-R20, R22)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from api.schemas.approvals import ApprovalPublic
from api.schemas.base import Request
from models.approvals import Approval
from models.lifecycle import Status, allowed_actions
from models.survey import status_at
from models.tables import (
    ApprovalRecord,
    EscalationRecord,
    SurveyRecord,
    TicketRecord,
    TimelineRecord,
    facts_of,
    ticket_values,
)
from models.ticket import Channel, InternalCategory, TicketState
from models.values import Email, MoneyOut, Phone, ShortText, Text


class CustomerIn(Request):
    name: ShortText
    phone: Phone
    address: Text
    email: Email | None = None
    """Where the survey card goes (R22), besides an SMS to the phone."""


class ProductIn(Request):
    model: ShortText
    serial_no: ShortText | None = None


class CallInRequest(Request):
    """R3: what the clerk registers."""

    customer: CustomerIn
    zone: ShortText
    product: ProductIn
    problem: Text
    channel: Channel = Channel.PHONE


class InternalJobRequest(Request):
    """R1: an internal job opened by a supervisor."""

    category: InternalCategory
    description: Text
    zone: ShortText


class CustomerOut(BaseModel):
    id: int | None = None
    """The customer's one record (`GET /customers/{id}`); none for an internal job (R1)."""
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
    branch: str | None
    """The branch its zone belonged to at call-in: its reports are that branch's."""
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
    status_link: str | None = None
    """Issue 14: the customer's secret link to follow the ticket, for the roles that give it
    to them (as the survey's `link`)."""
    invoice: dict[str, Any] | None
    work_order: dict[str, Any] | None
    """R17-R20: quotation, parts issued and returned, discount, responsibility, deposit, and
    the approval the invoice waits for; none on tickets called in before work orders."""
    approvals: list[ApprovalPublic]
    dispatch_requirements: dict[str, Any] | None = None
    """R33, R34, on `GET /tickets/{id}` while the ticket waits for (re)dispatch: whether the
    site needs a safety agreement and until when one is valid, what blocks dispatch, and the
    certificate the product's category needs."""
    evidence: dict[str, Any]
    amount_due: MoneyOut
    amount_paid: MoneyOut
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
        order = state.work_order
        return cls.from_record(row, escalations, approvals=order.approvals if order else [])

    @classmethod
    def from_record(
        cls,
        row: TicketRecord,
        escalations: list[EscalationRecord],
        survey: dict[str, Any] | None = None,
        approvals: Sequence[ApprovalRecord | Approval] = (),
    ) -> TicketPublic:
        """The ticket's row with its escalations (its own deadlines' and its complaints', R16)
        and its approvals (R17-R20)."""
        status = Status(row.status)
        return cls(
            id=row.id,
            number=row.number,
            status=status,
            service_type=row.service_type,
            zone=row.zone,
            branch=row.branch,
            customer=CustomerOut(
                id=row.customer_id,
                name=row.customer_name,
                phone=row.customer_phone,
                address=row.customer_address,
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
            survey=survey,
            invoice=row.invoice,
            work_order=row.work_order,
            approvals=[ApprovalPublic.from_record(approval) for approval in approvals],
            evidence=row.evidence,
            amount_due=row.amount_due,
            amount_paid=row.amount_paid,
            allowed_actions=allowed_actions(status, facts_of(row)),
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


def survey_line(row: SurveyRecord, now: datetime) -> dict[str, Any]:
    """R22: a ticket's `survey` (`{status, sent_at, answered_at, link}`); the secret link is
    added, for the roles that resend it, from the card's workflow (the read model keeps only
    its token's digest)."""
    return {
        "status": status_at(row.status, row.expires_at, now).value,
        "sent_at": row.sent_at,
        "answered_at": row.answered_at,
        "link": None,
    }
