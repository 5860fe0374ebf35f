"""Messages to people outside the workflows: escalation emails to staff (R16) and survey cards
to customers by email or SMS (R22). Pure data, so workflows can import it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

EMAIL = "email"
SMS = "sms"


class NotifyBy(StrEnum):
    """How a customer wants to hear from us (their record's `notify_by`)."""

    SMS = SMS
    EMAIL = EMAIL
    NONE = "none"


class Milestone(StrEnum):
    """The steps of a ticket a customer hears of (issue 14; which do is policy)."""

    REGISTERED = "registered"
    """The ticket's number and arrival deadline."""
    DISPATCHED = "dispatched"
    """The technician's name."""
    RECEIVED = "received"
    """R7: the product is in the workshop, with its receipt."""
    READY = "ready"
    """R8: repaired and inspected, ready for return."""
    INVOICED = "invoiced"
    """R21: the invoice, with the PDF."""
    PROMISED = "promised"
    """R15: the promised resolution time."""
    COMPLAINT_OUTCOME = "complaint_outcome"
    """R25: the outcome of the customer's complaint, in writing."""


class Language(StrEnum):
    """The languages of customers' messages and documents."""

    ZH = "zh"
    """Simplified Chinese (the regulations are Chinese companies')."""
    EN = "en"


SENT = "sent"
SKIPPED = "skipped"
REJECTED = "rejected"
PENDING = "pending"


@dataclass
class OutgoingMessage:
    """One message to one recipient; it is sent at most once per (key, channel, recipient).

    `key` names the occasion (`escalation:<id>`, `survey:<ticket id>`, ...): the same key sent
    again to the same recipient on the same channel is the same message, not a new one.
    """

    key: str
    channel: str
    """`email` or `sms`."""
    recipient: str
    """An email address or a phone number, depending on the channel."""
    subject: str
    body: str


@dataclass
class StaffNotice:
    """An email to the active staff holding any of `roles` (R31: the sales director), once
    each per `key`."""

    key: str
    roles: list[str]
    subject: str
    body: str
    branch: str | None = None
    """Only the staff of this branch (and those of none) are told; None: all of the roles."""
