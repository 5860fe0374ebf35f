"""What a customer's status link shows (issue 14): their ticket as they know it — no other
customer's data, no staff's but the technician's name."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.documents import DocumentKind
from models.values import MoneyOut


class StatusStep(BaseModel):
    step: str
    """`registered`, `dispatched`, `arrive`, `resolve`, `carry_in`, `record_repair`,
    `inspect`, `return`, `promise`, `hold`, `resume`, `close`, `cancel`."""
    label: str
    """The step in the customer's language."""
    at: datetime


class StatusDocument(BaseModel):
    kind: DocumentKind
    label: str
    url: str
    """The PDF, behind the same secret link."""


class TicketStatusPublic(BaseModel):
    ticket_number: str
    status: str
    status_label: str
    language: str
    product_model: str
    technician: str | None
    """The technician's name (not their account)."""
    registered_at: datetime
    arrival_due_at: datetime | None
    resolution_promised_by: datetime | None
    product_back_by: datetime | None
    """R7: when the workshop promised the product back."""
    work_done: list[str]
    currency: str
    amount_due: MoneyOut
    amount_paid: MoneyOut
    steps: list[StatusStep]
    documents: list[StatusDocument]
    link_expires_at: datetime | None
    """None while the ticket is open; then the day the link stops working."""
