"""Messages between the ticket, its survey card and complaints (R22–R26): plain dataclasses,
safe in the workflow sandbox. Fields may be added with defaults; never renamed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.messages import NotifyTerms
from models.ticket import Customer, Product, SurveyTerms


@dataclass
class SurveyStart:
    """Starts the `Survey` child workflow (id `survey-<ticket_id>`) when a ticket resolves."""

    ticket_id: str
    ticket_number: str
    customer: Customer
    product: Product
    technician: str | None
    service_type: str
    resolved_at: datetime
    terms: SurveyTerms
    notify: NotifyTerms | None = None
    """Issue 14: the ticket's, handed to a complaint the card carries (R25)."""


@dataclass
class ComplaintStart:
    """Starts a `Complaint` workflow (id `complaint-<ticket_id>-<n>`): from a survey answer or
    registered by staff from a call or a letter (R25, R26)."""

    ticket_id: str
    ticket_number: str
    customer: Customer
    product: Product
    technician: str | None
    text: str
    received_at: datetime
    received_via: str
    """`survey`, `phone`, `letter`, `email` or `walk_in`."""
    recorded_by: str
    repeat_window_days: int = 90
    notify: NotifyTerms | None = None
    """Issue 14, R25: how the customer is told the outcome (the policy's at call-in)."""
