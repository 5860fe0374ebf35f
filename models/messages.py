"""Messages to people outside the workflows: escalation emails to staff (R16) and survey cards
to customers by email or SMS (R22). Pure data, so workflows can import it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

EMAIL = "email"
SMS = "sms"


class NotifyBy(StrEnum):
    """How a customer wants to hear from us (their record's `notify_by`)."""

    SMS = SMS
    EMAIL = EMAIL
    NONE = "none"


def way_to_tell(notify_by: str, email: str | None) -> NotifyBy:
    """How a customer is told: the way their record says; one who asked for email but gave
    no address still has the phone."""
    way = NotifyBy(notify_by)
    return NotifyBy.SMS if way is NotifyBy.EMAIL and not email else way


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
    CONTRACT_EXPIRY = "contract_expiry"
    """R31: the maintenance contract ends in a month; we come to renew it."""
    INSPECTION_NOTICE = "inspection_notice"
    """R35: a preventive inspection is coming: when, what is checked, its impact."""
    FOLLOW_UP_NOTICE = "follow_up_notice"
    """R35: a follow-up visit is coming."""


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
    attachments: list[Attachment] = field(default_factory=list)
    """Sent with an email (a document as PDF); an SMS carries none."""


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


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


@dataclass
class NotifyTerms:
    """Which milestones a customer hears of, and the night in which no SMS goes out (queued
    for the morning), in the office's time zone: the policy's at call-in."""

    milestones: list[str]
    timezone: str
    quiet_from: str = "21:00"
    quiet_until: str = "08:00"
    currency: str = "CNY"
    """How the documents sent with the messages write amounts."""

    def quiet_ends(self, now: datetime) -> datetime | None:
        """When the night `now` falls in ends; None in the day."""
        local = now.astimezone(ZoneInfo(self.timezone))
        start, end = _clock(self.quiet_from), _clock(self.quiet_until)
        if start == end:
            return None
        at = local.time()
        night = (start <= at or at < end) if start > end else (start <= at < end)
        if not night:
            return None
        day = local.date() if at < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, local.tzinfo)


def _clock(hhmm: str) -> time:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return time(hours % 24, minutes)


@dataclass
class CustomerNotice:
    """One milestone's message to the ticket's customer (issue 14): by the way their record
    says, in their language; `channels` are those that may go out now (no SMS at night). Once
    per key and recipient (the outbox)."""

    key: str
    milestone: str
    customer_id: int | None
    phone: str
    """The call's contact, for a customer without a record."""
    email: str | None
    texts: dict[str, str]
    times: dict[str, datetime] = field(default_factory=dict)
    timezone: str = "UTC"
    channels: list[str] = field(default_factory=lambda: [SMS, EMAIL])
    ticket_id: str | None = None
    dates: dict[str, date] = field(default_factory=dict)
    """Days it names (a contract's end, a visit), written the language's way."""
    attach: list[str] = field(default_factory=list)
    """The ticket's documents (models/documents.py kinds) an email carries as PDF."""
    currency: str = "CNY"
